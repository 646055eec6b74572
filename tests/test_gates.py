"""The quality gates, run on every stack file (and the prod-with-Patroni variant): every Kubernetes object validates
strictly for Kubernetes 1.33 and 1.35, checkov finds zero failed checks with only the listed skips, and no secret
value appears in resources.json, the manifests or the exports. The last tests break a rendered stack on purpose to
show each gate fails."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from n8n_platform import k8s
from tools import offline
from tools.ci import gates
from tools.plan import write

KNOWN_ENCRYPTION_KEY = "migrated-encryption-key-0123456789abcdef"
KNOWN_OIDC_SECRET = "oidc-client-secret-0123456789abcdef"

VARIANTS = {
    "dev": ("dev", {}),
    "prod": ("prod", {}),
    "prod-patroni": ("prod", {"database": {"engine": "patroni"}}),
    "dev-gateway": ("dev", {"edge": {"controller": "gateway", "certificateArn": None}}),
    "prod-oidc-zone": ("prod", {"edge": {"certificateArn": None, "zoneId": "Z0123456789ABCDEFGHIJ", "oidc": {
        "issuer": "https://idp.example.com", "authorizationEndpoint": "https://idp.example.com/authorize",
        "tokenEndpoint": "https://idp.example.com/token", "userInfoEndpoint": "https://idp.example.com/userinfo",
        "clientId": "0oa8f3k2j1h0g9f8e7d6"}}, "oidcClientSecret": KNOWN_OIDC_SECRET}),
}

ALLOWED_SKIPS = dict(k8s.PINNED_TAG_SKIP)
"""checkov checks a manifest may skip (by annotation, with a reason). Anything else skipped fails the gate."""


def render(variant: str) -> offline.Recording:
    from n8n_platform import program

    stack, overrides = VARIANTS[variant]
    raw, secret_keys = offline.load_stack_config(stack, {**overrides, "encryptionKey": KNOWN_ENCRYPTION_KEY})
    return offline.run(program.main, stack=stack, config=raw,
                       secret_keys=[*secret_keys, "encryptionKey", "oidcClientSecret"],
                       invokes=offline.credentials_of_stack(raw))


@pytest.fixture(scope="module", params=list(VARIANTS))
def rendered(request):
    return request.param, render(request.param)


def test_every_kubernetes_object_validates_strictly(rendered):
    _, recording = rendered
    manifests = recording.manifests()
    assert manifests, "the stack renders no Kubernetes objects"
    assert gates.schema_errors(manifests) == []


@pytest.mark.xdist_group("checkov")
def test_checkov_finds_no_failed_check_and_only_listed_skips(rendered):
    _, recording = rendered
    result = gates.checkov(recording.manifests())
    assert result.passed > 0
    assert result.failed == []
    for check, resource, reason in result.skipped:
        assert check in ALLOWED_SKIPS, f"{resource} skips {check}, which is not an allowed skip"
        assert reason.strip(), f"{resource} skips {check} without a reason"


def test_no_secret_value_leaks_into_plan_files_or_exports(rendered, tmp_path):
    _, recording = rendered
    write(recording, tmp_path)
    texts = {p.name: p.read_text() for p in tmp_path.rglob("*") if p.is_file()}
    secrets = gates.secret_values(recording, [KNOWN_ENCRYPTION_KEY, KNOWN_OIDC_SECRET])
    assert KNOWN_ENCRYPTION_KEY in secrets
    assert len(secrets) >= 4, "expected the generated passwords, tokens and the encryption key"
    assert gates.secret_leaks(secrets, texts) == []


# --- the gates fail when they should ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dev_manifests():
    return render("dev").manifests()


def first(manifests, kind):
    return next(m for m in manifests if m["kind"] == kind)


def test_schema_gate_catches_a_misspelt_field(dev_manifests):
    broken = copy.deepcopy(first(dev_manifests, "Deployment"))
    broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
    errors = gates.schema_errors([broken])
    assert errors and "imagePullPolice" in " ".join(errors)


def test_schema_gate_catches_an_incomplete_custom_resource():
    errors = gates.schema_errors([{"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
                                   "metadata": {"name": "w"}, "spec": {"minReplicaCount": 1, "maxReplicas": 3}}])
    assert any("spec.scaleTargetRef.name" in e for e in errors)
    assert any("maxReplicas" in e for e in errors)


def test_schema_gate_catches_a_misspelt_load_balancer_annotation(dev_manifests):
    broken = copy.deepcopy(first(dev_manifests, "Ingress"))
    broken["metadata"]["annotations"]["alb.ingress.kubernetes.io/wafv2-acl"] = "arn:aws:wafv2:x"
    errors = gates.schema_errors([broken])
    assert errors and "wafv2-acl" in errors[0]


def test_schema_gate_checks_gateway_objects_against_their_crds():
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"},
             "spec": {"rules": [{"matches": [{"path": {"type": "Prefix", "value": "/"}}]}]}}
    errors = gates.schema_errors([route])
    assert errors and "Prefix" in " ".join(errors)


def test_schema_gate_rejects_an_unknown_custom_resource_kind():
    errors = gates.schema_errors([{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}])
    assert errors and "CUSTOM_RESOURCES" in errors[0]


@pytest.mark.xdist_group("checkov")
def test_checkov_gate_catches_a_privileged_container(dev_manifests):
    broken = copy.deepcopy(dev_manifests)
    deployment = first(broken, "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"]["privileged"] = True
    container["securityContext"]["allowPrivilegeEscalation"] = True
    del container["resources"]["limits"]
    failed = {check for check, resource, _ in gates.checkov(broken).failed
              if deployment["metadata"]["name"] in resource}
    assert {"CKV_K8S_16", "CKV_K8S_20", "CKV_K8S_11", "CKV_K8S_13"} <= failed


def test_leak_gate_catches_a_secret_written_in_plain_text(dev_manifests):
    recording = render("dev")
    leaked = copy.deepcopy(first(dev_manifests, "Deployment"))
    leaked["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "N8N_ENCRYPTION_KEY", "value": KNOWN_ENCRYPTION_KEY}]
    texts = {"manifest.yaml": yaml.safe_dump(leaked), "resources.json": json.dumps([])}
    assert gates.secret_leaks(gates.secret_values(recording, [KNOWN_ENCRYPTION_KEY]), texts)
