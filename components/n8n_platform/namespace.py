"""The n8n namespace: Pod Security `restricted` (only `baseline` enforced with Patroni), default-deny network
policies with the flows n8n needs, and a ResourceQuota + LimitRange sized from the settings.

**Selectors are API.** Other components' pods must carry the labels below to be admitted by these policies:
``k8s.selector(component)`` (``app.kubernetes.io/name: n8n`` + ``app.kubernetes.io/component: <component>``) for
``main``, ``webhook``, ``worker``, ``redis``, ``dumps`` and ``bootstrap``; Zalando Patroni pods are matched by the
operator's own labels (``application: spilo``, ``cluster-name: <cluster>``); pods using IRSA add
:data:`AWS_ACCESS_LABEL`.

Flows allowed (everything else in the namespace is denied, both directions):

===============================  ====================================================================================
DNS                              every pod -> kube-dns (kube-system) UDP/TCP 53
PostgreSQL                       main, webhook, worker, dumps, bootstrap -> Patroni pods 5432 (in-namespace), the
                                 operator's PgBouncer pods 5432 (``patroni_pooler``) and ``postgres_cidrs`` 5432
                                 (RDS, RDS Proxy); Patroni pods accept 5432 from them, from the PgBouncer pods and
                                 from the operator; PgBouncer pods accept 5432 from main, webhook and worker and
                                 reach the Patroni pods on 5432
Redis                            main, webhook, worker -> Redis pods 6379 and ``redis_cidrs`` 6379 (ElastiCache);
                                 Redis pods accept 6379 from them and from the KEDA namespace (queue-depth scaler)
Patroni                          members <-> members 5432 + 8008 (replication, REST API); operator -> 8008;
                                 members -> 443 anywhere but link-local (Kubernetes API for leader election, STS and
                                 S3 for WAL-G)
IRSA pods                        pods labelled :data:`AWS_ACCESS_LABEL` -> 443 anywhere but link-local (STS, S3)
Workflows                        main, worker -> ``egress_ports`` (80, 443) on the internet (public addresses only:
                                 link-local, RFC 1918 and CGNAT ranges are excepted, so workflows cannot reach the
                                 instance metadata service or in-cluster services; add ``private_egress_cidrs`` for
                                 internal APIs). Calling external APIs is n8n's job; this is deliberate.
Metrics                          the monitoring namespace -> n8n 5678, Redis exporter 9121, Patroni 8008 and
                                 postgres exporter 9187
===============================  ====================================================================================

**Not here: ingress to main and webhook processors from the load balancer.** The edge component adds it
(``edge-ingress``: the ALB subnets' CIDRs for IP targets, or the Gateway's Envoy pods, to 5678 only; see
``edge/component.py``). Kubelet probes come from the node and are not subject to these policies on the AWS VPC CNI.
"""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads the Args annotations at run time.
import ipaddress
import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

import pulumi

from . import k8s, names
from .arguments import (
    ContainerResources,
    cidr,
    container_resources,
    dns_label,
    flag,
    known,
    member,
    number,
    plain,
    port,
    refuse,
    required,
    retain_on_delete,
    structured,
    whole,
)
from .schema import cpu_millis, quantity_bytes
from .vocabulary import Resources

MAIN, WEBHOOK, WORKER, REDIS, DUMPS, BOOTSTRAP = "main", "webhook", "worker", "redis", "dumps", "bootstrap"
SELECTORS: dict[str, dict[str, str]] = {c: k8s.selector(c) for c in (MAIN, WEBHOOK, WORKER, REDIS, DUMPS, BOOTSTRAP)}
"""matchLabels of each component's pods; workloads must label their pods with (a superset of) these."""

SPILO_LABELS = {"application": "spilo"}
"""Labels the Zalando operator puts on every Patroni (Spilo) pod, next to ``cluster-name: <cluster>``."""

AWS_ACCESS_LABEL = ("n8n.io/aws-access", "true")
"""Pod label of workloads that use IRSA (dumps, WAL-G helpers); admits 443 egress to STS and S3."""

N8N_COMPONENTS = (MAIN, WEBHOOK, WORKER)
DATABASE_CLIENTS = (MAIN, WEBHOOK, WORKER, DUMPS, BOOTSTRAP)
WORKFLOW_RUNNERS = (MAIN, WORKER)
"""Roles that execute workflow nodes (main for manual runs, triggers and pollers; workers for queued runs)."""

POSTGRES_PORT, PATRONI_API_PORT, REDIS_PORT = 5432, 8008, 6379
REDIS_EXPORTER_PORT, POSTGRES_EXPORTER_PORT = 9121, 9187
LINK_LOCAL = "169.254.0.0/16"
NON_PUBLIC_CIDRS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", LINK_LOCAL)
"""Ranges workflow egress may not reach: private (RFC 1918, pods and services on the VPC CNI), CGNAT (custom pod
networking) and link-local (instance metadata 169.254.169.254, Pod Identity agent 169.254.170.23)."""


POD_SECURITY_LEVELS = ("privileged", "baseline", "restricted")


def pod_security_labels(enforce: str = "restricted") -> dict[str, str]:
    """Pod Security Admission labels against the latest policy version: ``enforce`` at the given level, ``audit``
    and ``warn`` always at ``restricted``, so pods below it are still reported when a lower level is enforced
    (``baseline`` for Zalando Spilo pods, which lack seccompProfile and dropped capabilities)."""
    if enforce not in POD_SECURITY_LEVELS:
        raise ValueError(f"unknown Pod Security level {enforce!r}; expected one of {POD_SECURITY_LEVELS}")
    out: dict[str, str] = {}
    for mode, level in (("enforce", enforce), ("audit", "restricted"), ("warn", "restricted")):
        out[f"pod-security.kubernetes.io/{mode}"] = level
        out[f"pod-security.kubernetes.io/{mode}-version"] = "latest"
    return out


def namespace_manifest(name: str, pod_security: str = "restricted") -> dict[str, Any]:
    """The Namespace with Pod Security labels; ``pod_security`` is the enforced level (see
    :func:`pod_security_labels`)."""
    meta = k8s.metadata(name, None, "namespace", extra_labels=pod_security_labels(pod_security))
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def components_selector(components: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """A label selector matching the pods of several n8n components."""
    return {"matchLabels": {"app.kubernetes.io/name": "n8n"},
            "matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "In",
                                  "values": sorted(components)}]}


def spilo_selector(cluster: str) -> dict[str, Any]:
    """Pods of one Zalando Patroni cluster."""
    return {"matchLabels": {**SPILO_LABELS, "cluster-name": cluster}}


def pooler_selector(cluster: str) -> dict[str, Any]:
    """The operator's PgBouncer pods in front of one Patroni cluster's primary (database/pooler.py)."""
    return {"matchLabels": {"application": "db-connection-pooler",
                            "connection-pooler": names.pooler_service(cluster)}}


def namespace_selector(namespace: str) -> dict[str, Any]:
    """Selects a namespace by its immutable ``kubernetes.io/metadata.name`` label."""
    return {"matchLabels": {"kubernetes.io/metadata.name": namespace}}


def ip_block(cidr: str, excepted: tuple[str, ...] | list[str] = ()) -> dict[str, Any]:
    """An ipBlock, keeping only the exceptions that lie inside ``cidr`` (the API rejects the others)."""
    net = ipaddress.ip_network(cidr)
    inside = [e for e in excepted if _strictly_inside(ipaddress.ip_network(e), net)]
    return {"ipBlock": {"cidr": cidr, "except": inside}} if inside else {"ipBlock": {"cidr": cidr}}


def _strictly_inside(sub: ipaddress.IPv4Network | ipaddress.IPv6Network,
                     net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    return sub.version == net.version and sub != net and sub.subnet_of(net)


def _ports(*ports: int, protocol: str = "TCP") -> list[dict[str, Any]]:
    return [{"protocol": protocol, "port": p} for p in ports]


def _policy(name: str, namespace: str, pod_selector: dict[str, Any], *, ingress: list | None = None,
            egress: list | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": pod_selector, "policyTypes": []}
    if ingress is not None:
        spec["policyTypes"].append("Ingress")
        spec["ingress"] = ingress
    if egress is not None:
        spec["policyTypes"].append("Egress")
        spec["egress"] = egress
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": k8s.metadata(name, namespace, "network-policy"), "spec": spec}


@dataclass(frozen=True)
class NetworkPlan:
    """What the namespace's network policies need to know about the rest of the platform."""

    namespace: str
    """The n8n namespace."""
    postgres_cidrs: list[str] = field(default_factory=list)
    """CIDRs a managed PostgreSQL lives in (the VPC CIDR for RDS); only 5432 is opened to them. Empty for Patroni."""
    redis_cidrs: list[str] = field(default_factory=list)
    """CIDRs a managed Redis lives in (the VPC CIDR for ElastiCache); only 6379 is opened to them. Empty in-cluster."""
    patroni_cluster: str | None = None
    """Name of the Zalando postgresql cluster in the namespace (engine patroni), else None."""
    patroni_pooler: bool = False
    """The operator runs its PgBouncer pods in front of the cluster's primary (``database.pooler``)."""
    operator_namespace: str | None = None
    """Namespace of the Zalando postgres-operator (it connects to 5432 and 8008)."""
    redis_in_cluster: bool = False
    """True when Redis runs as pods in the namespace."""
    keda_namespace: str | None = None
    """Namespace of KEDA, whose operator reads the queue length from in-cluster Redis."""
    monitoring_namespace: str | None = None
    """Namespace of Prometheus, allowed to scrape metrics ports."""
    egress_ports: list[int] = field(default_factory=lambda: [80, 443])
    """Ports workflows may call on the public internet."""
    private_egress_cidrs: list[str] = field(default_factory=list)
    """Private ranges workflows may additionally call (internal APIs), on ``egress_ports``."""

    def __post_init__(self) -> None:
        where = "NetworkPlan"
        dns_label(where, "namespace", self.namespace)
        for key in ("postgres_cidrs", "redis_cidrs", "private_egress_cidrs", "egress_ports"):
            values = plain(where, key, getattr(self, key))
            if not isinstance(values, (list, tuple)):
                raise refuse(where, key, values, "a list", TypeError)
            for i, value in enumerate(values):
                if key == "egress_ports":
                    port(where, f"{key}[{i}]", plain(where, f"{key}[{i}]", value))
                else:
                    cidr(where, f"{key}[{i}]", value)
        for key in ("patroni_cluster", "operator_namespace", "keda_namespace", "monitoring_namespace"):
            if getattr(self, key) is not None:
                dns_label(where, key, getattr(self, key))
        flag(where, "redis_in_cluster", self.redis_in_cluster)


def network_policies(plan: NetworkPlan) -> list[dict[str, Any]]:
    """Default deny plus the allow rules of the module docstring's table, as NetworkPolicy manifests."""
    ns = plan.namespace
    clients = components_selector(DATABASE_CLIENTS)
    n8n = components_selector(N8N_COMPONENTS)
    policies = [
        _policy("default-deny", ns, {}, ingress=[], egress=[]),
        _policy("allow-dns", ns, {}, egress=[{
            "to": [{"namespaceSelector": namespace_selector("kube-system"),
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": _ports(53, protocol="UDP") + _ports(53),
        }]),
    ]

    postgres_to: list[dict[str, Any]] = [ip_block(c) for c in plan.postgres_cidrs]
    if plan.patroni_cluster:
        postgres_to.insert(0, {"podSelector": spilo_selector(plan.patroni_cluster)})
        if plan.patroni_pooler:
            postgres_to.insert(1, {"podSelector": pooler_selector(plan.patroni_cluster)})
    if postgres_to:
        policies.append(_policy("postgres-clients", ns, clients,
                                egress=[{"to": postgres_to, "ports": _ports(POSTGRES_PORT)}]))

    redis_to: list[dict[str, Any]] = [ip_block(c) for c in plan.redis_cidrs]
    if plan.redis_in_cluster:
        redis_to.insert(0, {"podSelector": {"matchLabels": SELECTORS[REDIS]}})
        redis_from: list[dict[str, Any]] = [{"podSelector": n8n}]
        if plan.keda_namespace:
            redis_from.append({"namespaceSelector": namespace_selector(plan.keda_namespace)})
        policies.append(_policy("redis-server", ns, {"matchLabels": SELECTORS[REDIS]},
                                ingress=[{"from": redis_from, "ports": _ports(REDIS_PORT)}]))
    if redis_to:
        policies.append(_policy("redis-clients", ns, n8n, egress=[{"to": redis_to, "ports": _ports(REDIS_PORT)}]))

    if plan.patroni_cluster:
        members = spilo_selector(plan.patroni_cluster)
        peer_ports = _ports(POSTGRES_PORT, PATRONI_API_PORT)
        ingress: list[dict[str, Any]] = [
            {"from": [{"podSelector": members}], "ports": peer_ports},
            {"from": [{"podSelector": clients}], "ports": _ports(POSTGRES_PORT)},
        ]
        if plan.patroni_pooler:
            poolers = pooler_selector(plan.patroni_cluster)
            ingress.append({"from": [{"podSelector": poolers}], "ports": _ports(POSTGRES_PORT)})
            policies.append(_policy("pooler", ns, poolers,
                                    ingress=[{"from": [{"podSelector": n8n}], "ports": _ports(POSTGRES_PORT)}],
                                    egress=[{"to": [{"podSelector": members}], "ports": _ports(POSTGRES_PORT)}]))
        if plan.operator_namespace:
            ingress.append({"from": [{"namespaceSelector": namespace_selector(plan.operator_namespace)}],
                            "ports": peer_ports})
        policies.append(_policy("patroni", ns, members, ingress=ingress, egress=[
            {"to": [{"podSelector": members}], "ports": peer_ports},
            {"to": [ip_block("0.0.0.0/0", [LINK_LOCAL])], "ports": _ports(443)},
        ]))

    policies.append(_policy("aws-api", ns, {"matchLabels": dict([AWS_ACCESS_LABEL])},
                            egress=[{"to": [ip_block("0.0.0.0/0", [LINK_LOCAL])], "ports": _ports(443)}]))

    workflow_to = [ip_block("0.0.0.0/0", NON_PUBLIC_CIDRS)] + [ip_block(c) for c in plan.private_egress_cidrs]
    policies.append(_policy("workflow-egress", ns, components_selector(WORKFLOW_RUNNERS),
                            egress=[{"to": workflow_to, "ports": _ports(*plan.egress_ports)}]))

    if plan.monitoring_namespace:
        prometheus = [{"namespaceSelector": namespace_selector(plan.monitoring_namespace)}]
        policies.append(_policy("metrics-n8n", ns, n8n,
                                ingress=[{"from": prometheus, "ports": _ports(names.N8N_PORT)}]))
        if plan.redis_in_cluster:
            policies.append(_policy("metrics-redis", ns, {"matchLabels": SELECTORS[REDIS]},
                                    ingress=[{"from": prometheus, "ports": _ports(REDIS_EXPORTER_PORT)}]))
        if plan.patroni_cluster:
            policies.append(_policy("metrics-patroni", ns, spilo_selector(plan.patroni_cluster), ingress=[
                {"from": prometheus, "ports": _ports(PATRONI_API_PORT, POSTGRES_EXPORTER_PORT)}]))
    return policies


# --- quota --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaWorkload:
    """One workload's share of the namespace budget: its most replicas times its containers' resources."""

    name: str
    """Workload name (for error messages and docs)."""
    max_replicas: int
    """Most pods at once (max replicas, members, ...)."""
    containers: list[ContainerResources]
    """Resources of each container of one pod (``vocabulary.Resources`` or mappings of the same fields)."""


def _cpu(millis: int) -> str:
    return f"{millis}m"


def _mem(nbytes: int) -> str:
    return f"{math.ceil(nbytes / 2**20)}Mi"


def quota_hard(workloads: list[QuotaWorkload], headroom: float = 1.5, extra_pods: int = 10) -> dict[str, str]:
    """ResourceQuota ``hard`` limits: sum over workloads of max replicas x per-pod requests/limits, times ``headroom``.

    Headroom (>= 1) covers rolling-update surge, Jobs and sidecars added later; ``extra_pods`` likewise for the
    pod count.
    """
    if headroom < 1:
        raise ValueError(f"headroom must be >= 1, got {headroom}")
    totals = {"requests.cpu": 0, "limits.cpu": 0, "requests.memory": 0, "limits.memory": 0}
    pods = 0
    for w in workloads:
        if w.max_replicas < 0:
            raise ValueError(f"{w.name}: max_replicas must be >= 0")
        pods += w.max_replicas
        for r in w.containers:
            totals["requests.cpu"] += w.max_replicas * cpu_millis(r.cpu_request)
            totals["limits.cpu"] += w.max_replicas * cpu_millis(r.cpu_limit)
            totals["requests.memory"] += w.max_replicas * quantity_bytes(r.memory_request)
            totals["limits.memory"] += w.max_replicas * quantity_bytes(r.memory_limit)
    hard = {k: (_cpu if k.endswith("cpu") else _mem)(math.ceil(v * headroom)) for k, v in totals.items()}
    hard["pods"] = str(math.ceil(pods * headroom) + extra_pods)
    return hard


def quota_manifest(name: str, namespace: str, hard: dict[str, str]) -> dict[str, Any]:
    """The ResourceQuota."""
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": k8s.metadata(name, namespace, "quota"),
            "spec": {"hard": dict(hard)}}


def limit_range_manifest(name: str, namespace: str, workloads: list[QuotaWorkload]) -> dict[str, Any]:
    """LimitRange: small defaults for containers that set nothing (so the quota admits them), and a per-container
    maximum equal to the largest limit any configured container has (none without workloads: nothing to bound)."""
    resources = [r for w in workloads for r in w.containers]
    cpu_cap = max((cpu_millis(r.cpu_limit) for r in resources), default=math.inf)
    mem_cap = max((quantity_bytes(r.memory_limit) for r in resources), default=math.inf)
    limits: dict[str, Any] = {
        "type": "Container",
        "default": {"cpu": _cpu(min(500, cpu_cap)), "memory": _mem(min(512 * 2**20, mem_cap))},
        "defaultRequest": {"cpu": _cpu(min(100, cpu_cap)), "memory": _mem(min(128 * 2**20, mem_cap))},
    }
    if resources:
        limits["max"] = {"cpu": _cpu(cpu_cap), "memory": _mem(mem_cap)}
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": k8s.metadata(name, namespace, "quota"),
            "spec": {"limits": [limits]}}


# --- component ----------------------------------------------------------------------------------------------------


class PodSecurity(StrEnum):
    """Pod Security Standard level."""

    RESTRICTED = "restricted"
    """Hardened pods only (the default)."""
    BASELINE = "baseline"
    """Minimal restrictions (Spilo pods of the Patroni engine need it)."""
    PRIVILEGED = "privileged"
    """No restriction."""


PodSecurityName = Literal["restricted", "baseline", "privileged"]
"""The values of :class:`PodSecurity`, which Python callers may pass instead of the members (case-sensitive)."""
if TYPE_CHECKING:
    PodSecurityArg = PodSecurity | PodSecurityName
else:  # Pulumi's schema analyzer supports no unions: it sees the enum
    PodSecurityArg = PodSecurity


class N8nNamespaceArgs(TypedDict):
    """The namespace n8n and its in-cluster data layer live in. Only ``name`` and ``network`` are required."""

    name: str
    """Namespace name (a plain value: it names the namespace and its quota objects)."""
    network: NetworkPlan
    """Inputs of the network policies (data CIDRs, Patroni cluster, neighbouring namespaces); its ``namespace``
    must be ``name``."""
    pod_security: NotRequired[PodSecurityArg]
    """Pod Security level *enforced* (default ``restricted``; ``baseline`` when the database engine is patroni: Spilo
    pods set no seccompProfile/capabilities). ``audit`` and ``warn`` stay ``restricted`` regardless."""
    quota_workloads: NotRequired[list[QuotaWorkload]]
    """Workloads at maximum scale, to size the ResourceQuota and LimitRange: each component declares its share
    (``N8nApp.quota(args)``, ``Redis.quota(args)``, ``quota`` of the database modules; the platform sums them).
    Left out: no ResourceQuota, and a LimitRange with container defaults but no maximum, so any pod is admitted."""
    quota_headroom: NotRequired[float]
    """Multiplier (>= 1) over the summed workloads (default 1.5)."""
    protect: NotRequired[bool]
    """Protect the namespace (deleting it deletes every PVC and Secret in it); default false."""
    retain_on_delete: NotRequired[bool]
    """Leave the Namespace (and so everything in it) in the cluster when the component is deleted; default: the
    value of ``protect``."""


class N8nNamespace(pulumi.ComponentResource):
    """The n8n namespace with Pod Security (enforced as configured, audited and warned at `restricted`),
    default-deny network policies and a resource budget. Needs first: nothing. On delete: the Namespace stays when
    ``retain_on_delete``. The Namespace and NetworkPolicy resources are the ``namespace`` and ``policies``
    attributes (Python only): depend on ``namespace`` before creating anything inside."""

    namespace_name: pulumi.Output[str]
    """Name of the namespace."""

    def __init__(self, name: str, args: N8nNamespaceArgs, opts: pulumi.ResourceOptions | None = None):
        # The token was n8n:index:Namespace up to 0.1: the alias keeps existing stacks' namespace (and its children).
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
            aliases=[pulumi.Alias(type_="n8n:index:Namespace")]))
        super().__init__("n8n:index:N8nNamespace", name, None, opts)
        where = "N8nNamespace"
        known(where, args, N8nNamespaceArgs)
        ns = dns_label(where, "name", required(where, args, "name", "the namespace's name"), room=len("-defaults"))
        network = structured(where, "network", NetworkPlan, required(
            where, args, "network", "a NetworkPlan: what the network policies need to know, e.g. NetworkPlan(name)"))
        if network.namespace != ns:
            raise ValueError(f"{where}: argument 'network': network plan is for namespace {network.namespace!r}, not "
                             f"{ns!r}: its namespace must be the argument 'name'")
        declared = quota_workloads(where, args)
        workloads = [_workload(where, i, w) for i, w in enumerate(declared or [])]
        headroom = number(where, "quota_headroom", args.get("quota_headroom", 1.5), 1)
        protect = flag(where, "protect", args.get("protect", False))
        level = member(where, "pod_security", args.get("pod_security", PodSecurity.RESTRICTED), PodSecurity)
        self.namespace = k8s.apply(name, namespace_manifest(ns, str(level)), pulumi.ResourceOptions(
            parent=self, protect=protect, retain_on_delete=retain_on_delete(args, protect, where)))
        inside = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        self.policies = k8s.apply_all(name, network_policies(network), inside)
        if declared is not None:  # without declared workloads there is nothing to size a budget from
            k8s.apply(name, quota_manifest(f"{ns}-budget", ns, quota_hard(workloads, headroom)), inside)
        k8s.apply(name, limit_range_manifest(f"{ns}-defaults", ns, workloads), inside)
        self.namespace_name = pulumi.Output.from_input(ns)
        self.register_outputs({"namespace_name": self.namespace_name})


def quota_workloads(where: str, args: Any) -> list[Any] | None:
    """The ``quota_workloads`` argument; None when it is left out (then no ResourceQuota). An empty list would be a
    quota of zero that admits no pod, and fails."""
    given = args.get("quota_workloads")
    if given is None:
        return None
    plain(where, "quota_workloads", given)
    if not isinstance(given, (list, tuple)) or not given:
        raise refuse(where, "quota_workloads", given, "a non-empty list of QuotaWorkload (a budget of nothing "
                     "admits no pod; leave it out for no ResourceQuota)", TypeError)
    return list(given)


def _workload(where: str, index: int, value: Any) -> QuotaWorkload:
    """A QuotaWorkload with its containers as ``vocabulary.Resources`` (other languages send mappings)."""
    w = structured(where, f"quota_workloads[{index}]", QuotaWorkload, value)
    whole(where, f"quota_workloads[{index}].max_replicas", w.max_replicas, 0)
    if not isinstance(w.containers, (list, tuple)) or not w.containers:
        raise refuse(where, f"quota_workloads[{index}].containers", w.containers, "a non-empty list of container "
                     "resources", TypeError)
    containers = [container_resources(where, f"quota_workloads[{index}].containers[{i}]", c, Resources())
                  for i, c in enumerate(w.containers)]
    return QuotaWorkload(w.name, w.max_replicas, containers)
