"""The factories that turn the pack's check functions into CrossGuard policies (policy/n8n_policy/rule.py and the
workload rule of k8s.py), built afresh in each test: which resources a rule looks at, how it names them, which
config it sees, its level and schema. The pack builds its rules at import; these tests build their own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from policy.n8n_policy import k8s, rule
from tools.ci.policy_check import run_policy

STACK = "urn:pulumi:dev::n8n-platform::"


def resource(type_: str, props: dict[str, Any], name: str = "r", parents: tuple[str, ...] = ()) -> PolicyResource:
    opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    return PolicyResource(type_, props, f"{STACK}{'$'.join([*parents, type_])}::{name}", name, opts, None, None, [],
                          {})


@pytest.mark.parametrize("default,kind", [(True, "boolean"), (3, "integer"), ([], "array"), ("x", "string")])
def test_a_knob_is_a_json_schema_property_with_its_default(default, kind):
    knob = rule.Knob(default, "What it does.", {"minimum": 1})
    assert knob.schema == {"type": kind, "default": default, "description": "What it does.", "minimum": 1}
    assert knob.default == default
    assert rule.Knob(default, "Plain.").schema == {"type": kind, "default": default, "description": "Plain."}


def recording_check(seen: list) -> Any:
    def check(props, config, args) -> Iterator[str]:
        seen.append((dict(props), dict(config), args.name))
        if props.get("bad"):
            yield f"is bad ({props['bad']})"
    return check


def test_a_resource_rule_checks_only_its_types_and_names_the_resource_in_each_message():
    seen: list = []
    policy = rule.resource_rule("r", "Resources are good.", ("a:b:C",), recording_check(seen))
    assert isinstance(policy, ResourceValidationPolicy)
    assert (policy.name, policy.description) == ("r", "Resources are good.")
    assert policy.enforcement_level == EnforcementLevel.MANDATORY and policy.config_schema is None
    found = run_policy(policy, [resource("a:b:C", {"bad": 1}, "one"), resource("a:b:D", {"bad": 2}, "two"),
                                resource("a:b:C", {}, "three")])
    assert [(v.message, v.level) for v in found] == [("one: is bad (1)", "mandatory")]
    assert [name for *_, name in seen] == ["one", "three"]


def test_a_resource_rule_takes_a_type_predicate_a_level_and_fills_unset_knobs_with_defaults():
    seen: list = []
    knobs = {"n": rule.Knob(2, "How many."), "s": rule.Knob("x", "Which.")}
    policy = rule.resource_rule("r", "d", lambda t: t.startswith("a:"), recording_check(seen),
                                level=EnforcementLevel.ADVISORY, knobs=knobs)
    assert policy.enforcement_level == EnforcementLevel.ADVISORY
    assert policy.config_schema.properties == {"n": knobs["n"].schema, "s": knobs["s"].schema}
    found = run_policy(policy, [resource("a:b:C", {"bad": 1}), resource("b:a:C", {"bad": 1})], {"r": {"s": "y"}})
    assert [v.message for v in found] == ["r: is bad (1)"]
    assert seen == [({"bad": 1}, {"n": 2, "s": "y"}, "r")]


def test_a_stack_rule_reports_each_problem_on_the_resource_it_names():
    seen: list = []

    def check(resources, config) -> Iterator[tuple[str, str]]:
        seen.append(([r.name for r in resources], dict(config)))
        for r in resources:
            if r.props.get("bad"):
                yield f"{r.name} is bad", r.urn

    policy = rule.stack_rule("s", "Stacks are good.", check, level=EnforcementLevel.ADVISORY,
                             knobs={"k": rule.Knob(False, "A switch.")})
    assert isinstance(policy, StackValidationPolicy)
    assert (policy.name, policy.description, policy.enforcement_level) == ("s", "Stacks are good.",
                                                                           EnforcementLevel.ADVISORY)
    assert policy.config_schema.properties == {"k": {"type": "boolean", "default": False,
                                                     "description": "A switch."}}
    bad = resource("a:b:C", {"bad": 1}, "one")
    found = run_policy(policy, [bad, resource("a:b:C", {}, "two")])
    assert [(v.message, v.urn, v.level) for v in found] == [("one is bad", bad.urn, "advisory")]
    assert seen == [(["one", "two"], {"k": False})]
    run_policy(policy, [bad], {"s": {"k": True}})
    assert seen[-1] == (["one"], {"k": True})
    assert rule.stack_rule("t", "d", check).enforcement_level == EnforcementLevel.MANDATORY
    assert rule.stack_rule("t", "d", check).config_schema is None


def test_ancestor_types_are_read_from_an_engine_urn():
    assert rule.ancestor_types(f"{STACK}a:b:A$c:d:B$e:f:C::name") == ["a:b:A", "c:d:B"]
    assert rule.ancestor_types(f"{STACK}e:f:C::name") == []
    assert rule.ancestor_types("not-an-urn") == []
    assert rule.ancestor_types(f"{STACK}a:b:A$c:d:B::a::name") == ["a:b:A"]  # a name may hold '::' itself


@pytest.mark.parametrize("value,expected", [(True, True), ("true", True), ("True", True), ("TRUE", True),
                                            (False, False), ("false", False), ("yes", False), (1, False),
                                            (None, False)])
def test_truthy_takes_booleans_and_their_string_spelling(value, expected):
    assert rule.truthy(value) is expected


# --- the workload rule (k8s.py) -----------------------------------------------------------------------------------

DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def deployment(namespace: str = "n8n", **pod: Any) -> dict[str, Any]:
    return {"metadata": {"namespace": namespace}, "spec": {"template": {"spec": pod}}}


def test_a_workload_rule_asks_about_every_container_with_its_effective_contexts():
    asked: list = []

    def problem(pod_context, context, container, config) -> str | None:
        asked.append((dict(pod_context), dict(context), container["name"], config["excludeNamespaces"]))
        return "wrong" if container["name"] != "fine" else None

    policy = k8s._workload_rule("w", "Workloads are right.", problem, extra=rule.Knob(1, "Extra."))
    assert set(policy.config_schema.properties) == {"excludeNamespaces", "excludeAncestors", "extra"}
    pod = {"securityContext": {"runAsNonRoot": True},
           "initContainers": [{"name": "init", "securityContext": {"privileged": False}}],
           "containers": [{"name": "fine"}, {"name": "app"}]}
    found = run_policy(policy, [resource(DEPLOYMENT, deployment(**pod), "d"),
                                resource("kubernetes:core/v1:Service", deployment(**pod), "svc")])
    assert [v.message for v in found] == ["d: container 'init': wrong", "d: container 'app': wrong"]
    assert asked == [({"runAsNonRoot": True}, {"privileged": False}, "init", ["kube-system"]),
                     ({"runAsNonRoot": True}, {}, "fine", ["kube-system"]),
                     ({"runAsNonRoot": True}, {}, "app", ["kube-system"])]


def test_a_workload_rule_skips_excluded_namespaces_and_third_party_charts_only():
    policy = k8s._workload_rule("w", "d", lambda *_: "wrong")
    pod = {"containers": [{"name": "c"}]}
    chart = "kubernetes:helm.sh/v4:Chart"
    found = run_policy(policy, [resource(DEPLOYMENT, deployment("kube-system", **pod), "system"),
                                resource(DEPLOYMENT, deployment(**pod), "charted", parents=(chart,)),
                                resource(DEPLOYMENT, deployment(**pod), "ours", parents=("n8n:index:Edge",))])
    assert [v.message for v in found] == ["ours: container 'c': wrong"]
    config = {"w": {"excludeNamespaces": ["n8n"], "excludeAncestors": []}}
    found = run_policy(policy, [resource(DEPLOYMENT, deployment("kube-system", **pod), "system"),
                                resource(DEPLOYMENT, deployment(**pod), "ours")], config)
    assert [v.message for v in found] == ["system: container 'c': wrong"]
