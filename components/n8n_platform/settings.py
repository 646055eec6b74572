"""The stack settings: one typed, validated model for a whole environment.

This is the only module that reads ``pulumi.Config``. Every key lives in the ``n8n`` config namespace; sections
are structured values (``pulumi config set --path n8n:database.engine patroni``). Defaults are the safe production
choice; ``Pulumi.dev.yaml`` overrides them. :func:`load` raises :class:`SettingsError` listing every problem
(key, value given, what is allowed) before any resource is registered.
"""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads DatabaseSettings' annotations at run
# time (RdsDatabase and PatroniDatabase take it); the settings parser reads them with typing.get_type_hints either way.
import dataclasses
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from .cluster import partition_of_region
from .schema import (
    CPU,
    CRON,
    DNS_LABEL,
    HIDDEN,
    MEMORY,
    Problem,
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

NAMESPACE = "n8n"
"""The Pulumi config namespace (the project name) all settings live in."""

N8N_VERSION = "2.40.7"
"""The n8n version the real-n8n end-to-end test runs; the default image tag, so what we deploy is what we proved."""

N8N_VERSION_PATTERN = r"2\.[0-9]+\.[0-9]+"
"""An n8n 2.x release, pinned (``2.40.7``): what ``n8n.version`` and N8nApp's ``version`` accept."""

SPOT_SAFE_SHUTDOWN_SECONDS = 100
"""Longest graceful shutdown that still ends inside a spot node's two-minute notice (grace = shutdown + 15 s)."""

def cidr(value: str) -> str | None:
    """An IPv4 or IPv6 network in CIDR notation, host bits zero."""
    import ipaddress

    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        return "must be a CIDR with zero host bits, such as 203.0.113.0/24 or 2001:db8::/32"
    return None if "/" in value else "must be a CIDR with a prefix length, such as 203.0.113.0/24"


SUBNET_ID = matches(r"subnet-[0-9a-f]{8,17}", "an EC2 subnet id such as subnet-0a1b2c3d4e5f60718")
INSTANCE_TYPE = matches(r"[a-z][a-z0-9-]*\.[a-z0-9]+", "an EC2 instance type such as m6i.large")
GRAVITON = re.compile(r"[a-z]+[0-9]+[a-z]*g[a-z]*\.")
"""Arm (Graviton) families: m7g, c6gn, r7gd, t4g... The worker pool runs the x86_64 AMI."""


@dataclass(frozen=True, kw_only=True)
class Resources:
    """CPU and memory requests and limits of one container."""

    cpu_request: str = setting("CPU the scheduler reserves.", "250m", check=CPU)
    cpu_limit: str = setting("CPU ceiling; throttled above it.", "1", check=CPU)
    memory_request: str = setting("Memory the scheduler reserves.", "512Mi", check=MEMORY)
    memory_limit: str = setting("Memory ceiling; the container is OOM-killed above it.", "1Gi", check=MEMORY)


def resources(cpu_request: str, cpu_limit: str, memory_request: str, memory_limit: str) -> Resources:
    return Resources(cpu_request=cpu_request, cpu_limit=cpu_limit, memory_request=memory_request,
                     memory_limit=memory_limit)


@dataclass(frozen=True, kw_only=True)
class AwsSettings:
    """Where in AWS the stack runs."""

    region: str = setting("AWS region of the cluster and every AWS resource.", check=matches(
        r"[a-z]{2}(-gov)?-[a-z]+-[0-9]", "an AWS region such as eu-west-1"))
    account_id: str | None = setting(
        "Account guard: when set, the program refuses to run with credentials of any other account.", None,
        check=matches(r"[0-9]{12}", "a 12-digit AWS account id"))
    tags: dict[str, str] = setting("Tags added to every AWS resource.", {})


@dataclass(frozen=True, kw_only=True)
class ClusterSettings:
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
class RoleSettings:
    """Replicas and resources of one n8n role (main or webhook processors)."""

    replicas: int = setting("Replicas (the minimum when autoscaled).", 1, check=at_least(0))
    max_replicas: int = setting("Upper bound for the HorizontalPodAutoscaler (webhook processors).", 1,
                                check=at_least(1))
    resources: Resources = setting("Container resources.", Resources())


@dataclass(frozen=True, kw_only=True)
class WorkerSettings:
    """The worker pool that runs executions."""

    min_replicas: int = setting("Fewest workers; KEDA never scales below it.", 3, check=at_least(0))
    max_replicas: int = setting("Most workers; KEDA never scales above it.", 20, check=at_least(1))
    concurrency: int = setting("Executions one worker runs at once (`n8n worker --concurrency`); 5 or more.", 10,
                               check=between(5, 200))
    resources: Resources = setting("Container resources.", resources("500m", "2", "1Gi", "2Gi"))


class LogLevel(StrEnum):
    """n8n log level (``N8N_LOG_LEVEL``)."""

    ERROR = "error"
    """Errors only."""
    WARN = "warn"
    """Warnings and errors."""
    INFO = "info"
    """Normal operation."""
    DEBUG = "debug"
    """Everything (verbose)."""


LogLevelName = Literal["error", "warn", "info", "debug"]
"""The values of :class:`LogLevel`, which Python callers may pass instead of the members (case-sensitive)."""
if TYPE_CHECKING:
    LogLevelArg = LogLevel | LogLevelName
else:  # Pulumi's schema analyzer supports no unions: it sees the enum
    LogLevelArg = LogLevel


@dataclass(frozen=True, kw_only=True)
class N8nSettings:
    """The n8n application: version, roles, runners and execution-data policy."""

    version: str = setting("n8n version; the tag of both the n8n and the n8nio/runners images.", N8N_VERSION,
                           check=matches(N8N_VERSION_PATTERN, "an n8n 2.x release such as 2.40.7 (pinned)"))
    image: str = setting("n8n image repository.", "docker.n8n.io/n8nio/n8n", check=non_empty)
    runners_image: str = setting("External task-runner image repository (same tag as n8n).",
                                 "docker.n8n.io/n8nio/runners", check=non_empty)
    multi_main: bool = setting("Run several mains (leader election). Needs an Enterprise license in "
                               "`n8n:licenseActivationKey`.", False)
    main: RoleSettings = setting("The main process: editor, REST API, triggers and timers.",
                                 RoleSettings(replicas=1, max_replicas=1,
                                              resources=resources("500m", "2", "1Gi", "2Gi")))
    webhook: RoleSettings = setting("Webhook processors: receive production webhooks and enqueue them.",
                                    RoleSettings(replicas=2, max_replicas=10,
                                                 resources=resources("250m", "1", "512Mi", "1Gi")))
    worker: WorkerSettings = setting("Workers: run the queued executions.", WorkerSettings())
    runners: Resources = setting("The n8nio/runners sidecar next to every worker (the only role that runs code).",
                                 resources("100m", "1", "256Mi", "512Mi"))
    graceful_shutdown_seconds: int = setting(
        "`N8N_GRACEFUL_SHUTDOWN_TIMEOUT`: how long a stopping process lets running executions finish.", 60,
        check=between(10, 3600))
    execution_max_age_hours: int = setting("Prune execution data older than this (`EXECUTIONS_DATA_MAX_AGE`).", 336,
                                           check=at_least(1))
    execution_max_count: int = setting("Keep at most this many executions (`EXECUTIONS_DATA_PRUNE_MAX_COUNT`).",
                                       50000, check=at_least(100))
    timezone: str = setting("`GENERIC_TIMEZONE` for schedule triggers.", "UTC", check=non_empty)
    log_level: LogLevel = setting("`N8N_LOG_LEVEL`.", LogLevel.INFO)


@dataclass(frozen=True, kw_only=True)
class RdsProxySettings:
    """The RDS Proxy n8n connects through (engine `rds`, with `database.pooler.enabled`)."""

    borrow_timeout_seconds: int = setting(
        "How long a query waits for a database connection before it fails (`ConnectionBorrowTimeout`): long enough "
        "to ride out a Multi-AZ failover (60-120 s).", 120, check=between(1, 300))
    max_connections_percent: int = setting("Share of the instance's `max_connections` the proxy may open.", 90,
                                           check=between(1, 100))
    idle_client_timeout_seconds: int = setting("A client connection idle this long is closed by the proxy.", 1800,
                                               check=between(60, 28800))


@dataclass(frozen=True, kw_only=True)
class RdsSettings:
    """Amazon RDS for PostgreSQL (engine `rds`)."""

    engine_version: str = setting(
        "PostgreSQL major version (16 or 17). RDS applies minor versions itself (auto minor version upgrade), so a "
        "pinned minor would fight the upgraded instance on the next refresh.", "17",
        check=lambda v: None if v in ("16", "17") else "must be '16' or '17' (the major version only)")
    instance_class: str = setting("DB instance class.", "db.m7g.large",
                                  check=matches(r"db\.[a-z0-9]+\.[a-z0-9]+", "an RDS class such as db.m7g.large"))
    allocated_storage_gb: int = setting("Initial gp3 storage.", 100, check=between(20, 65536))
    max_allocated_storage_gb: int | None = setting("Storage autoscaling ceiling; default twice the allocation.", None,
                                                   check=between(20, 65536))
    multi_az: bool = setting("Standby in a second AZ with automatic failover.", True)
    backup_retention_days: int = setting("Automated backups and point-in-time recovery window.", 14,
                                         check=between(1, 35))
    performance_insights_retention_days: int = setting("Performance Insights retention (7, 731 or a multiple of 31).",
                                                       7, check=lambda v: None if v in (7, 731) or v % 31 == 0
                                                       else "must be 7, 731 or a multiple of 31")
    monitoring_interval_seconds: int = setting("Enhanced Monitoring interval.", 60,
                                               check=lambda v: None if v in (1, 5, 10, 15, 30, 60)
                                               else "must be one of 1, 5, 10, 15, 30, 60")
    proxy: RdsProxySettings = setting("The RDS Proxy between n8n and the instance (with `database.pooler.enabled`).",
                                      RdsProxySettings())


@dataclass(frozen=True, kw_only=True)
class PitrRestore:
    """Bootstrap a new Patroni cluster from the WAL archive of another one, at a point in time."""

    source_cluster: str = setting("Name of the Patroni cluster whose archive to restore from.", check=DNS_LABEL)
    target_time: str = setting("Recover up to this moment (RFC 3339 with zone, e.g. 2026-11-20T03:00:00+00:00).",
                               check=matches(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)",
                                             "an RFC 3339 timestamp with a time zone"))


@dataclass(frozen=True, kw_only=True)
class PatroniSettings:
    """In-cluster PostgreSQL run by the Zalando postgres-operator (Spilo: Patroni + WAL-G) (engine `patroni`)."""

    cluster_name: str = setting("Name of the Zalando `postgresql` cluster (starts with `n8n-`, the operator's team "
                                "id); a point-in-time restore goes into a new name.", "n8n-postgres",
                                check=matches(r"n8n-[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?",
                                              "a DNS label starting with n8n- such as n8n-postgres"))
    members: int = setting("PostgreSQL members (1 primary + replicas); 3 for production HA.", 3, check=between(1, 9))
    postgres_version: str = setting("PostgreSQL major version.", "17",
                                    check=lambda v: None if v in ("16", "17") else "must be '16' or '17'")
    synchronous: bool = setting("Synchronous replication: a commit waits for one standby (no acked-write loss).",
                                True)
    volume_size: str = setting("Data volume size per member.", "50Gi", check=MEMORY)
    storage_class: str = setting("StorageClass of the data volumes.", "gp3", check=non_empty)
    resources: Resources = setting("Resources of each PostgreSQL pod.", resources("500m", "2", "2Gi", "4Gi"))
    base_backup_schedule: str = setting("Cron schedule of WAL-G base backups.", "0 1 * * *", check=CRON)
    base_backups_to_retain: int = setting("Base backups WAL-G keeps.", 7, check=between(1, 100))
    restore: PitrRestore | None = setting("Point-in-time restore used when the cluster is first created.", None)


@dataclass(frozen=True, kw_only=True)
class PoolerSettings:
    """Connection pooler between n8n and PostgreSQL (PgBouncer for patroni, RDS Proxy for rds): n8n's connections
    stay open while the server restarts or fails over, and their queries wait for it instead of failing."""

    enabled: bool = setting("n8n reaches PostgreSQL through the engine's connection pooler.", True)
    instances: int = setting("PgBouncer pods in front of the Patroni primary (engine `patroni`; RDS Proxy scales "
                             "itself); 2 or more so a node drain keeps one.", 2, check=between(1, 10))
    resources: Resources = setting("Resources of each PgBouncer pod (engine `patroni`).",
                                   resources("100m", "1", "64Mi", "128Mi"))


class DatabaseEngine(StrEnum):
    """Which PostgreSQL n8n uses (``database.engine``)."""

    RDS = "rds"
    """Amazon RDS for PostgreSQL (managed, Multi-AZ)."""
    PATRONI = "patroni"
    """In-cluster HA PostgreSQL run by Patroni under the Zalando postgres-operator."""


@dataclass(frozen=True, kw_only=True)
class DatabaseSettings:
    """PostgreSQL for n8n: which engine, and the least-privilege role n8n logs in as."""

    engine: DatabaseEngine = setting("`rds` (managed, Multi-AZ) or `patroni` (in-cluster HA).", DatabaseEngine.RDS)
    name: str = setting("Database name.", "n8n", check=matches(r"[a-z_][a-z0-9_]{0,62}", "a lowercase SQL name"))
    user: str = setting("Login role n8n uses; owns only its schema.", "n8n",
                        check=matches(r"[a-z_][a-z0-9_]{0,62}", "a lowercase SQL name"))
    schema: str = setting("Schema n8n's tables live in (`DB_POSTGRESDB_SCHEMA`).", "n8n",
                          check=matches(r"[a-z_][a-z0-9_]{0,62}", "a lowercase SQL name other than public"))
    connection_limit: int = setting("CONNECTION LIMIT of the n8n role.", 200, check=between(10, 5000))
    statement_timeout_seconds: int = setting("statement_timeout of the n8n role.", 300, check=at_least(1))
    pooler: PoolerSettings = setting("The connection pooler n8n reaches PostgreSQL through.", PoolerSettings())
    rds: RdsSettings = setting("Settings of engine `rds`.", RdsSettings())
    patroni: PatroniSettings = setting("Settings of engine `patroni`.", PatroniSettings())


@dataclass(frozen=True, kw_only=True)
class InClusterRedisSettings:
    """Redis as a StatefulSet in the cluster (mode `in-cluster`)."""

    image: str = setting("Redis image, pinned.", "docker.io/library/redis:7.4.6-alpine", check=non_empty)
    memory: str = setting("Container memory limit; `maxmemory` is set to 80% of it.", "1Gi", check=MEMORY)
    storage_size: str = setting("PVC size for the append-only file.", "10Gi", check=MEMORY)
    storage_class: str = setting("StorageClass of the PVC.", "gp3", check=non_empty)


class CacheEngine(StrEnum):
    """Engine of the ElastiCache replication group (``redis.elasticache.engine``)."""

    REDIS = "redis"
    """Redis OSS."""
    VALKEY = "valkey"
    """Valkey, the open-source Redis fork (lower price on ElastiCache)."""


CacheEngineName = Literal["redis", "valkey"]
"""The values of :class:`CacheEngine`, which Python callers may pass instead of the members (case-sensitive)."""
if TYPE_CHECKING:
    CacheEngineArg = CacheEngine | CacheEngineName
else:  # Pulumi's schema analyzer supports no unions: it sees the enum
    CacheEngineArg = CacheEngine


@dataclass(frozen=True, kw_only=True)
class ElastiCacheSettings:
    """Amazon ElastiCache (mode `elasticache`)."""

    engine: CacheEngine = setting("Cache engine.", CacheEngine.VALKEY)
    engine_version: str = setting("Engine version.", "8.1", check=non_empty)
    node_type: str = setting("Cache node type.", "cache.m7g.large",
                             check=matches(r"cache\.[a-z0-9]+\.[a-z0-9]+", "a node type such as cache.m7g.large"))
    nodes: int = setting("Primary + replicas; 2 or more for Multi-AZ failover.", 2, check=between(1, 6))
    snapshot_retention_days: int = setting("Daily snapshots kept.", 7, check=between(0, 35))


class RedisMode(StrEnum):
    """Where n8n's Redis runs (``redis.mode``)."""

    IN_CLUSTER = "in-cluster"
    """A StatefulSet in the cluster."""
    ELASTICACHE = "elasticache"
    """Amazon ElastiCache (managed, Multi-AZ)."""


@dataclass(frozen=True, kw_only=True)
class RedisSettings:
    """Redis, the durable queue between webhook processors, main and workers."""

    mode: RedisMode = setting("`in-cluster` StatefulSet or managed `elasticache`.", RedisMode.ELASTICACHE)
    in_cluster: InClusterRedisSettings = setting("Settings of mode `in-cluster`.", InClusterRedisSettings())
    elasticache: ElastiCacheSettings = setting("Settings of mode `elasticache`.", ElastiCacheSettings())


@dataclass(frozen=True, kw_only=True)
class RateLimits:
    """Per-client-IP request limits at the edge (AWS WAF rate-based rules, or Envoy Gateway local rate limits).

    AWS WAF counts per client IP over a one-minute window and cannot go below 10 requests in it."""

    webhook_per_minute: int = setting("Requests per minute per IP to webhooks, forms, waiting and MCP paths "
                                      "(production and test).", 1200, check=at_least(10))
    api_per_minute: int = setting("Requests per minute per IP to the editor, `/rest/`, `/api/` and the instance "
                                  "MCP server.", 600, check=at_least(10))
    login_per_minute: int = setting("Requests per minute per IP to `/rest/login` and the password-reset paths.", 10,
                                    check=at_least(10))


@dataclass(frozen=True, kw_only=True)
class OidcSettings:
    """An OpenID Connect provider the ALB authenticates editor users against (before n8n's own login)."""

    issuer: str = setting("Issuer URL of the provider.", check=matches(r"https://\S+", "an https:// URL"))
    authorization_endpoint: str = setting("Authorization endpoint URL.", check=matches(r"https://\S+",
                                                                                        "an https:// URL"))
    token_endpoint: str = setting("Token endpoint URL.", check=matches(r"https://\S+", "an https:// URL"))
    user_info_endpoint: str = setting("User-info endpoint URL.", check=matches(r"https://\S+", "an https:// URL"))
    client_id: str = setting("Client id registered with the provider (its secret is the stack secret "
                             "`n8n:oidcClientSecret`).", check=non_empty)
    scope: str = setting("Scopes requested.", "openid email", check=non_empty)
    session_timeout_seconds: int = setting("How long the ALB's session cookie stays valid.", 28800,
                                           check=between(60, 604800))


class EdgeController(StrEnum):
    """Which front door the edge builds."""

    ALB = "alb"
    """AWS Load Balancer Controller: an ALB with ACM TLS, optional WAF and OIDC."""
    GATEWAY = "gateway"
    """Gateway API (Envoy Gateway) with cert-manager certificates."""


EdgeControllerName = Literal["alb", "gateway"]
"""The values of :class:`EdgeController`, which Python callers may pass instead of the members (case-sensitive)."""
if TYPE_CHECKING:
    EdgeControllerArg = EdgeController | EdgeControllerName
else:  # Pulumi's schema analyzer supports no unions: it sees the enum
    EdgeControllerArg = EdgeController


class AcmeServer(StrEnum):
    """Let's Encrypt server of the public issuer."""

    STAGING = "staging"
    """Untrusted test certificates, generous rate limits (development)."""
    PRODUCTION = "production"
    """Trusted certificates."""


AcmeServerName = Literal["staging", "production"]
"""The values of :class:`AcmeServer`, which Python callers may pass instead of the members (case-sensitive)."""
if TYPE_CHECKING:
    AcmeServerArg = AcmeServer | AcmeServerName
else:  # Pulumi's schema analyzer supports no unions: it sees the enum
    AcmeServerArg = AcmeServer


@dataclass(frozen=True, kw_only=True)
class EdgeSettings:
    """How n8n is reached: hostname, TLS and rate limits."""

    hostname: str = setting("Public hostname of n8n (editor and webhooks).", check=matches(
        r"([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}", "a fully qualified lowercase hostname"))
    controller: EdgeController = setting(
        "`alb` (AWS Load Balancer Controller, ACM, WAF) or `gateway` (Gateway API + cert-manager).", EdgeController.ALB)
    certificate_arn: str | None = setting("ACM certificate for the ALB (controller `alb`); or set `zoneId` and the "
                                          "stack requests one.", None,
                                          check=matches(r"arn:aws[a-z-]*:acm:.+", "an ACM certificate ARN"))
    zone_id: str | None = setting("Route 53 hosted zone of the hostname (controller `alb`): the stack requests an ACM "
                                  "certificate validated in it (unless `certificateArn` is set) and points an alias "
                                  "record at the ALB.", None,
                                  check=matches(r"Z[A-Z0-9]{1,31}", "a Route 53 hosted zone id such as Z0123456789ABC"))
    acme_server: AcmeServer = setting("Let's Encrypt server for cert-manager certificates.", AcmeServer.PRODUCTION)
    acme_email: str | None = setting("Contact e-mail for the ACME account.", None,
                                     check=matches(r"[^@\s]+@[^@\s]+", "an e-mail address"))
    waf: bool = setting("AWS WAF web ACL on the ALB: the rate limits, managed rule groups and the editor allow-list "
                        "(controller `alb`; the `gateway` controller enforces limits and allow-list itself).", True)
    editor_allowed_cidrs: list[str] = setting(
        "Source CIDRs allowed to reach the editor, `/rest/`, `/api/` and the instance MCP server (empty: all); "
        "webhooks and forms stay open.", [], check=each(cidr))
    rate_limits: RateLimits = setting("Per-IP rate limits.", RateLimits())
    oidc: OidcSettings | None = setting("OpenID Connect login in front of the editor and `/rest/` (controller `alb`); "
                                        "never on webhook, form, MCP or public-API paths.", None)
    subnet_ids: list[str] = setting("Public subnets of the ALB (controller `alb`); empty: the controller discovers "
                                    "subnets tagged kubernetes.io/role/elb.", [], check=each(SUBNET_ID))
    subnet_cidrs: list[str] = setting("CIDRs of the ALB's subnets: the only sources the network policy admits to "
                                      "n8n's port (IP targets); empty: `cluster.vpcCidr`.", [], check=each(cidr))
    idle_timeout_seconds: int = setting("Load balancer idle timeout: longer than n8n's 60 s push ping, so the "
                                        "editor's websocket stays open, and than slow synchronous webhooks.", 300,
                                        check=between(61, 4000))


@dataclass(frozen=True, kw_only=True)
class BackupSettings:
    """WAL archive and logical dumps on S3."""

    pitr_days: int = setting("Point-in-time-recovery window of the Patroni WAL archive: WAL and base backups are "
                             "object-locked this long (RDS keeps its own: database.rds.backupRetentionDays).", 14,
                             check=between(1, 365))
    dumps: bool = setting("Nightly `pg_dump` to object-locked (COMPLIANCE) storage.", True)
    dump_schedule: str = setting("Cron schedule of the nightly dump (UTC).", "15 2 * * *", check=CRON)
    dump_retention_days: int = setting("Dumps are locked and kept this long.", 35, check=between(1, 3650))
    replica_region: str | None = setting(
        "Second AWS region the WAL archive and dumps are replicated to (own KMS key, same Object Lock, 15-minute "
        "replication SLA with alarms); unset: no replica.", None,
        check=matches(r"[a-z]{2}(-gov)?-[a-z]+-[0-9]", "an AWS region such as eu-central-1"))


@dataclass(frozen=True, kw_only=True)
class WorkerPoolSettings:
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
class AutoscalingSettings:
    """How the worker count follows the queue."""

    keda: bool = setting("Scale workers with KEDA on the Redis backlog; off: a CPU HorizontalPodAutoscaler.", True)
    jobs_per_worker: int = setting("Waiting+active jobs one worker should carry before another is added; "
                                   "defaults to the worker concurrency.", 0, check=at_least(0))
    cooldown_seconds: int = setting("KEDA cooldown before scaling down; longer than the graceful shutdown.", 300,
                                    check=at_least(30))


@dataclass(frozen=True, kw_only=True)
class AddonSettings:
    """Cluster add-ons the stack installs; turn one off when the cluster already has it."""

    cert_manager: bool = setting("cert-manager with a public ACME ClusterIssuer and an internal CA issuer.", True)
    keda: bool = setting("KEDA, for queue-depth autoscaling.", True)
    aws_load_balancer_controller: bool = setting("AWS Load Balancer Controller (edge controller `alb`).", True)
    postgres_operator: bool = setting("Zalando postgres-operator (database engine `patroni`).", True)
    envoy_gateway: bool = setting("Envoy Gateway with the Gateway API CRDs (edge controller `gateway`).", True)
    prometheus_operator_crds: bool = setting("Prometheus Operator CRDs (ServiceMonitor, PrometheusRule).", True)


@dataclass(frozen=True, kw_only=True)
class AlertThresholds:
    """When the alert rules and CloudWatch alarms fire (runbooks: docs/operations.md, one section per alert)."""

    queue_backlog_jobs: int = setting("Jobs waiting in the queue (`n8n_scaling_mode_queue_jobs_waiting`) that count "
                                      "as a backlog.", 100, check=at_least(1))
    queue_backlog_minutes: int = setting("How long the backlog must last before N8nQueueBacklog fires.", 5,
                                         check=between(1, 1440))
    stall_minutes: int = setting("Jobs waiting while no job completes for this long: N8nWorkersNotConsuming.", 10,
                                 check=between(2, 1440))
    failure_ratio_percent: int = setting("Failed share of finished executions over 10 minutes.", 5,
                                         check=between(1, 100))
    memory_limit_percent: int = setting("Resident memory of an n8n process against its container limit.", 90,
                                        check=between(50, 99))
    api_p95_ms: int = setting("95th percentile of main's REST/API response time, milliseconds.", 1000,
                              check=between(50, 60000))
    redis_memory_percent: int = setting("Redis memory against `maxmemory` (noeviction: writes fail at 100%).", 85,
                                        check=between(50, 99))
    replication_lag_seconds: int = setting("PostgreSQL/ElastiCache replica lag.", 30, check=between(1, 3600))
    dump_max_age_hours: int = setting("Newest successful nightly dump older than this: DatabaseDumpStale.", 26,
                                      check=between(2, 24 * 14))
    wal_archive_max_age_minutes: int = setting("No WAL segment archived for this long (Spilo's archive_timeout is "
                                               "30 minutes): PostgresWalArchiveStale.", 60, check=between(10, 1440))
    connections_percent: int = setting("Connections against the limit (PostgreSQL max_connections; on RDS the n8n "
                                       "role's `database.connectionLimit`).", 80, check=between(10, 99))
    cpu_percent: int = setting("CPU of RDS and ElastiCache (CloudWatch) for 15 minutes.", 80, check=between(10, 100))
    free_storage_percent: int = setting("RDS free storage below this share of the allocated storage.", 10,
                                        check=between(1, 50))


@dataclass(frozen=True, kw_only=True)
class ObservabilitySettings:
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
    if s.n8n.multi_main and not s.license_activation_key:
        bad("n8n.multiMain", True, "multi-main needs an Enterprise license: set the secret n8n:licenseActivationKey")
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
extra cost) and within the range the manifests are validated for (tools/gates.py). Revisit with each EKS release."""

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
    if e.controller == "alb" and not (e.certificate_arn or e.zone_id):
        bad("edge.certificateArn", None, "edge.controller 'alb' terminates TLS with an ACM certificate: set "
            "edge.certificateArn, or edge.zoneId to have the stack request one")
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
