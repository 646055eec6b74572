"""Quality gates over rendered output: real validators on what the program would apply.

- :func:`schema_errors`: every built-in Kubernetes object against the official OpenAPI schemas with
  kubernetes-validate in strict mode (unknown fields are errors), for each Kubernetes version we support;
  Gateway API and Envoy Gateway objects against their real CRD schemas at the pinned releases (:mod:`tools.ci.crds`);
  other custom resources against the fields their CRDs document (:data:`CUSTOM_RESOURCES`); every AWS Load
  Balancer Controller annotation on an Ingress against the controller's documented names and value shapes.
- :func:`checkov`: `checkov --framework kubernetes` over the manifests; returns failed and skipped checks.
- :func:`secret_leaks`: every secret value the program handles, searched for in text we write or export.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from n8n_platform.edge import alb
from tools.ci import crds
from tools.offline import ROOT, SECRET_SHOWN, Recording, secret_leaves

KUBERNETES_VERSIONS = ("1.33", "1.35")
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


@dataclass(frozen=True)
class CustomResource:
    """What a CRD documents for one kind: the fields that must be there and the allowed top-level spec fields."""

    required: tuple[str, ...]
    spec_fields: frozenset[str]


def _cr(required: tuple[str, ...], spec_fields: str) -> CustomResource:
    return CustomResource(required, frozenset(spec_fields.split()))


CUSTOM_RESOURCES: dict[tuple[str, str], CustomResource] = {
    # KEDA 2.x (keda.sh_scaledobjects.yaml, keda.sh_triggerauthentications.yaml)
    ("keda.sh/v1alpha1", "ScaledObject"): _cr(
        ("spec.scaleTargetRef.name", "spec.triggers"),
        "scaleTargetRef pollingInterval cooldownPeriod initialCooldownPeriod idleReplicaCount minReplicaCount "
        "maxReplicaCount fallback advanced triggers"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"): _cr(
        (), "secretTargetRef env hashiCorpVault azureKeyVault podIdentity awsSecretManager gcpSecretManager "
            "configMapTargetRef boundServiceAccountToken"),
    # Zalando postgres-operator (acid.zalan.do_postgresqls.yaml)
    ("acid.zalan.do/v1", "postgresql"): _cr(
        ("spec.teamId", "spec.numberOfInstances", "spec.postgresql.version", "spec.volume.size"),
        "teamId numberOfInstances postgresql volume patroni resources users databases preparedDatabases tls env "
        "enableMasterLoadBalancer enableReplicaLoadBalancer enableConnectionPooler connectionPooler "
        "enableLogicalBackup "
        "allowedSourceRanges clone standby nodeAffinity tolerations podAnnotations serviceAnnotations "
        "spiloRunAsUser spiloRunAsGroup spiloFSGroup sidecars initContainers additionalVolumes podPriorityClassName "
        "maintenanceWindows enableShmVolume dockerImage schedulerName topologySpreadConstraints "
        "usersWithSecretRotation usersWithInPlaceSecretRotation streams masterServiceAnnotations "
        "replicaServiceAnnotations"),
    # cert-manager v1
    ("cert-manager.io/v1", "Certificate"): _cr(
        ("spec.secretName", "spec.issuerRef.name"),
        "secretName issuerRef commonName dnsNames ipAddresses uris emailAddresses duration renewBefore isCA usages "
        "privateKey subject secretTemplate keystores literalSubject revisionHistoryLimit additionalOutputFormats "
        "nameConstraints otherNames encodeUsagesInRequest signatureAlgorithm"),
    ("cert-manager.io/v1", "ClusterIssuer"): _cr((), "acme ca selfSigned vault venafi"),
    ("cert-manager.io/v1", "Issuer"): _cr((), "acme ca selfSigned vault venafi"),
}
"""Custom resource kinds the program may create. An unknown kind is an error: add its CRD's fields here.
Gateway API, Envoy Gateway and Prometheus Operator kinds are validated against their real CRD schemas instead
(:mod:`tools.ci.crds`)."""


def _path(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def _label(m: dict[str, Any]) -> str:
    meta = m.get("metadata", {})
    return f"{m.get('kind')} {meta.get('namespace', '-')}/{meta.get('name')}"


def schema_errors(manifests: list[dict[str, Any]], versions: tuple[str, ...] = KUBERNETES_VERSIONS) -> list[str]:
    """Every schema problem of ``manifests``, one line each (empty when all are valid)."""
    import kubernetes_validate

    errors = []
    for m in manifests:
        key = (m.get("apiVersion"), m.get("kind"))
        if crds.known(*key):
            errors.extend(crds.crd_errors(m))
            continue
        if key == ("networking.k8s.io/v1", "Ingress"):
            errors.extend(f"{_label(m)}: {p}" for p in alb.annotation_problems(m["metadata"].get("annotations", {})))
        if key in CUSTOM_RESOURCES:
            errors.extend(_custom_resource_errors(m, CUSTOM_RESOURCES[key]))
            continue
        for version in versions:
            try:
                kubernetes_validate.validate(m, version, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                errors.append(f"{_label(m)}: no schema for {key[0]} {key[1]} in Kubernetes {version} (if it is a "
                              "custom resource, add its CRD fields to tools.ci.gates.CUSTOM_RESOURCES)")
            except kubernetes_validate.ValidationError as e:
                where = ".".join(str(p) for p in e.path)
                errors.append(f"{_label(m)} (Kubernetes {version}) at {where or '(root)'}: {e.message}")
    return errors


def _custom_resource_errors(m: dict[str, Any], crd: CustomResource) -> list[str]:
    errors = [f"{_label(m)}: missing {path}" for path in crd.required if _path(m, path) in (None, [], {})]
    unknown = set(m.get("spec", {})) - crd.spec_fields
    if unknown:
        errors.append(f"{_label(m)}: spec fields not in its CRD: {sorted(unknown)}")
    if not m.get("metadata", {}).get("name"):
        errors.append(f"{_label(m)}: missing metadata.name")
    return errors


@dataclass(frozen=True)
class CheckovResult:
    passed: int
    failed: list[tuple[str, str, str]]
    """(check id, resource, file) of each failed check."""
    skipped: list[tuple[str, str, str]]
    """(check id, resource, suppression comment) of each skipped check."""


DEFAULT_DENY = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": "default-deny", "namespace": "n8n"},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}
"""A default-deny policy for namespace n8n: scan a component's manifests with it, as the namespace will hold one
(checkov's CKV2_K8S_6 asks that every pod be covered by a NetworkPolicy)."""


def write_manifests(manifests: list[dict[str, Any]], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for i, m in enumerate(manifests):
        (directory / f"{i:03d}-{m['kind'].lower()}.yaml").write_text(yaml.safe_dump(m, sort_keys=False))


def checkov(manifests: list[dict[str, Any]]) -> CheckovResult:
    """Run the real checkov (kubernetes framework) over ``manifests`` scanned together."""
    with tempfile.TemporaryDirectory() as tmp:
        write_manifests(manifests, Path(tmp))
        proc = subprocess.run(
            [str(CHECKOV), "-d", tmp, "--framework", "kubernetes", "--compact", "-o", "json",
             "--skip-download"], capture_output=True, text=True, timeout=600)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed to run (exit {proc.returncode}): {proc.stderr[-2000:]}")
    reports = json.loads(proc.stdout or "[]")
    reports = reports if isinstance(reports, list) else [reports]
    failed, skipped, passed = [], [], 0
    for report in reports:
        results = report.get("results", {})
        passed += len(results.get("passed_checks", []))
        failed += [(c["check_id"], c["resource"], c["file_path"]) for c in results.get("failed_checks", [])]
        skipped += [(c["check_id"], c["resource"], c.get("check_result", {}).get("suppress_comment", ""))
                    for c in results.get("skipped_checks", [])]
    return CheckovResult(passed, failed, skipped)


def secret_values(recording: Recording, extra: list[str] = ()) -> set[str]:
    """Every string the program holds as a secret (inputs and exports marked secret), plus ``extra`` known ones."""
    leaves = [leaf for r in recording.resources for leaf in secret_leaves(r.inputs)] + secret_leaves(recording.exports)
    return {v for v in leaves if isinstance(v, str) and len(v) >= 8 and v != SECRET_SHOWN} | set(extra)


def secret_leaks(secrets: set[str], texts: dict[str, str]) -> list[str]:
    """Which secrets appear in which texts (name -> content); empty when none leaks."""
    return [f"a secret value ({s[:4]}…) appears in {name}" for name, text in texts.items() for s in secrets
            if s in text]
