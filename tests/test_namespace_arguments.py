"""N8nNamespace refuses misuse with a message naming the component, the argument and the value, and keeps the
caller's resource options."""

from __future__ import annotations

import pulumi
import pytest

from n8n_platform.arguments import PlainValueRequired
from n8n_platform.namespace import N8nNamespace, NetworkPlan
from tests.harness import run

WORKER = {"name": "worker", "max_replicas": 2,
          "containers": [{"cpu_limit": "2", "memory_limit": "2Gi"}, {"cpu_limit": "1", "memory_limit": "1Gi"}]}


def register(name: str = "n8n", opts: pulumi.ResourceOptions | None = None, **args):
    return run(lambda: N8nNamespace("ns", {"name": name, "network": NetworkPlan(name), **args}, opts))


def test_a_misspelt_argument_is_named():
    with pytest.raises(TypeError, match=r"^N8nNamespace: unexpected argument 'quotaHeadroom'; allowed: \["):
        register(quotaHeadroom=2)


def test_the_name_must_leave_room_for_the_longest_suffix():
    assert register("a" * 54).one("kubernetes:core/v1:LimitRange").inputs["metadata"]["name"] == "a" * 54 + "-defaults"
    with pytest.raises(ValueError, match=r"^N8nNamespace: argument 'name' = 'a{55}' must be a DNS label .* of at "
                                         r"most 54 characters"):
        register("a" * 55)
    with pytest.raises(ValueError, match=r"^N8nNamespace: argument 'name' = 'N8n'"):
        run(lambda: N8nNamespace("ns", {"name": "N8n", "network": NetworkPlan("n8n")}))
    with pytest.raises(ValueError, match=r"^NetworkPlan: argument 'namespace' = 'N8n'"):
        NetworkPlan("N8n")


def test_the_network_plan_must_be_one():
    with pytest.raises(TypeError, match=r"^N8nNamespace: argument 'network' must be a NetworkPlan, not str$"):
        run(lambda: N8nNamespace("ns", {"name": "n8n", "network": "n8n"}))


@pytest.mark.parametrize("argument,value", [("quota_headroom", 2.0), ("protect", True), ("pod_security", "baseline")])
def test_values_the_component_computes_with_must_be_plain(argument, value):
    with pytest.raises(PlainValueRequired, match=rf"^N8nNamespace: argument '{argument}' must be a plain value"):
        register(**{argument: pulumi.Output.from_input(value)})


def test_a_bad_workload_or_container_is_named_by_its_position():
    with pytest.raises(TypeError, match=r"^N8nNamespace: argument 'quota_workloads\[1\]' has unexpected field\(s\) "
                                        r"\['replicas'\]$"):
        register(quota_workloads=[WORKER, {"name": "main", "replicas": 1, "containers": []}])
    bad_container = {**WORKER, "containers": [{"cpu_limit": "1"}, {"cpu": "1"}]}
    with pytest.raises(TypeError, match=r"^N8nNamespace: argument 'quota_workloads\[0\]\.containers\[1\]' has "
                                        r"unknown key 'cpu'"):
        register(quota_workloads=[bad_container])


def test_a_negative_workload_is_named_by_its_position():
    with pytest.raises(ValueError, match=r"^N8nNamespace: argument 'quota_workloads\[0\]\.max_replicas' = -1 must "
                                         r"be a whole number \(int\) >= 0$"):
        register(quota_workloads=[{**WORKER, "max_replicas": -1}])


def test_mapped_containers_size_the_budget_and_the_limit_range():
    rec = register(quota_workloads=[WORKER], quota_headroom=1.0)
    # 2 replicas x (2 + 1) CPUs and (2 + 1) GiB; the container defaults fill the requests (vocabulary.Resources())
    hard = rec.one("kubernetes:core/v1:ResourceQuota").inputs["spec"]["hard"]
    assert (hard["limits.cpu"], hard["limits.memory"], hard["pods"]) == ("6000m", "6144Mi", "12")
    limits = rec.one("kubernetes:core/v1:LimitRange").inputs["spec"]["limits"][0]
    assert limits["max"] == {"cpu": "2000m", "memory": "2048Mi"}


def test_the_callers_options_are_kept_beside_the_alias():
    rec = register(opts=pulumi.ResourceOptions(protect=True))
    component = rec.one("n8n:index:N8nNamespace")
    assert component.options["protect"] is True
    assert component.options["aliases"] == [{"type": "n8n:index:Namespace"}]


def test_children_keep_their_names_parent_and_order():
    rec = register(quota_workloads=[WORKER])
    children = [r for r in rec.resources if r.type.startswith("kubernetes:")]
    assert [r.name for r in children[:2]] == ["ns-namespace-n8n", "ns-networkpolicy-default-deny"]
    assert [r.name for r in children[-2:]] == ["ns-resourcequota-n8n-budget", "ns-limitrange-n8n-defaults"]
    assert rec.one("kubernetes:core/v1:Namespace").inputs["metadata"]["name"] == "n8n"
    assert {r.parent for r in children} == {"ns"}
    assert all(r.options["depends_on"] == ["ns-namespace-n8n"] for r in children[1:])


def test_the_namespace_name_is_an_output_of_the_component():
    rec = run(lambda: pulumi.export("name", N8nNamespace("ns", {"name": "n8n", "network": NetworkPlan("n8n")})
                                    .namespace_name))
    assert rec.exports["name"] == "n8n"
    assert rec.one("n8n:index:N8nNamespace").outputs == {"namespace_name": "n8n"}


CONTAINERS_NEEDED = "must be a non-empty list of container resources"


@pytest.mark.parametrize("call,error,message", [
    (lambda: register(quota_workloads=[{**WORKER, "containers": []}]), TypeError,
     f"N8nNamespace: argument 'quota_workloads[0].containers' = [] {CONTAINERS_NEEDED}"),
    (lambda: register(quota_workloads=[WORKER, {**WORKER, "containers": "2Gi"}]), TypeError,
     f"N8nNamespace: argument 'quota_workloads[1].containers' = '2Gi' {CONTAINERS_NEEDED}"),
    (lambda: register(quota_workloads=[]), TypeError,
     "N8nNamespace: argument 'quota_workloads' = [] must be a non-empty list of QuotaWorkload (a budget of nothing "
     "admits no pod; leave it out for no ResourceQuota)"),
    (lambda: run(lambda: N8nNamespace("ns", {"network": NetworkPlan("n8n")})), TypeError,
     "N8nNamespace: argument 'name' is required (the namespace's name)"),
    (lambda: NetworkPlan("n8n", patroni_cluster="Bad_Name"), ValueError,
     "NetworkPlan: argument 'patroni_cluster' = 'Bad_Name' must be a DNS label (lowercase letters, digits and '-', "
     "starting and ending alphanumeric) of at most 63 characters"),
], ids=["no-containers", "containers-not-a-list", "empty-budget", "no-name", "cluster-not-a-label"])
def test_each_refusal_names_the_argument_the_value_and_what_is_allowed(call, error, message):
    with pytest.raises(error) as caught:
        call()
    assert str(caught.value) == message


@pytest.mark.parametrize("call,argument", [
    (lambda: register(quota_workloads=pulumi.Output.from_input([WORKER])), "N8nNamespace: argument 'quota_workloads'"),
    (lambda: NetworkPlan("n8n", egress_ports=[443, pulumi.Output.from_input(8443)]),
     "NetworkPlan: argument 'egress_ports[1]'"),
], ids=["budget", "port"])
def test_an_output_where_a_plain_value_is_needed_is_named_by_its_position(call, argument):
    with pytest.raises(PlainValueRequired) as caught:
        call()
    plain = "must be a plain value known when the program runs, not an Output: "
    assert str(caught.value).startswith(f"{argument} {plain}")
