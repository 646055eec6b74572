"""The stack settings: one typed, validated model for a whole environment.

This is the only module that reads ``pulumi.Config``. Every key lives in the ``n8n`` config namespace; sections
are structured values (``pulumi config set --path n8n:database.engine patroni``). Defaults are the safe production
choice; ``Pulumi.dev.yaml`` overrides them. :func:`load` raises :class:`SettingsError` listing every problem
(key, value given, what is allowed) before any resource is registered.

The sections a component takes are declared by that component's package (``n8n/spec.py``, ``database/spec.py``,
``redis/spec.py``, ``edge/spec.py``, ``observability/spec.py``, ``autoscaling.py``), with their defaults, and are
composed here; this module adds the stack-wide sections and the rules that span sections. No component imports it:
:mod:`.platform` turns a Settings into each component's Args.
"""

# No `from __future__ import annotations` here, as in the spec modules: the settings parser reads the annotations
# with typing.get_type_hints, and Pulumi's schema analyzer reads those the components' Args share at run time.
import dataclasses
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .autoscaling import AutoscalingSettings
from .database.spec import BackupSettings, DatabaseSettings
from .edge.spec import EdgeSettings, alb_certificate_problem
from .n8n.spec import N8nSettings, multi_main_problem
from .observability.spec import AlertThresholds
from .partition import partition_of_region
from .redis.spec import RedisSettings
from .schema import (
    DNS_LABEL,
    HIDDEN,
    Problem,
    Section,
    SettingsError,
    at_least,
    between,
    camel,
    cpu_millis,
    each,
    matches,
    non_empty,
    parse,
    quantity_bytes,
    setting,
)
from .vocabulary import SUBNET_ID, cidr

NAMESPACE = "n8n"
"""The Pulumi config namespace (the project name) all settings live in."""

SPOT_SAFE_SHUTDOWN_SECONDS = 100
"""Longest graceful shutdown that still ends inside a spot node's two-minute notice (grace = shutdown + 15 s)."""

INSTANCE_TYPE = matches(r"[a-z][a-z0-9-]*\.[a-z0-9]+", "an EC2 instance type such as m6i.large")
GRAVITON = re.compile(r"[a-z]+[0-9]+[a-z]*g[a-z]*\.")
"""Arm (Graviton) families: m7g, c6gn, r7gd, t4g... The worker pool runs the x86_64 AMI."""


@dataclass(frozen=True, kw_only=True)
class AwsSettings(Section):
    """Where in AWS the stack runs."""

    region: str = setting("AWS region of the cluster and every AWS resource.", check=matches(
        r"[a-z]{2}(-gov)?-[a-z]+-[0-9]", "an AWS region such as eu-west-1"))
    account_id: str | None = setting(
        "Account guard: when set, the program refuses to run with credentials of any other account.", None,
        check=matches(r"[0-9]{12}", "a 12-digit AWS account id"))
    tags: dict[str, str] = setting("Tags added to every AWS resource.", {})


@dataclass(frozen=True, kw_only=True)
class ClusterSettings(Section):
    """The Kubernetes cluster (and, on EKS, its VPC) the stack deploys into: an existing one, or one it creates."""

    name: str | None = setting("Name of the existing EKS cluster; its endpoint, CA and OIDC issuer are looked up.",
                               None, check=non_empty)
    kubeconfig: str | None = setting(
        "Path to a kubeconfig to use instead of an EKS lookup (any cluster; AWS-only features then need "
        "`cluster.name` unset and stay off).", None, check=non_empty)
    context: str | None = setting("kubeconfig context to use with `cluster.kubeconfig`.", None, check=non_empty)
    vpc_id: str | None = setting("VPC of the EKS cluster (security groups for RDS and ElastiCache).", None,
                                 check=matches(r"vpc-[0-9a-f]{8,17}", "a VPC id such as vpc-0a1b2c3d"))
    vpc_cidr: str | None = setting("CIDR of that VPC; network policies open only 5432 and 6379 towards it (RDS, "
                                   "ElastiCache).", None, check=matches(r"[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}",
                                                                        "an IPv4 CIDR such as 10.0.0.0/16"))
    private_subnet_ids: list[str] = setting("Private subnets for the data layer and the worker pool (one per AZ).",
                                            [], check=each(SUBNET_ID))
    node_security_group_id: str | None = setting(
        "Security group of the cluster's nodes; the only source admitted to RDS and ElastiCache.", None,
        check=matches(r"sg-[0-9a-f]{8,17}", "a security group id such as sg-0a1b2c3d"))
    kubernetes_version: str = setting("Kubernetes minor version of the cluster (manifests are validated for it).",
                                      "1.33", check=matches(r"1\.[0-9]{2}", "a minor version such as 1.33"))
    create: bool = setting("Create the VPC and the EKS cluster `cluster.name` (an empty account): `vpcCidr`, the "
                           "AZ count, `kubernetesVersion` and the system nodes below shape them; `vpcId`, "
                           "`privateSubnetIds` and `nodeSecurityGroupId` then come from what is created.", False)
    availability_zones: int = setting("Availability zones the created VPC spans (`cluster.create`).", 3,
                                      check=between(2, 3))
    system_node_instance_type: str = setting("Instance type of the created cluster's on-demand system node group "
                                             "(add-ons and n8n main; `cluster.create`).", "m6i.large",
                                             check=INSTANCE_TYPE)
    system_nodes: int = setting("Nodes of that system node group (it may grow to twice as many).", 2,
                                check=between(1, 10))
    public_access_cidrs: list[str] = setting(
        "Sources allowed to the created cluster's public API endpoint (where `pulumi up` runs from); empty: the "
        "endpoint is private only (run from inside the VPC).", [], check=each(cidr))
    admin_role_arns: list[str] = setting("IAM roles given cluster-admin through EKS access entries (the identity "
                                         "that creates the cluster always is).", [],
                                         check=each(matches(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/\S+",
                                                            "an IAM role ARN")))


@dataclass(frozen=True, kw_only=True)
class WorkerPoolSettings(Section):
    """The EKS managed node group on spot capacity dedicated to n8n workers."""

    enabled: bool = setting("Create the spot node group (needs `cluster.name`).", True)
    instance_types: list[str] = setting(
        "Several instance types of similar size, for spot availability.",
        ["m6i.xlarge", "m6a.xlarge", "m7i.xlarge", "m5.xlarge"], check=each(INSTANCE_TYPE))
    min_nodes: int = setting("Fewest nodes.", 1, check=at_least(0))
    max_nodes: int = setting("Most nodes.", 10, check=at_least(1))
    desired_nodes: int = setting("Nodes at creation (later driven by the cluster autoscaler).", 2, check=at_least(0))
    disk_size_gb: int = setting("Encrypted gp3 root volume size.", 50, check=between(20, 1000))


@dataclass(frozen=True, kw_only=True)
class AddonSettings(Section):
    """Cluster add-ons the stack installs; turn one off when the cluster already has it."""

    cert_manager: bool = setting("cert-manager with a public ACME ClusterIssuer and an internal CA issuer.", True)
    keda: bool = setting("KEDA, for queue-depth autoscaling.", True)
    aws_load_balancer_controller: bool = setting("AWS Load Balancer Controller (edge controller `alb`).", True)
    postgres_operator: bool = setting("Zalando postgres-operator (database engine `patroni`).", True)
    envoy_gateway: bool = setting("Envoy Gateway with the Gateway API CRDs (edge controller `gateway`).", True)
    prometheus_operator_crds: bool = setting("Prometheus Operator CRDs (ServiceMonitor, PrometheusRule).", True)


@dataclass(frozen=True, kw_only=True)
class ObservabilitySettings(Section):
    """Metrics scraping, alert rules and dashboards."""

    enabled: bool = setting("ServiceMonitors, PrometheusRules and dashboards.", True)
    prometheus_release: str = setting("Value of the `release` label kube-prometheus-stack selects on.",
                                      "kube-prometheus-stack", check=non_empty)
    runbook_url: str = setting("Where your team publishes docs/operations.md; every alert's runbook_url is this plus "
                               "the alert's anchor.", "docs/operations.md", check=non_empty)
    grafana_folder: str = setting("Grafana folder the dashboard sidecar files the n8n dashboard under.", "n8n",
                                  check=non_empty)
    alarm_emails: list[str] = setting("E-mail addresses subscribed to the CloudWatch alarms' SNS topic (each must "
                                      "confirm once).", [], check=each(matches(r"[^@\s]+@[^@\s]+",
                                                                               "an e-mail address")))
    thresholds: AlertThresholds = setting("When alerts and alarms fire.", AlertThresholds())
    redis_exporter_image: str = setting("redis_exporter sidecar of in-cluster Redis, pinned (the e2e proves the rules "
                                        "on this version).", "quay.io/oliver006/redis_exporter:v1.45.0-alpine",
                                        check=non_empty)
    postgres_exporter_image: str = setting("postgres_exporter sidecar of every Patroni member, pinned.",
                                           "quay.io/prometheuscommunity/postgres-exporter:v0.11.1", check=non_empty)


class Environment(StrEnum):
    """Kind of environment a stack is (``environment``): prod adds rules (HA members, WAF, Multi-AZ nodes)."""

    DEV = "dev"
    """Development."""
    PROD = "prod"
    """Production."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything one stack (environment) is built from."""

    environment: Environment = setting("`dev` or `prod`; `prod` adds rules (three Patroni members, two ElastiCache "
                                        "nodes, WAF on the ALB).")
    aws: AwsSettings = setting("AWS region, account guard and tags.")
    cluster: ClusterSettings = setting("The cluster to deploy into: an existing one, or one the stack creates.",
                                       ClusterSettings())
    namespace: str = setting("Kubernetes namespace of n8n and its data layer.", "n8n", check=DNS_LABEL)
    n8n: N8nSettings = setting("The n8n application.", N8nSettings())
    database: DatabaseSettings = setting("PostgreSQL.", DatabaseSettings())
    redis: RedisSettings = setting("Redis.", RedisSettings())
    edge: EdgeSettings = setting("Hostname, TLS, rate limits.")
    backups: BackupSettings = setting("WAL archive and dumps.", BackupSettings())
    worker_pool: WorkerPoolSettings = setting("Spot node group for workers.", WorkerPoolSettings())
    autoscaling: AutoscalingSettings = setting("Worker autoscaling.", AutoscalingSettings())
    addons: AddonSettings = setting("Cluster add-ons.", AddonSettings())
    observability: ObservabilitySettings = setting("Monitoring.", ObservabilitySettings())
    protect: bool = setting("Protect stateful resources (databases, buckets, keys, volumes) from deletion.", True)
    encryption_key: str | None = setting(
        "Existing `N8N_ENCRYPTION_KEY` when migrating an n8n instance (secret); generated when unset.", None,
        secret=True, check=lambda v: None if len(v) >= 32 else "must be at least 32 characters")
    license_activation_key: str | None = setting("n8n license activation key (secret); required by multiMain.", None,
                                                 secret=True, check=non_empty)
    oidc_client_secret: str | None = setting("Client secret of `edge.oidc` (secret); required with it.", None,
                                             secret=True, check=non_empty)

    @property
    def on_eks(self) -> bool:
        """True when the stack looks up an EKS cluster (AWS-side features available)."""
        return self.cluster.name is not None


def cross_field_problems(s: Settings) -> list[Problem]:
    """Rules that involve more than one key."""
    problems: list[Problem] = []

    def bad(key: str, value: Any, allowed: str) -> None:
        problems.append(Problem(key, value, allowed))

    if not s.cluster.create and (s.cluster.name is None) == (s.cluster.kubeconfig is None):
        bad("cluster.name", s.cluster.name, "set exactly one of cluster.name (EKS lookup) and cluster.kubeconfig")
    problems.extend(created_cluster_problems(s))
    if s.cluster.context and not s.cluster.kubeconfig:
        bad("cluster.context", s.cluster.context, "only valid together with cluster.kubeconfig")
    aws_data = s.database.engine == "rds" or s.redis.mode == "elasticache"
    c = s.cluster
    byo_network = c.vpc_id and c.vpc_cidr and c.private_subnet_ids and c.node_security_group_id
    if aws_data and not c.create and not byo_network:
        bad("cluster.vpcId", s.cluster.vpc_id, "database.engine 'rds' and redis.mode 'elasticache' need "
            "cluster.vpcId, cluster.vpcCidr, cluster.privateSubnetIds and cluster.nodeSecurityGroupId")
    if aws_data and not s.on_eks:
        bad("cluster.name", s.cluster.name, "RDS and ElastiCache are created only for an EKS cluster (cluster.name)")
    if why := multi_main_problem(s.n8n.multi_main, s.license_activation_key is not None):
        bad("n8n.multiMain", True, f"{why}: set the secret n8n:licenseActivationKey")
    if not s.n8n.multi_main and s.n8n.main.replicas != 1:
        bad("n8n.main.replicas", s.n8n.main.replicas, "must be 1 unless n8n.multiMain is true (licensed)")
    if s.n8n.multi_main and s.n8n.main.replicas < 2:
        bad("n8n.main.replicas", s.n8n.main.replicas, "multi-main needs at least 2 replicas")
    for role in ("main", "webhook"):
        r = getattr(s.n8n, role)
        if r.max_replicas < r.replicas:
            bad(f"n8n.{role}.maxReplicas", r.max_replicas, f"must be at least n8n.{role}.replicas ({r.replicas})")
    w = s.n8n.worker
    if w.min_replicas > w.max_replicas:
        bad("n8n.worker.minReplicas", w.min_replicas, f"must not exceed n8n.worker.maxReplicas ({w.max_replicas})")
    _resource_problems(s, bad)
    if s.database.schema == "public":
        bad("database.schema", "public", "must be a dedicated schema; n8n's role owns it and nothing else")
    rds = s.database.rds
    if rds.max_allocated_storage_gb is not None and rds.max_allocated_storage_gb < rds.allocated_storage_gb:
        bad("database.rds.maxAllocatedStorageGb", rds.max_allocated_storage_gb,
            f"must be at least database.rds.allocatedStorageGb ({rds.allocated_storage_gb})")
    pat = s.database.patroni
    if s.database.engine == "patroni":
        if pat.synchronous and pat.members < 2:
            bad("database.patroni.synchronous", True, "synchronous replication needs database.patroni.members >= 2")
        if pat.restore is not None and pat.restore.source_cluster == pat.cluster_name:
            bad("database.patroni.restore.sourceCluster", pat.restore.source_cluster,
                "must differ from database.patroni.clusterName: restore into a new cluster so both keep their archive")
        if pat.restore is not None and not s.on_eks:
            bad("database.patroni.restore", "(set)",
                "restoring from the WAL archive needs an EKS cluster (cluster.name)")
        if pat.members == 1:
            bad("database.patroni.members", 1, "must be 2 or more: the operator's PodDisruptionBudget keeps the "
                "primary (minAvailable 1), which a single member can never satisfy, so node drains would block")
        if s.environment == "prod" and pat.members < 3:
            bad("database.patroni.members", pat.members, "prod needs 3 or more members: with 2, one failover "
                "or node drain leaves no standby")
    if s.redis.mode == "elasticache" and s.environment == "prod" and s.redis.elasticache.nodes < 2:
        bad("redis.elasticache.nodes", s.redis.elasticache.nodes, "prod needs 2 or more nodes for Multi-AZ failover")
    _edge_problems(s, bad)
    if s.edge.controller == "gateway" and not s.edge.acme_email:
        bad("edge.acmeEmail", None, "edge.controller 'gateway' issues certificates with ACME: set a contact e-mail")
    if s.edge.controller == "alb" and not s.on_eks:
        bad("edge.controller", "alb", "the AWS Load Balancer Controller needs an EKS cluster (cluster.name)")
    pool = s.worker_pool
    if pool.enabled:
        if not s.on_eks:
            bad("workerPool.enabled", True, "the spot node group needs an EKS cluster (cluster.name)")
        if not s.cluster.private_subnet_ids and not s.cluster.create:
            bad("cluster.privateSubnetIds", [], "the spot worker pool needs subnets")
        arm = [t for t in pool.instance_types if GRAVITON.match(t)]
        if arm:
            bad("workerPool.instanceTypes", pool.instance_types,
                f"x86_64 instance types only (the node group uses the x86_64 AMI); Graviton types given: {arm}")
        if len(set(pool.instance_types)) < 3:
            bad("workerPool.instanceTypes", pool.instance_types,
                "list 3 or more distinct instance types of similar size (spot capacity diversification)")
        if s.n8n.graceful_shutdown_seconds > SPOT_SAFE_SHUTDOWN_SECONDS:
            bad("n8n.gracefulShutdownSeconds", s.n8n.graceful_shutdown_seconds,
                f"at most {SPOT_SAFE_SHUTDOWN_SECONDS} with the spot worker pool: a worker's grace period "
                "(shutdown + 15 s) must end inside the two-minute spot interruption notice")
        if not pool.min_nodes <= pool.desired_nodes <= pool.max_nodes:
            bad("workerPool.desiredNodes", pool.desired_nodes,
                f"must lie between workerPool.minNodes ({pool.min_nodes}) and workerPool.maxNodes ({pool.max_nodes})")
    replica = s.backups.replica_region
    if replica is not None and replica == s.aws.region:
        bad("backups.replicaRegion", replica, f"must differ from aws.region ({s.aws.region}): a replica in the same "
            "region does not survive its loss")
    if replica is not None and not s.on_eks:
        bad("backups.replicaRegion", replica, "the backup buckets exist only on AWS (cluster.name)")
    if replica is not None and partition_of_region(replica) != partition_of_region(s.aws.region):
        bad("backups.replicaRegion", replica, f"must be in the partition of aws.region ({s.aws.region})")
    if s.autoscaling.cooldown_seconds <= s.n8n.graceful_shutdown_seconds:
        bad("autoscaling.cooldownSeconds", s.autoscaling.cooldown_seconds,
            f"must exceed n8n.gracefulShutdownSeconds ({s.n8n.graceful_shutdown_seconds})")
    return problems


CREATED_CLUSTER_VERSIONS = ("1.34", "1.35")
"""Kubernetes versions a created cluster may start on: in EKS standard support (1.33 is in extended support, at
extra cost) and within the range the manifests are validated for (tools/ci/gates.py). Revisit with each EKS release."""

CREATED_VPC_PREFIXES = (16, 20)
"""Prefix lengths a created VPC may have: a /20 still gives each private subnet a /22 (the VPC CNI gives every pod a
VPC address)."""


def created_cluster_problems(s: Settings) -> list[Problem]:
    """The rules of ``cluster.create``: a name and a CIDR to create, and none of the ids it will produce."""
    c = s.cluster
    if not c.create:
        return []
    problems: list[Problem] = []
    if c.name is None:
        problems.append(Problem("cluster.name", None, "cluster.create needs the name of the EKS cluster to create"))
    if c.kubeconfig is not None:
        problems.append(Problem("cluster.kubeconfig", c.kubeconfig, "must be unset with cluster.create (the stack "
                                "reaches the cluster it creates through EKS)"))
    for key, value in (("cluster.vpcId", c.vpc_id), ("cluster.nodeSecurityGroupId", c.node_security_group_id),
                       ("cluster.privateSubnetIds", c.private_subnet_ids or None)):
        if value is not None:
            problems.append(Problem(key, value, "must be unset with cluster.create: it comes from the created VPC"))
    low, high = CREATED_VPC_PREFIXES
    if c.vpc_cidr is None or not low <= int(c.vpc_cidr.split("/")[1]) <= high:
        problems.append(Problem("cluster.vpcCidr", c.vpc_cidr, f"cluster.create needs the IPv4 CIDR of the VPC to "
                                f"create, a /{low} to a /{high} such as 10.30.0.0/16"))
    elif cidr(c.vpc_cidr) is not None:
        problems.append(Problem("cluster.vpcCidr", c.vpc_cidr, "must be a CIDR with zero host bits"))
    if c.kubernetes_version not in CREATED_CLUSTER_VERSIONS:
        problems.append(Problem("cluster.kubernetesVersion", c.kubernetes_version,
                                f"a created cluster starts on one of {', '.join(CREATED_CLUSTER_VERSIONS)}"))
    if GRAVITON.match(c.system_node_instance_type):
        problems.append(Problem("cluster.systemNodeInstanceType", c.system_node_instance_type,
                                "an x86_64 instance type (the system node group uses the x86_64 AMI)"))
    for source in c.public_access_cidrs:
        if source.endswith("/0"):
            problems.append(Problem("cluster.publicAccessCidrs", c.public_access_cidrs,
                                    f"must not contain {source}: name the networks `pulumi up` runs from"))
    return problems


def _edge_problems(s: Settings, bad: Any) -> None:
    e = s.edge
    if e.controller == "alb" and (why := alb_certificate_problem(e.certificate_arn, e.zone_id)):
        bad("edge.certificateArn", None, f"edge.controller 'alb': {why}: set edge.certificateArn, or edge.zoneId to "
            "have the stack request one")
    if e.controller == "alb" and not (e.subnet_cidrs or s.cluster.vpc_cidr):
        bad("edge.subnetCidrs", [], "edge.controller 'alb' sends traffic from its subnets to the pods: set "
            "edge.subnetCidrs or cluster.vpcCidr so the network policy can admit it")
    if e.controller == "gateway" and e.zone_id:
        bad("edge.zoneId", e.zone_id, "only with edge.controller 'alb' (the gateway's certificate comes from ACME)")
    if e.oidc is not None and e.controller != "alb":
        bad("edge.oidc", "(set)", "OIDC in front of the editor needs edge.controller 'alb' (authenticate-oidc)")
    if e.oidc is not None and not s.oidc_client_secret:
        bad("oidcClientSecret", None, "edge.oidc needs its client secret: pulumi config set --secret "
            "n8n:oidcClientSecret ...")
    if s.oidc_client_secret and e.oidc is None:
        bad("oidcClientSecret", HIDDEN, "only valid together with edge.oidc")
    if e.controller == "alb" and e.editor_allowed_cidrs and not e.waf:
        bad("edge.editorAllowedCidrs", e.editor_allowed_cidrs, "on the ALB the allow-list is a WAF rule scoped to "
            "the editor paths: set edge.waf true (an ALB-wide CIDR list would also lock out webhooks)")
    if s.environment == "prod" and e.controller == "alb" and not e.waf:
        bad("edge.waf", False, "prod needs the WAF (rate limits on login and API, managed rule groups)")
    r = e.rate_limits
    if not r.login_per_minute <= r.api_per_minute <= r.webhook_per_minute:
        bad("edge.rateLimits", {"loginPerMinute": r.login_per_minute, "apiPerMinute": r.api_per_minute,
                                "webhookPerMinute": r.webhook_per_minute},
            "must be ordered loginPerMinute <= apiPerMinute <= webhookPerMinute")


def _resource_problems(s: Settings, bad: Any) -> None:
    """A request above its limit can never be scheduled as written; name the container."""
    containers = {
        "n8n.main.resources": s.n8n.main.resources,
        "n8n.webhook.resources": s.n8n.webhook.resources,
        "n8n.worker.resources": s.n8n.worker.resources,
        "n8n.runners": s.n8n.runners,
        "database.patroni.resources": s.database.patroni.resources,
        "database.pooler.resources": s.database.pooler.resources,
    }
    for key, r in containers.items():
        if cpu_millis(r.cpu_request) > cpu_millis(r.cpu_limit):
            bad(f"{key}.cpuRequest", r.cpu_request, f"must not exceed {key}.cpuLimit ({r.cpu_limit})")
        if quantity_bytes(r.memory_request) > quantity_bytes(r.memory_limit):
            bad(f"{key}.memoryRequest", r.memory_request, f"must not exceed {key}.memoryLimit ({r.memory_limit})")
        if quantity_bytes(r.memory_limit) < 256 * 2**20 and key.startswith("n8n.") and key != "n8n.runners":
            bad(f"{key}.memoryLimit", r.memory_limit, "n8n needs at least 256Mi")


def from_config(raw: dict[str, Any]) -> Settings:
    """Settings from the raw config of the ``n8n`` namespace (keys without the ``n8n:`` prefix).

    Raises SettingsError with every problem found; nothing is built from invalid settings.
    """
    problems: list[Problem] = []
    settings = parse(Settings, raw, "", problems)
    if settings is not None:
        problems.extend(cross_field_problems(settings))
    if problems:
        raise SettingsError([dataclasses.replace(p, key=f"{NAMESPACE}:{p.key}") for p in problems])
    return settings


def secret_keys() -> list[str]:
    """Top-level config keys that hold secrets (stack files must use `secure:` for them)."""
    return [camel(f.name) for f in dataclasses.fields(Settings) if f.metadata.get("secret")]


def load() -> Settings:
    """Read and validate the ``n8n`` config namespace of the current stack (the only reader of Pulumi config).

    Secret values arrive as plain text here; the components that use them wrap them in ``Output.secret``.
    """
    from pulumi.runtime import config as runtime_config

    prefix = f"{NAMESPACE}:"
    raw: dict[str, Any] = {}
    every = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    for full_key, text in every.items():
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix):]
        if key.startswith("config:"):  # pulumi's legacy `n8n:config:key` form
            key = key[len("config:"):]
        raw[key] = _decode(text)
    return from_config(raw)


def _decode(text: str) -> Any:
    """Pulumi hands structured values over as JSON text and scalars as plain text."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return text
    return value if isinstance(value, (dict, list)) else text
