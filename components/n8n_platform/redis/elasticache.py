"""Managed Redis for n8n's Bull queue: Amazon ElastiCache (:class:`ElastiCacheRedis`).

Decisions: a replication group without cluster mode (n8n's Bull client is not cluster-aware unless
``QUEUE_BULL_REDIS_CLUSTER_NODES`` and a ``{prefix}`` are used), Multi-AZ with automatic failover when there are 2+
nodes, TLS required, AUTH token from :class:`~n8n_platform.secrets.Secrets` (``auth_token_update_strategy``
ROTATE, see the rotation notes there), at-rest encryption with a customer key, ``maxmemory-policy noeviction``
(the ElastiCache default evicts), daily snapshots, and a security group admitting 6379 only from the cluster nodes.
"""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads the Args annotations at run time.
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from .. import names
from ..arguments import (
    Missing,
    flag,
    known,
    member,
    refuse,
    required,
    retain_on_delete,
    string,
    whole,
)
from ..connections import RedisConnection, SecretKeyRef
from ..kms import customer_key
from . import conf as rc
from .spec import CacheEngine, CacheEngineArg

SNAPSHOT_WINDOW = "03:00-04:00"
"""UTC; after the nightly dump (02:15) and before the maintenance window."""
MAINTENANCE_WINDOW = "sun:05:00-sun:06:00"
"""UTC; must not overlap the snapshot window."""


def parameter_group_family(engine: str, version: str) -> str:
    """ElastiCache parameter group family for an engine version: valkey 8.1 -> valkey8, redis 7.1 -> redis7,
    redis 6.2 -> redis6.x, and before 6 major.minor: redis 5.0.6 -> redis5.0, redis 4.0.10 -> redis4.0."""
    parts = version.split(".")
    if engine == "redis" and int(parts[0]) < 6:
        return f"redis{parts[0]}.{parts[1] if len(parts) > 1 else '0'}"
    if engine == "redis" and parts[0] == "6":
        return "redis6.x"
    return f"{engine}{parts[0]}"


def elasticache_parameters() -> list[dict[str, str]]:
    """Parameters that differ from the ElastiCache defaults: never evict queued jobs."""
    return [{"name": "maxmemory-policy", "value": "noeviction"}]


def replication_group_settings(nodes: int) -> dict[str, Any]:
    """Availability and encryption settings of the replication group; failover needs 2 or more nodes."""
    ha = nodes >= 2
    return {
        "num_cache_clusters": nodes,
        "automatic_failover_enabled": ha,
        "multi_az_enabled": ha,
        "transit_encryption_enabled": True,
        "transit_encryption_mode": "required",
        "at_rest_encryption_enabled": True,
        "port": rc.PORT,
        "auto_minor_version_upgrade": True,
        "apply_immediately": False,
        "snapshot_window": SNAPSHOT_WINDOW,
        "maintenance_window": MAINTENANCE_WINDOW,
        "auth_token_update_strategy": "ROTATE",
    }


def elasticache_connection(host: pulumi.Input[str]) -> RedisConnection:
    """How n8n reaches ElastiCache: TLS with the public Amazon CA, AUTH token from the n8n Secret."""
    return RedisConnection(host=host, port=rc.PORT, tls=True,
                           password=SecretKeyRef(names.N8N_SECRET, names.REDIS_PASSWORD), ca=None, managed=True)


class ElastiCacheRedisArgs(TypedDict):
    """Managed Redis/Valkey (settings ``redis.elasticache`` and ``cluster``)."""

    engine: CacheEngineArg
    """``redis`` or ``valkey`` (``redis.elasticache.engine``)."""
    engine_version: str
    """Engine version, e.g. 8.1 (``redis.elasticache.engineVersion``)."""
    node_type: str
    """Cache node type (``redis.elasticache.nodeType``)."""
    nodes: int
    """Primary + replicas (``redis.elasticache.nodes``); 2+ enables Multi-AZ automatic failover."""
    snapshot_retention_days: int
    """Daily snapshots kept (``redis.elasticache.snapshotRetentionDays``)."""
    vpc_id: str
    """VPC of the cluster (``cluster.vpcId``)."""
    subnet_ids: list[str]
    """Private subnets, one per AZ (``cluster.privateSubnetIds``)."""
    node_security_group_id: str
    """Security group of the cluster nodes; the only source admitted on 6379 (``cluster.nodeSecurityGroupId``)."""
    auth_token: pulumi.Input[str]
    """AUTH token (secret; ``Secrets.redis_password``)."""
    log_delivery: bool
    """Send slow and engine logs to a CloudWatch log group."""
    log_retention_days: int
    """Retention of that log group (a CloudWatch-allowed value, e.g. 30)."""
    protect: bool
    """Protect the replication group and its key from deletion."""
    retain_on_delete: NotRequired[bool]
    """Leave the replication group and its key in AWS when the component is deleted; default: the value of
    ``protect``. Deleting it takes a final snapshot (``<name>-final``) either way."""


def elasticache_args(args: ElastiCacheRedisArgs) -> ElastiCacheRedisArgs:
    """``args`` with every argument checked where it enters (each error naming ElastiCacheRedis, the argument, the
    value and what is allowed); the engine as its enum member."""
    where = "ElastiCacheRedis"
    known(where, args, ElastiCacheRedisArgs)
    need = {key: required(where, args, key) for key in ElastiCacheRedisArgs.__required_keys__ if key != "auth_token"}
    if "auth_token" not in args:
        raise Missing(f"{where}: argument 'auth_token' is required (the AUTH token, e.g. Secrets.redis_password)")
    checked: dict[str, Any] = {**args, **need}
    checked["engine"] = member(where, "engine", need["engine"], CacheEngine)
    string(where, "engine_version", need["engine_version"], r"[0-9]+(\.[0-9]+){0,2}", "an engine version such as 8.1")
    string(where, "node_type", need["node_type"], r"cache\.[a-z0-9]+\.[a-z0-9]+", "a node type such as cache.m7g.large")
    whole(where, "nodes", need["nodes"], 1, 6)
    whole(where, "snapshot_retention_days", need["snapshot_retention_days"], 0, 35)
    whole(where, "log_retention_days", need["log_retention_days"], 1)
    for key in ("log_delivery", "protect"):
        flag(where, key, need[key])
    string(where, "vpc_id", need["vpc_id"], r"vpc-[0-9a-f]{8,17}", "a VPC id such as vpc-0a1b2c3d", placed=True)
    string(where, "node_security_group_id", need["node_security_group_id"], r"sg-[0-9a-f]{8,17}",
           "a security group id such as sg-0123456789abcdef0", placed=True)
    if not isinstance(need["subnet_ids"], (list, tuple, pulumi.Output)) or not need["subnet_ids"]:
        raise refuse(where, "subnet_ids", need["subnet_ids"], "a non-empty list of subnet ids", TypeError)
    return checked  # type: ignore[return-value]


class ElastiCacheRedis(pulumi.ComponentResource):
    """An ElastiCache replication group for the Bull queue: Multi-AZ failover, TLS required, AUTH token,
    KMS at rest, noeviction, snapshots, reachable only from the cluster nodes."""

    connection: RedisConnection
    """How n8n reaches the primary endpoint."""
    primary_endpoint: pulumi.Output[str]
    """Primary endpoint address."""
    security_group_id: pulumi.Output[str]
    """Security group of the cache nodes."""
    kms_key_arn: pulumi.Output[str]
    """Customer key encrypting data at rest and snapshots."""
    member_cluster_ids: list[pulumi.Output[str]]
    """CacheClusterId of each node (``<group>-001``...), the dimension of its CloudWatch metrics."""

    def __init__(self, name: str, args: ElastiCacheRedisArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("n8n:index:ElastiCacheRedis", name, None, opts)

        child = pulumi.ResourceOptions(parent=self)
        args = elasticache_args(args)
        protect = args["protect"]
        retain = retain_on_delete(args, protect, "ElastiCacheRedis")
        engine = args["engine"]
        key = customer_key(f"{name}-key", "Encrypts n8n's ElastiCache queue at rest, its snapshots and its logs",
                           protect=protect, parent=self, logs=args["log_delivery"], retain=retain)
        group = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id=args["vpc_id"],
                                      description="n8n ElastiCache: Redis/TLS from the cluster nodes only", opts=child)
        aws.vpc.SecurityGroupIngressRule(f"{name}-from-nodes", security_group_id=group.id,
                                         referenced_security_group_id=args["node_security_group_id"],
                                         ip_protocol="tcp", from_port=rc.PORT, to_port=rc.PORT,
                                         description="Redis over TLS from the EKS nodes", opts=child)
        subnets = aws.elasticache.SubnetGroup(f"{name}-subnets", subnet_ids=args["subnet_ids"],
                                              description="n8n ElastiCache private subnets", opts=child)
        params = aws.elasticache.ParameterGroup(
            f"{name}-params", family=parameter_group_family(engine, args["engine_version"]),
            description="n8n Bull queue: never evict", parameters=elasticache_parameters(), opts=child)
        logs = []
        if args["log_delivery"]:
            log_group = aws.cloudwatch.LogGroup(f"{name}-logs", retention_in_days=args["log_retention_days"],
                                                kms_key_id=key.arn, opts=child)
            logs = [{"destination": log_group.name, "destination_type": "cloudwatch-logs", "log_format": "json",
                     "log_type": log_type} for log_type in ("slow-log", "engine-log")]
        replication = aws.elasticache.ReplicationGroup(
            f"{name}-group",
            description="n8n queue (Bull)",
            engine=engine,
            engine_version=args["engine_version"],
            node_type=args["node_type"],
            parameter_group_name=params.name,
            subnet_group_name=subnets.name,
            security_group_ids=[group.id],
            kms_key_id=key.arn,
            auth_token=pulumi.Output.secret(args["auth_token"]),
            snapshot_retention_limit=args["snapshot_retention_days"],
            final_snapshot_identifier=f"{name}-final",
            log_delivery_configurations=logs,
            **replication_group_settings(args["nodes"]),
            opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=retain),
        )
        self.primary_endpoint = replication.primary_endpoint_address
        self.member_cluster_ids = [replication.id.apply(lambda group, n=n: f"{group}-{n:03d}")
                                   for n in range(1, args["nodes"] + 1)]
        self.security_group_id = group.id
        self.kms_key_arn = key.arn
        self.connection = elasticache_connection(replication.primary_endpoint_address)
        self.register_outputs({"primary_endpoint": self.primary_endpoint,
                               "security_group_id": self.security_group_id, "kms_key_arn": self.kms_key_arn})
