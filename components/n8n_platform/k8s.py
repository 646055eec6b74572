"""Kubernetes building blocks shared by every component: labels, Pod Security `restricted` contexts, checkov skip
annotations, and :func:`apply`, which registers a plain manifest dict as the matching pulumi_kubernetes resource.

Pure builders return manifests as plain dicts in Kubernetes' own camelCase shape (they may hold Pulumi Inputs as
leaf values, which they only place). The same dicts are validated by kubernetes-validate and checkov in tests.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi

PART_OF = "n8n"
NON_ROOT_UID = 10001
"""UID/GID every container we write runs as (checkov CKV_K8S_40 asks for >= 10000)."""


def labels(component: str, name: str = "n8n") -> dict[str, str]:
    """The recommended app.kubernetes.io labels; ``component`` is the role (main, worker, redis, ...)."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    }


def selector(component: str, name: str = "n8n") -> dict[str, str]:
    """The stable subset of :func:`labels` used in selectors (selectors are immutable on Deployments)."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": component}


def metadata(name: str, namespace: str | None, component: str, *, app: str = "n8n",
             annotations: dict[str, str] | None = None, extra_labels: dict[str, str] | None = None) -> dict[str, Any]:
    """Object metadata with our labels; ``namespace`` None for cluster-scoped objects."""
    meta: dict[str, Any] = {"name": name, "labels": {**labels(component, app), **(extra_labels or {})}}
    if namespace is not None:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def pod_security_context(uid: int = NON_ROOT_UID) -> dict[str, Any]:
    """Pod-level context meeting Pod Security `restricted`."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context(uid: int = NON_ROOT_UID) -> dict[str, Any]:
    """Container-level context meeting Pod Security `restricted`, with a read-only root filesystem."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


PINNED_TAG_SKIP = {"CKV_K8S_43": "tags are pinned; digests are not resolvable offline"}
"""The one checkov skip every workload carries: images are pinned by tag (their digests are unknown offline)."""


def checkov_skips(reasons: dict[str, str]) -> dict[str, str]:
    """Annotations that skip checkov checks on one object, each with its one-line reason."""
    return {f"checkov.io/skip{i}": f"{check}={reason}" for i, (check, reason) in enumerate(sorted(reasons.items()), 1)}


def resources(r: Any) -> dict[str, Any]:
    """A container's resources block from a settings Resources."""
    return {
        "requests": {"cpu": r.cpu_request, "memory": r.memory_request},
        "limits": {"cpu": r.cpu_limit, "memory": r.memory_limit},
    }


def empty_dir(name: str, size: str = "256Mi", medium: str | None = None) -> dict[str, Any]:
    """A size-limited emptyDir volume (writable scratch space under a read-only root filesystem)."""
    spec: dict[str, Any] = {"sizeLimit": size}
    if medium:
        spec["medium"] = medium
    return {"name": name, "emptyDir": spec}


# --- registering manifests ----------------------------------------------------------------------------------------

_GROUP_MODULES = {
    "": "core",
    "apps": "apps",
    "batch": "batch",
    "policy": "policy",
    "autoscaling": "autoscaling",
    "networking.k8s.io": "networking",
    "rbac.authorization.k8s.io": "rbac",
    "storage.k8s.io": "storage",
    "scheduling.k8s.io": "scheduling",
    "admissionregistration.k8s.io": "admissionregistration",
    "apiextensions.k8s.io": "apiextensions",
}
"""API groups with typed pulumi_kubernetes classes; any other group is a custom resource."""


def resource_name(component: str, manifest: dict[str, Any]) -> str:
    """The Pulumi name of a manifest registered by ``component``: stable, unique per kind and object name."""
    return f"{component}-{manifest['kind'].lower()}-{manifest['metadata']['name']}"


def apply(component: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """Register ``manifest`` as the typed pulumi_kubernetes resource for its apiVersion/kind.

    Built-in kinds get their typed class (so the provider knows their schema and await logic); custom resources
    (CRDs such as KEDA ScaledObject or the Zalando `postgresql`) become ``apiextensions.CustomResource``.
    """
    import pulumi_kubernetes as k8s

    api_version, kind = manifest["apiVersion"], manifest["kind"]
    group, _, version = api_version.rpartition("/")
    name = resource_name(component, manifest)
    body = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
    module_name = _GROUP_MODULES.get(group)
    if module_name is not None:
        cls = getattr(getattr(getattr(k8s, module_name), version), kind)
        return cls(name, **_python_kwargs(body), opts=opts)
    return k8s.apiextensions.CustomResource(name, api_version=api_version, kind=kind, opts=opts, **body)


def _python_kwargs(body: dict[str, Any]) -> dict[str, Any]:
    """Top-level manifest fields as the constructor's keyword names (e.g. stringData -> string_data)."""
    return {re.sub(r"(?<!^)([A-Z])", r"_\1", k).lower(): v for k, v in body.items()}
