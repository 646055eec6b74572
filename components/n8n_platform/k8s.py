"""Kubernetes building blocks shared by every component: labels, Pod Security `restricted` contexts, checkov skip
annotations, and :func:`apply` / :func:`apply_all`, which register plain manifest dicts as the matching
pulumi_kubernetes resources, each after the objects it references (:mod:`n8n_platform.references`).

Pure builders return manifests as plain dicts in Kubernetes' own camelCase shape (they may hold Pulumi Inputs as
leaf values, which they only place). The same dicts are validated by kubernetes-validate and checkov in tests.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .references import Ref, dependency_order, provides, references

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


_REGISTERED: weakref.WeakKeyDictionary[pulumi.Resource, dict[Ref, pulumi.CustomResource]] = weakref.WeakKeyDictionary()
"""Per parent component: the resource that provides each object (or Certificate's Secret) its children registered."""
_NAMED: weakref.WeakKeyDictionary[pulumi.Resource, dict[Ref, str]] = weakref.WeakKeyDictionary()
"""Per parent component: objects its children referenced before any child provided them (an order to check)."""


def apply(component: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """Register ``manifest`` as the typed pulumi_kubernetes resource for its apiVersion/kind.

    Built-in kinds get their typed class (so the provider knows their schema and await logic); custom resources
    (CRDs such as KEDA ScaledObject or the Zalando `postgresql`) become ``apiextensions.CustomResource``.

    The object ``depends_on`` every object it references (ServiceAccount, ConfigMap, Secret, PVC, PriorityClass,
    Issuer, ...; see :func:`references.references`) that a child of the same ``opts.parent`` registered before, so
    the engine never creates a Job before its ServiceAccount. Registering an object that an earlier sibling already
    referenced raises ValueError: register what is referenced first (:func:`apply_all` orders a batch itself).
    """
    api_version, kind = manifest["apiVersion"], manifest["kind"]
    group, _, version = api_version.rpartition("/")
    name = resource_name(component, manifest)
    opts = _after_references(name, manifest, opts)
    body = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
    module_name = _GROUP_MODULES.get(group)
    if module_name is not None:
        cls = getattr(getattr(getattr(k8s, module_name), version), kind)
        resource = cls(name, **_python_kwargs(body), opts=opts)
    else:
        resource = k8s.apiextensions.CustomResource(name, api_version=api_version, kind=kind, opts=opts, **body)
    if opts.parent is not None:
        registered = _REGISTERED.setdefault(opts.parent, {})
        for ref in provides(manifest):
            registered.setdefault(ref, resource)
    return resource


def _after_references(name: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
    """``opts`` plus ``depends_on`` the already registered siblings ``manifest`` references; checks the order."""
    parent = opts.parent
    if parent is None:
        return opts
    registered, named = _REGISTERED.setdefault(parent, {}), _NAMED.setdefault(parent, {})
    for ref in provides(manifest):
        if ref in named and ref not in registered:
            raise ValueError(f"{name}: {named[ref]} references {ref} and was registered before it, so it cannot "
                             "depend on it; register what is referenced first (k8s.apply_all orders a batch)")
    found = []
    for ref in references(manifest):
        if ref in registered:
            if all(registered[ref] is not r for r in found):
                found.append(registered[ref])
        else:
            named.setdefault(ref, name)
    if not found:
        return opts
    listed = opts.depends_on if isinstance(opts.depends_on, (list, tuple)) else (
        [opts.depends_on] if isinstance(opts.depends_on, pulumi.Resource) else [])
    missing = [r for r in found if all(r is not d for d in listed)]
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=missing)) if missing else opts


def apply_all(component: str, manifests: Sequence[dict[str, Any]], opts: pulumi.ResourceOptions,
              extra: Sequence[pulumi.ResourceOptions | None] | None = None) -> list[pulumi.CustomResource]:
    """Register the manifests one step renders, each after those of them it references (see :func:`apply`).

    ``opts`` applies to every manifest; ``extra[i]``, when given, is merged in for ``manifests[i]`` alone (e.g.
    ``protect`` on a StatefulSet, ``ignore_changes`` on an autoscaled Deployment). Returns the resources in the
    order of ``manifests``; a reference cycle among them raises ValueError.
    """
    if extra is not None and len(extra) != len(manifests):
        raise ValueError(f"apply_all: {len(extra)} extra options for {len(manifests)} manifests; give one per manifest")
    created: dict[int, pulumi.CustomResource] = {}
    for index, needs in dependency_order(manifests):
        merged = pulumi.ResourceOptions.merge(opts, extra[index]) if extra is not None else opts
        if needs:
            merged = pulumi.ResourceOptions.merge(merged, pulumi.ResourceOptions(
                depends_on=[created[j] for j in needs]))
        created[index] = apply(component, manifests[index], merged)
    return [created[i] for i in range(len(manifests))]


def _python_kwargs(body: dict[str, Any]) -> dict[str, Any]:
    """Top-level manifest fields as the constructor's keyword names (e.g. stringData -> string_data)."""
    return {re.sub(r"(?<!^)([A-Z])", r"_\1", k).lower(): v for k, v in body.items()}
