"""Which Kubernetes objects a manifest names and which it brings into being: the facts :func:`k8s.apply` orders by.

A pod cannot be created before the ServiceAccount it runs as (the API server refuses it: ``FailedCreate``), and it
stays ``ContainerCreating`` while a ConfigMap, Secret or PVC it mounts is missing; a cert-manager Certificate waits
for its Issuer. So an object that references another object registered with it must ``depends_on`` it. These pure
functions read plain manifest dicts; a name that is not a plain string (an Output) is not a reference they can see.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

POD_SPECS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
"""Where each workload kind keeps its pod spec."""
CLUSTER_SCOPED = frozenset({"PriorityClass", "ClusterIssuer", "StorageClass", "Namespace", "ClusterRole",
                            "ClusterRoleBinding", "GatewayClass", "ClusterTriggerAuthentication"})
"""Kinds without a namespace (a reference to one matches whatever namespace the referrer is in)."""


class Ref(NamedTuple):
    """One Kubernetes object by kind, namespace (None when cluster-scoped or unknown) and name."""

    kind: str
    namespace: str | None
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


def references(manifest: dict[str, Any]) -> list[Ref]:
    """The objects ``manifest`` needs to exist first, each once, in the order they appear.

    Pod templates of workloads (and the Zalando ``postgresql`` CR, whose pods the operator builds from the same
    fields): ``serviceAccountName``, ``priorityClassName``, ``imagePullSecrets``, configMap/secret/projected/PVC
    volumes, ``envFrom`` and ``valueFrom`` refs of every container; the ``postgresql`` TLS secrets. cert-manager
    Certificates: their ``issuerRef``. KEDA ScaledObjects: their triggers' ``authenticationRef``.
    """
    kind = manifest.get("kind")
    spec = manifest.get("spec") or {}
    found: list[tuple[str, Any]] = []
    if kind in POD_SPECS:
        found += _pod_spec(_at(manifest, POD_SPECS[kind]))
    elif kind == "postgresql":
        found += _postgresql(spec)
    elif kind == "Certificate" and isinstance(spec.get("issuerRef"), dict):
        issuer = spec["issuerRef"]
        found.append((issuer.get("kind") or "Issuer", issuer.get("name")))
    elif kind == "ScaledObject":
        for trigger in spec.get("triggers") or []:
            auth = trigger.get("authenticationRef") if isinstance(trigger, dict) else None
            if isinstance(auth, dict):
                found.append((auth.get("kind") or "TriggerAuthentication", auth.get("name")))
    namespace = _namespace(manifest)
    out: list[Ref] = []
    for ref_kind, name in found:
        ref = Ref(ref_kind, None if ref_kind in CLUSTER_SCOPED else namespace, name) if isinstance(name, str) else None
        if ref is not None and ref not in out:
            out.append(ref)
    return out


def provides(manifest: dict[str, Any]) -> list[Ref]:
    """The objects that exist once ``manifest`` is applied: itself, and the Secret a cert-manager Certificate
    writes (``spec.secretName``)."""
    meta = manifest.get("metadata") or {}
    kind, name = manifest.get("kind"), meta.get("name")
    out = []
    if isinstance(kind, str) and isinstance(name, str):
        out.append(Ref(kind, None if kind in CLUSTER_SCOPED else _namespace(manifest), name))
    secret = (manifest.get("spec") or {}).get("secretName")
    if kind == "Certificate" and isinstance(secret, str):
        out.append(Ref("Secret", _namespace(manifest), secret))
    return out


def dependency_order(manifests: Sequence[dict[str, Any]]) -> list[tuple[int, list[int]]]:
    """``(index, indices it references)`` for every manifest, referenced ones first, otherwise in the given order.

    Raises ValueError on a reference cycle (no order can create each object after what it needs).
    """
    provider: dict[Ref, int] = {}
    for index, manifest in enumerate(manifests):
        for ref in provides(manifest):
            provider.setdefault(ref, index)
    needs = {i: sorted({provider[r] for r in references(m) if r in provider} - {i}) for i, m in enumerate(manifests)}
    order: list[tuple[int, list[int]]] = []
    done: set[int] = set()
    visiting: list[int] = []

    def visit(index: int) -> None:
        if index in done:
            return
        if index in visiting:
            cycle = [*visiting[visiting.index(index):], index]
            raise ValueError("reference cycle: " + " -> ".join(_label(manifests[i]) for i in cycle))
        visiting.append(index)
        for needed in needs[index]:
            visit(needed)
        visiting.pop()
        done.add(index)
        order.append((index, needs[index]))

    for index in range(len(manifests)):
        visit(index)
    return order


def _label(manifest: dict[str, Any]) -> str:
    return f"{manifest.get('kind')} {(manifest.get('metadata') or {}).get('name')}"


def _namespace(manifest: dict[str, Any]) -> str | None:
    namespace = (manifest.get("metadata") or {}).get("namespace")
    return namespace if isinstance(namespace, str) else None


def _at(value: Any, path: tuple[str, ...]) -> dict[str, Any]:
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else {}


def _pod_spec(pod: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for key in ("serviceAccountName", "serviceAccount"):
        if pod.get(key):
            yield "ServiceAccount", pod[key]
    if pod.get("priorityClassName"):
        yield "PriorityClass", pod["priorityClassName"]
    for pull in pod.get("imagePullSecrets") or []:
        yield "Secret", pull.get("name")
    for volume in pod.get("volumes") or []:
        yield from _volume(volume)
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in pod.get(key) or []:
            yield from _container(container)


def _volume(volume: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    if isinstance(volume.get("configMap"), dict):
        yield "ConfigMap", volume["configMap"].get("name")
    if isinstance(volume.get("secret"), dict):
        yield "Secret", volume["secret"].get("secretName")
    if isinstance(volume.get("persistentVolumeClaim"), dict):
        yield "PersistentVolumeClaim", volume["persistentVolumeClaim"].get("claimName")
    for source in (volume.get("projected") or {}).get("sources") or []:
        if isinstance(source.get("configMap"), dict):
            yield "ConfigMap", source["configMap"].get("name")
        if isinstance(source.get("secret"), dict):
            yield "Secret", source["secret"].get("name")


def _container(container: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for source in container.get("envFrom") or []:
        if isinstance(source.get("configMapRef"), dict):
            yield "ConfigMap", source["configMapRef"].get("name")
        if isinstance(source.get("secretRef"), dict):
            yield "Secret", source["secretRef"].get("name")
    for variable in container.get("env") or []:
        value_from = variable.get("valueFrom") if isinstance(variable, dict) else None
        if isinstance(value_from, dict):
            if isinstance(value_from.get("configMapKeyRef"), dict):
                yield "ConfigMap", value_from["configMapKeyRef"].get("name")
            if isinstance(value_from.get("secretKeyRef"), dict):
                yield "Secret", value_from["secretKeyRef"].get("name")


def _postgresql(spec: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The Zalando ``postgresql`` CR: its TLS secrets, extra volumes, env and sidecars end up in the pods."""
    tls = spec.get("tls") or {}
    for key in ("secretName", "caSecretName"):
        if tls.get(key):
            yield "Secret", tls[key]
    if spec.get("podPriorityClassName"):
        yield "PriorityClass", spec["podPriorityClassName"]
    for volume in spec.get("additionalVolumes") or []:
        yield from _volume(volume.get("volumeSource") or {})
    yield from _container({"env": spec.get("env")})
    for container in [*(spec.get("initContainers") or []), *(spec.get("sidecars") or [])]:
        yield from _container(container)
