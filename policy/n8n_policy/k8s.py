"""Kubernetes rules: every pod meets Pod Security `restricted` and more, and only the edge exposes n8n."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pulumi_policy import ResourceValidationPolicy

from .rule import Config, Knob, ancestor_types, resource_rule

Props = Mapping[str, Any]
Problem = Callable[[Mapping, Mapping, Mapping, Config], "str | None"]
"""``(pod security context, container security context, container, config)`` -> what is wrong, or None."""

# Where each workload kind keeps its pod spec.
POD_SPEC_PATH = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"), "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"), "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"), "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def kind_of(resource_type: str) -> tuple[str, str]:
    """``(group, kind)`` of a Kubernetes type token such as ``kubernetes:apps/v1:Deployment``."""
    if not resource_type.startswith("kubernetes:") or resource_type.count(":") != 2:
        return "", ""
    _, group_version, kind = resource_type.split(":")
    return group_version.rsplit("/", 1)[0], kind


def is_workload(resource_type: str) -> bool:
    group, kind = kind_of(resource_type)
    return group in ("core", "apps", "batch") and kind in POD_SPEC_PATH


def _pod_spec(props: Props, kind: str) -> Mapping[str, Any]:
    spec: Any = props
    for key in POD_SPEC_PATH[kind]:
        spec = (spec or {}).get(key)
    return spec or {}


def _containers(props: Props, config: Config, args: Any) -> Iterator[tuple[Mapping, Mapping, str]]:
    """``(pod security context, container, label)`` for every container of the workload, unless excluded."""
    if ((props.get("metadata") or {}).get("namespace")) in config["excludeNamespaces"]:
        return
    if set(ancestor_types(args.urn)) & set(config["excludeAncestors"]):
        return
    pod = _pod_spec(props, kind_of(args.resource_type)[1])
    pod_context = pod.get("securityContext") or {}
    for field in ("initContainers", "containers"):
        for container in pod.get(field) or []:
            yield pod_context, container, f"container {container.get('name')!r}"


EXCLUDE = Knob(["kube-system"], "Namespaces whose workloads this rule does not check.", {"items": {"type": "string"}})
THIRD_PARTY = Knob(["kubernetes:helm.sh/v4:Chart"],
                   "Types whose descendants this rule does not check: third-party charts (KEDA, cert-manager, "
                   "operators) are hardened through their values, not by editing their manifests.",
                   {"items": {"type": "string"}})


def _workload_rule(name: str, description: str, problem: Problem, **knobs: Knob) -> ResourceValidationPolicy:
    """A rule that asks ``problem`` of every container of every workload."""
    def check(props: Props, config: Config, args: Any) -> Iterator[str]:
        for pod_context, container, label in _containers(props, config, args):
            message = problem(pod_context, container.get("securityContext") or {}, container, config)
            if message:
                yield f"{label}: {message}"

    return resource_rule(name, description, is_workload, check,
                         knobs={"excludeNamespaces": EXCLUDE, "excludeAncestors": THIRD_PARTY, **knobs})


def _effective(pod: Mapping, container: Mapping, key: str) -> Any:
    return container[key] if key in container else pod.get(key)


def _non_root(pod: Mapping, ctx: Mapping, container: Mapping, config: Config) -> str | None:
    if _effective(pod, ctx, "runAsUser") == 0:
        return "runs as UID 0 (runAsUser)"
    if _effective(pod, ctx, "runAsNonRoot") is not True:
        return "may run as root: set runAsNonRoot true"
    return None


def _read_only_root(pod: Mapping, ctx: Mapping, container: Mapping, config: Config) -> str | None:
    return None if ctx.get("readOnlyRootFilesystem") is True else "the root filesystem is writable " \
        "(readOnlyRootFilesystem)"


def _no_escalation(pod: Mapping, ctx: Mapping, container: Mapping, config: Config) -> str | None:
    if ctx.get("privileged"):
        return "is privileged"
    return None if ctx.get("allowPrivilegeEscalation") is False else "may escalate privileges " \
        "(allowPrivilegeEscalation false missing)"


def _drop_all(pod: Mapping, ctx: Mapping, container: Mapping, config: Config) -> str | None:
    capabilities = ctx.get("capabilities") or {}
    if "ALL" not in (capabilities.get("drop") or []):
        return "does not drop ALL capabilities"
    extra = set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}
    return f"adds capabilities {sorted(extra)}" if extra else None


def _seccomp(pod: Mapping, ctx: Mapping, container: Mapping, config: Config) -> str | None:
    profile = _effective(pod, ctx, "seccompProfile") or {}
    return None if profile.get("type") in ("RuntimeDefault", "Localhost") else "has no seccomp profile " \
        "(seccompProfile RuntimeDefault)"


def _resources(pod: Mapping, ctx: Mapping, container: Mapping, config: Config) -> str | None:
    resources = container.get("resources") or {}
    missing = [f"requests.{r}" for r in config["requests"] if r not in (resources.get("requests") or {})]
    missing += [f"limits.{r}" for r in config["limits"] if r not in (resources.get("limits") or {})]
    return f"sets no {', '.join(missing)}" if missing else None


def _pinned(pod: Mapping, ctx: Mapping, container: Mapping, config: Config) -> str | None:
    image = str(container.get("image") or "")
    if "@sha256:" in image:
        return None
    if config["requireDigest"]:
        return f"image {image!r} is not pinned by digest"
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    return None if tag and tag != "latest" else f"image {image!r} has no fixed tag"


def _secret_env(pod: Mapping, ctx: Mapping, container: Mapping, config: Config) -> str | None:
    pattern = re.compile(config["secretNames"])
    leaked = [e.get("name") for e in container.get("env") or []
              if e.get("value") and pattern.search(e.get("name") or "")]
    return f"puts secrets in plain env values: {', '.join(leaked)} (mount a Secret, use *_FILE)" if leaked else None


non_root = _workload_rule(
    "k8s-run-as-non-root", "Containers never run as root, so an escape from the process is not root on the node.",
    _non_root)
read_only_root = _workload_rule(
    "k8s-read-only-root-filesystem",
    "Container root filesystems are read-only, so an intruder cannot drop tools or change the image's code.",
    _read_only_root)
no_escalation = _workload_rule(
    "k8s-no-privilege-escalation", "No container is privileged or may gain privileges (setuid binaries).",
    _no_escalation)
drop_all = _workload_rule(
    "k8s-drop-all-capabilities", "Containers drop every Linux capability (NET_BIND_SERVICE may be added back).",
    _drop_all)
seccomp = _workload_rule(
    "k8s-seccomp-profile", "Containers run under the runtime's seccomp profile, which blocks dangerous syscalls.",
    _seccomp)
resources = _workload_rule(
    "k8s-requests-and-limits",
    "Containers declare requests and limits, so the scheduler places them and a leak cannot starve a node.",
    _resources,
    requests=Knob(["cpu", "memory"], "Requests every container sets.", {"items": {"type": "string"}}),
    limits=Knob(["memory"], "Limits every container sets (add cpu to forbid unbounded CPU use).",
                {"items": {"type": "string"}}))
pinned_images = _workload_rule(
    "k8s-pinned-images",
    "Images are pinned to a version (never :latest or no tag), so what runs is what was reviewed and rollbacks work.",
    _pinned, requireDigest=Knob(False, "Require an @sha256 digest, not just a tag."))
secret_env = _workload_rule(
    "k8s-no-secret-in-env-value",
    "No password, token or key is written into a container's env as a literal value (it would show in the "
    "manifest, the state and `kubectl describe`).", _secret_env,
    secretNames=Knob(r"(?i)(PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIALS?|"
                     r"(API|ACCESS|PRIVATE|SECRET|SIGNING|ENCRYPTION|ACTIVATION)_?KEY)$",
                     "Regular expression (searched) of env names that hold secrets: by default, names that end in a "
                     "secret word, so DB_PASSWORD fires and DB_PASSWORD_FILE or ..._CREDENTIAL_TYPE_LABEL do not."))


EXPOSING = {("core", "Service"), ("networking.k8s.io", "Ingress")} | {
    ("gateway.networking.k8s.io", kind) for kind in ("Gateway", "HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute",
                                                     "UDPRoute")}


def _exposes(resource_type: str) -> bool:
    return kind_of(resource_type) in EXPOSING


def _edge_only(props: Props, config: Config, args: Any) -> Iterator[str]:
    _, kind = kind_of(args.resource_type)
    if kind == "Service":
        service_type = (props.get("spec") or {}).get("type") or "ClusterIP"
        if service_type not in ("LoadBalancer", "NodePort"):
            return
        kind = f"{service_type} Service"
    if not set(ancestor_types(args.urn)) & set(config["allowedAncestors"]):
        yield (f"a {kind} outside the edge component ({' or '.join(config['allowedAncestors'])}): traffic would "
               "bypass its TLS, WAF, rate limits and editor protection")


edge_only = resource_rule(
    "k8s-exposure-through-edge-only",
    "Only the edge component creates Ingresses, Gateway API routes and LoadBalancer/NodePort Services, so nothing "
    "reaches n8n around its TLS, WAF, rate limits and editor protection.", _exposes, _edge_only,
    knobs={"allowedAncestors": Knob(["n8n:index:Edge"], "Component types whose children may expose services.",
                                    {"items": {"type": "string"}})})

POLICIES = [non_root, read_only_root, no_escalation, drop_all, seccomp, resources, pinned_images, secret_env,
            edge_only]
