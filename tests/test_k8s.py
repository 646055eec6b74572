"""The shared Kubernetes helpers: manifests register as the right typed resource, skips carry reasons."""

from __future__ import annotations

import pulumi

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
