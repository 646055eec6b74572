"""The shared Kubernetes helpers: manifests register as the right typed resource, skips carry reasons."""

from __future__ import annotations

import pulumi
import pytest

from n8n_platform import k8s
from tests.harness import is_secret, run


def test_apply_registers_built_in_kinds_typed_and_custom_resources_generically():
    def program():
        opts = pulumi.ResourceOptions()
        k8s.apply("c", {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"},
                        "spec": {"selector": {}, "template": {}}}, opts)
        k8s.apply("c", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"},
                        "stringData": {"k": pulumi.Output.secret("v")}}, opts)
        k8s.apply("c", {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
                        "metadata": {"name": "w", "namespace": "n"}, "spec": {"scaleTargetRef": {"name": "w"}}}, opts)

    rec = run(program)
    assert {(r.type, r.name) for r in rec.resources} == {
        ("kubernetes:apps/v1:Deployment", "c-deployment-d"),
        ("kubernetes:core/v1:Secret", "c-secret-s"),
        ("kubernetes:keda.sh/v1alpha1:ScaledObject", "c-scaledobject-w"),
    }
    secret = rec.one("kubernetes:core/v1:Secret").inputs["stringData"]  # stringData= reached the typed class
    assert is_secret(secret) or is_secret(secret["k"])
    assert rec.one("kubernetes:keda.sh/v1alpha1:ScaledObject").inputs["spec"]["scaleTargetRef"] == {"name": "w"}


def test_checkov_skips_are_numbered_annotations_with_reasons():
    assert k8s.checkov_skips({"CKV_K8S_43": "pinned", "CKV_K8S_38": "needs the API"}) == {
        "checkov.io/skip1": "CKV_K8S_38=needs the API", "checkov.io/skip2": "CKV_K8S_43=pinned"}


def test_security_contexts_meet_pod_security_restricted():
    pod, container = k8s.pod_security_context(), k8s.container_security_context()
    assert pod["runAsNonRoot"] and pod["runAsUser"] >= 10000 and pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["allowPrivilegeEscalation"] is False and container["capabilities"] == {"drop": ["ALL"]}
    assert container["readOnlyRootFilesystem"] is True


def _job(name: str, account: str, config: str) -> dict:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "n"},
            "spec": {"template": {"spec": {"serviceAccountName": account, "restartPolicy": "Never", "containers": [],
                                           "volumes": [{"name": "c", "configMap": {"name": config}}]}}}}


def _object(kind: str, name: str) -> dict:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": "n"}}


def test_apply_all_registers_a_job_after_the_service_account_and_config_map_it_names():
    returned = []

    def program():
        parent = pulumi.ComponentResource("test:index:C", "c")
        batch = [_job("j", "j", "j"), _object("ServiceAccount", "j"), _object("ConfigMap", "j"),
                 _object("ServiceAccount", "unrelated")]
        returned.extend(k8s.apply_all("c", batch, pulumi.ResourceOptions(parent=parent),
                                      extra=[pulumi.ResourceOptions(ignore_changes=["spec"]), None, None, None]))

    rec = run(program)
    names = [r.name for r in rec.resources if r.is_kubernetes]
    job = rec.one("kubernetes:batch/v1:Job")
    assert names.index("c-job-j") > max(names.index("c-serviceaccount-j"), names.index("c-configmap-j"))
    assert job.options["depends_on"] == ["c-configmap-j", "c-serviceaccount-j"]
    assert job.options["ignore_changes"] == ["spec"]
    assert rec.one("kubernetes:core/v1:ServiceAccount", "c-serviceaccount-unrelated").options["depends_on"] == []
    assert [r._name for r in returned] == ["c-job-j", "c-serviceaccount-j", "c-configmap-j",
                                           "c-serviceaccount-unrelated"]


def test_apply_makes_an_object_depend_on_what_a_sibling_registered_in_an_earlier_step():
    def program():
        parent = pulumi.ComponentResource("test:index:C", "c")
        other = pulumi.ComponentResource("test:index:C", "other")
        k8s.apply("c", _object("ConfigMap", "ca"), pulumi.ResourceOptions(parent=parent))
        k8s.apply("other", _object("ServiceAccount", "j"), pulumi.ResourceOptions(parent=other))
        k8s.apply_all("c-job", [_object("ServiceAccount", "own"), _job("j", "j", "ca")],
                      pulumi.ResourceOptions(parent=parent))

    job = run(program).one("kubernetes:batch/v1:Job")
    # the ConfigMap of its own component, not the other component's ServiceAccount of the same name
    assert job.options["depends_on"] == ["c-configmap-ca"]


def test_registering_what_an_earlier_sibling_named_fails_naming_both():
    def program():
        parent = pulumi.ComponentResource("test:index:C", "c")
        k8s.apply("c", _job("j", "late", "cm"), pulumi.ResourceOptions(parent=parent))
        k8s.apply("c", _object("ServiceAccount", "late"), pulumi.ResourceOptions(parent=parent))

    with pytest.raises(ValueError, match=r"c-serviceaccount-late: c-job-j references ServiceAccount n/late and was "
                                         r"registered before it"):
        run(program)


def test_apply_all_wants_one_extra_option_per_manifest():
    def program():
        k8s.apply_all("c", [_object("ConfigMap", "a"), _object("ConfigMap", "b")], pulumi.ResourceOptions(),
                      extra=[None])

    with pytest.raises(ValueError, match="apply_all: 1 extra options for 2 manifests"):
        run(program)
