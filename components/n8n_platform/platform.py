"""N8nPlatform: composes the components of one environment from its settings.

Connections flow one way, from the data layer to the workloads: Secrets and the archive bucket first, then the
database and Redis (each exposing an engine-independent connection), then n8n, then the worker autoscaler that
follows n8n's queue. The platform only chooses and wires components; every decision about a resource lives in the
component (and its pure builders) that owns it.
"""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads the Args annotations at run time.
import dataclasses
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws

from . import platform_secrets, storage, upgrade
from .addons import ClusterAddons, ClusterAddonsArgs, enabled_addons
from .arguments import known, plain, required, settings_section, structured
from .autoscaling import WorkerAutoscaling, WorkerAutoscalingArgs
from .connections import DatabaseConnection, RedisConnection
from .database import DatabaseDumps, PatroniDatabase, RdsDatabase
from .database.bootstrap import quota as bootstrap_quota
from .database.common import S3Location
from .database.dumps import quota as dumps_quota
from .database.dumps import service_account as dump_account
from .database.patroni import pooler_quota
from .database.patroni import quota as patroni_quota
from .edge import alb as edge_alb
from .edge.component import Edge
from .edge.routes import PROXY_HOPS
from .irsa import OidcProvider
from .n8n import workloads
from .n8n.app import N8nApp, N8nAppArgs, database_clients
from .n8n.app import quota as n8n_quota
from .namespace import N8nNamespace, NetworkPlan, QuotaWorkload
from .network import ClusterNetwork
from .observability import CloudWatchTargets, Observability, RuleInputs
from .partition import partition_of_region
from .redis import ElastiCacheRedis, Redis
from .redis import quota as redis_quota
from .schema import SettingsError, camel
from .secrets import Secrets
from .settings import Settings, cross_field_problems
from .worker_pool import WorkerPool

OPERATOR_NAMESPACE = "postgres-operator"
KEDA_NAMESPACE = "keda"
MONITORING_NAMESPACE = "monitoring"
GATEWAY_NAME = "n8n"
"""Name of the Gateway (in the n8n namespace) whose listeners answer ACME HTTP-01 challenges (controller `gateway`)."""


def rds_identifier() -> str:
    """Identifier of the stack's RDS instance."""
    return f"n8n-{pulumi.get_stack()}"


def quota_workloads(s: Settings) -> list[QuotaWorkload]:
    """The namespace's workloads at their maximum scale: each component's own declaration, for the ones this stack
    runs (dumps only with an archive bucket, i.e. on EKS)."""
    out = n8n_quota(s.n8n)
    exporting = s.observability.enabled  # the metrics sidecars of Patroni and Redis (observability.exporters)
    if s.database.engine == "patroni":
        out.append(patroni_quota(s.database.patroni, exporter=exporting))
        if s.database.pooler.enabled:
            out.append(pooler_quota(s.database.pooler))
    if s.redis.mode == "in-cluster":
        out.append(redis_quota(s.redis.in_cluster.memory, exporter=exporting))
    out.append(bootstrap_quota())
    if s.backups.dumps and s.on_eks:
        out.append(dumps_quota())
    return out


class PlatformArgs(TypedDict):
    """What the platform is built from."""

    settings: Settings
    """The stack settings (``settings.load()`` in a Python program; from other languages the same object as the
    stack config, camelCase keys, defaults filled in), checked like stack config, the rules across keys included."""
    oidc: NotRequired[OidcProvider | None]
    """The EKS cluster's IAM OIDC provider (``lookup_cluster(...).oidc``), for the IRSA roles of WAL-G, the dumps
    and the add-ons. Required with ``cluster.name`` (EKS); None with ``cluster.kubeconfig``: no AWS resources."""
    replica_provider: NotRequired[pulumi_aws.Provider | None]
    """AWS provider of ``backups.replicaRegion``, where the backup replicas are created (None: no replicas)."""
    encryption_key: NotRequired[pulumi.Input[str] | None]
    """Secret. Existing ``N8N_ENCRYPTION_KEY`` (at least 32 characters) when migrating an n8n instance; a secret
    Output welcome. Instead of ``settings.encryptionKey``, which must be plain text. Unset in both: generated once
    and kept (it must never change)."""
    license_activation_key: NotRequired[pulumi.Input[str] | None]
    """Secret. n8n license activation key, required by ``settings.n8n.multiMain``; a secret Output welcome.
    Instead of ``settings.licenseActivationKey``, which must be plain text."""
    previous_version: NotRequired[str | None]
    """The n8n version the stack ran before this update (``upgrade.deployed_version()``: the stack's own
    ``n8nVersion`` output). When ``settings.n8n.version`` differs, a copy of the database is taken before main
    starts the new version (RDS snapshot, or a one-off dump with ``backups.dumps``). None (default): a first
    deployment, no copy. A plain value."""
    oidc_client_secret: NotRequired[pulumi.Input[str] | None]
    """Secret. Client secret of ``settings.edge.oidc``, required with it and only with it; a secret Output
    welcome. Instead of ``settings.oidcClientSecret``, which must be plain text."""
    network: NotRequired[ClusterNetwork | None]
    """The VPC of the cluster the stack created (``settings.cluster.create``): its ids, known only once created,
    stand for ``cluster.vpcId``, ``cluster.privateSubnetIds`` and ``cluster.nodeSecurityGroupId``. Required with
    ``cluster.create`` and only with it."""


def platform_settings(value: Any, secrets: Mapping[str, Any] | None = None) -> Settings:
    """``value`` (a Settings or a mapping as other languages send it) as Settings that pass every rule of stack
    config; else ``SettingsError`` naming each ``settings.<key>`` (or secret input), the value and what is allowed.

    ``secrets``: the secret settings given as inputs (``encryption_key``, ... -> str or Output); the returned
    Settings hold them (an Output stays one, checked inside its apply: see :mod:`.platform_secrets`).
    """
    platform_secrets.refuse_outputs_in_settings(value)
    s = settings_section("N8nPlatform", "settings", Settings, value)
    given = platform_secrets.secret_inputs(secrets or {})
    problems = platform_secrets.problems(s, given)
    inputs = {camel(name) for name in given}  # a rule on a secret given as an input names the input
    problems += [dataclasses.replace(p, key=p.key if p.key in inputs else f"settings.{p.key}")
                 for p in cross_field_problems(platform_secrets.stand_in(s, given))]
    if problems:
        raise SettingsError(problems)
    return platform_secrets.placed(s, given)


class N8nPlatform(pulumi.ComponentResource):
    """Production n8n for one environment: data layer, n8n roles, worker pool, autoscaling and the cluster side."""

    editor_url: pulumi.Output[str]
    """Public URL of the editor."""
    webhook_url: pulumi.Output[str]
    """Base URL of production webhooks."""
    database_host: pulumi.Output[str]
    """Host n8n connects to: the pooler with ``database.pooler.enabled`` (RDS Proxy endpoint, PgBouncer Service),
    else the RDS endpoint or the Patroni primary Service."""
    redis_host: pulumi.Output[str]
    """Host of the queue (ElastiCache primary endpoint or the in-cluster Service)."""

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None):
        known("N8nPlatform", args, PlatformArgs)  # checked before anything is registered
        required("N8nPlatform", args, "settings", "the validated Settings, e.g. n8n_platform.load()")
        s, oidc = platform_settings(args["settings"], args), args.get("oidc")
        oidc = structured("N8nPlatform", "oidc", OidcProvider, oidc) if oidc is not None else None
        if s.on_eks != (oidc is not None):
            raise ValueError("N8nPlatform: argument 'oidc' (the EKS cluster's IAM OIDC provider) is required with "
                             "settings cluster.name and must be left out with cluster.kubeconfig; given "
                             f"cluster.name={s.cluster.name!r} and oidc={'set' if oidc is not None else 'None'}")
        net = self._cluster_network(s, args.get("network"))
        # The token was n8n:index:Platform up to 0.1: the alias keeps existing stacks' resources (children follow).
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
            aliases=[pulumi.Alias(type_="n8n:index:Platform")]))
        super().__init__("n8n:index:N8nPlatform", name, None, opts)
        self._replica_provider = args.get("replica_provider")
        child = pulumi.ResourceOptions(parent=self)

        partition = partition_of_region(s.aws.region)
        addons = ClusterAddons(f"{name}-addons", ClusterAddonsArgs(
            **enabled_addons(s), acme_server=s.edge.acme_server,
            acme_email=s.edge.acme_email if s.edge.controller == "gateway" else None,
            gateway_name=GATEWAY_NAME, gateway_namespace=s.namespace,
            cluster_name=s.cluster.name, region=s.aws.region, vpc_id=net.vpc_id, partition=partition,
            oidc=oidc, watched_namespace=s.namespace), child)
        namespace = N8nNamespace(f"{name}-namespace", {
            "name": s.namespace,
            "pod_security": "baseline" if s.database.engine == "patroni" else "restricted",
            "network": self._network_plan(s),
            "quota_workloads": quota_workloads(s),
            "quota_headroom": 1.5,
            "protect": s.protect,
        }, child)
        secrets = Secrets(f"{name}-secrets", {
            "namespace": s.namespace, "encryption_key": s.encryption_key,
            "license_activation_key": s.license_activation_key, "escrow": oidc is not None, "protect": s.protect,
            "replica_region": s.backups.replica_region, "replica_provider": self._replica_provider,
        }, self._after(namespace))
        archive = self._archive(name, s) if oidc is not None else None
        redis = self._redis(name, s, net, secrets, namespace, addons)
        database = self._database(name, s, net, oidc, archive, secrets, namespace, addons)
        dumps, dump_source = None, None
        if s.backups.dumps and archive is not None:
            target = S3Location(archive.dump_bucket_name, archive.dump_bucket_arn, storage.DUMP_PREFIX,
                                archive.kms_key_arn, s.aws.region)
            dumps = DatabaseDumps(f"{name}-dumps", {
                "namespace": s.namespace, "connection": database.direct_connection, "credentials": None,
                "target": target, "oidc": oidc, "schedule": s.backups.dump_schedule, "scratch_size": None,
            }, self._after(database))
            dump_source = upgrade.DumpSource(
                service_account=dump_account(f"{name}-dumps"), namespace=s.namespace,
                connection=database.direct_connection, credentials=database.direct_connection.password,
                target=target, role_arn=dumps.role_arn)
        pool = None
        if s.worker_pool.enabled and oidc is not None:
            p = s.worker_pool
            pool = WorkerPool(f"{name}-workers", {
                "cluster_name": s.cluster.name, "subnet_ids": net.private_subnet_ids,
                "instance_types": p.instance_types, "min_nodes": p.min_nodes, "max_nodes": p.max_nodes,
                "desired_nodes": p.desired_nodes, "disk_size_gb": p.disk_size_gb, "partition": partition,
                "tags": s.aws.tags}, child)
        n = s.n8n
        copy = upgrade.database_copy(
            name, previous=plain("N8nPlatform", "previous_version", args.get("previous_version")),
            version=n.version, rds_instance=rds_identifier() if s.database.engine == "rds" else None,
            dump=dump_source, tags=s.aws.tags, opts=self._after(database, dumps))
        app = N8nApp(f"{name}-app", n8n_app_args(s, database.connection, redis.connection, spot_pool=pool is not None,
                                                 secrets_revision=secrets.revision),
                     self._after(secrets, database, redis, copy))
        if s.observability.enabled:
            self._observability(name, s, archive, database, redis, dumps, pool is not None, addons)
        WorkerAutoscaling(f"{name}-autoscaling", WorkerAutoscalingArgs(
            namespace=s.namespace, deployment=workloads.object_name("worker"), redis=redis.connection,
            min_replicas=n.worker.min_replicas, max_replicas=n.worker.max_replicas,
            concurrency=n.worker.concurrency, jobs_per_worker=s.autoscaling.jobs_per_worker,
            cooldown_seconds=s.autoscaling.cooldown_seconds,
            graceful_shutdown_seconds=n.graceful_shutdown_seconds, keda=s.autoscaling.keda),
            self._after(app, addons.keda))

        edge = self._edge(name, s, app, addons, partition)

        self.editor_url = app.editor_url
        self.webhook_url = app.webhook_url
        self.database_host = pulumi.Output.from_input(database.connection.host)
        self.redis_host = pulumi.Output.from_input(redis.connection.host)
        self._exports: dict[str, Any] = {
            "editorUrl": self.editor_url,
            "webhookUrl": self.webhook_url,
            "namespace": s.namespace,
            "databaseEngine": s.database.engine,
            "databaseHost": self.database_host,
            "redisHost": self.redis_host,
            "workerDeployment": app.worker_deployment,
            upgrade.STACK_OUTPUT: app.version,
            "publicUrl": edge.url,
            "loadBalancerAddress": edge.address,
        }
        if edge.web_acl_arn is not None:
            self._exports["webAclArn"] = edge.web_acl_arn
        if archive is not None:
            self._exports["archiveKmsKeyArn"] = archive.kms_key_arn
            if archive.bucket_name is not None:
                self._exports["archiveBucket"] = archive.bucket_name
            if archive.dump_bucket_name is not None:
                self._exports["dumpBucket"] = archive.dump_bucket_name
            if archive.replica_bucket_names:
                self._exports["backupReplicaBuckets"] = archive.replica_bucket_names
        if secrets.escrow_arn is not None:
            self._exports["encryptionKeyEscrowArn"] = secrets.escrow_arn
        if pool is not None:
            self._exports["workerNodeGroup"] = pool.node_group_name
        self.register_outputs(self._exports)

    def exports(self) -> dict[str, Any]:
        """Stack exports: endpoints and names; secrets stay secret."""
        return dict(self._exports)

    def _edge(self, name: str, s: Settings, app: N8nApp, addons: ClusterAddons, partition: str) -> Edge:
        """The front door: ALB (+ WAF) or Gateway API, in front of main and the webhook processors."""
        e = s.edge
        webhook = s.n8n.webhook.replicas > 0
        services = {"main": workloads.object_name("main"), **({"webhook": workloads.object_name("webhook")}
                                                                if webhook else {})}
        controllers = ([addons.load_balancer_controller] if e.controller == "alb"
                       else [addons.envoy_gateway, addons.cert_manager])
        return Edge(f"{name}-edge", {
            "namespace": s.namespace, "hostname": e.hostname, "controller": e.controller,
            "services": services,
            "webhook_processors": webhook, "rate_limits": e.rate_limits,
            "editor_allowed_cidrs": list(e.editor_allowed_cidrs), "idle_timeout_seconds": e.idle_timeout_seconds,
            "deregistration_delay_seconds": edge_alb.deregistration_delay(
                workloads.prestop_seconds("webhook"), s.n8n.graceful_shutdown_seconds),
            "waf": e.waf, "certificate_arn": e.certificate_arn, "zone_id": e.zone_id,
            "oidc": e.oidc,
            "oidc_client_secret": s.oidc_client_secret,
            "source_cidrs": list(e.subnet_cidrs) or ([s.cluster.vpc_cidr] if s.cluster.vpc_cidr else []),
            "subnet_ids": list(e.subnet_ids), "gateway_name": GATEWAY_NAME, "region": s.aws.region,
            "partition": partition, "tags": s.aws.tags, "protect": s.protect,
        }, self._after(app, *controllers))

    @staticmethod
    def _network_plan(s: Settings) -> NetworkPlan:
        vpc = (s.cluster.vpc_cidr,) if s.cluster.vpc_cidr else ()
        return NetworkPlan(
            namespace=s.namespace,
            postgres_cidrs=vpc if s.database.engine == "rds" else (),
            redis_cidrs=vpc if s.redis.mode == "elasticache" else (),
            patroni_cluster=s.database.patroni.cluster_name if s.database.engine == "patroni" else None,
            patroni_pooler=s.database.engine == "patroni" and s.database.pooler.enabled,
            operator_namespace=OPERATOR_NAMESPACE if s.database.engine == "patroni" else None,
            redis_in_cluster=s.redis.mode == "in-cluster",
            keda_namespace=KEDA_NAMESPACE if s.autoscaling.keda else None,
            monitoring_namespace=MONITORING_NAMESPACE if s.observability.enabled else None,
        )

    def _observability(self, name: str, s: Settings, archive: Any, database: Any, redis: Any, dumps: Any,
                       spot_pool: bool, addons: ClusterAddons) -> Observability:
        o, n = s.observability, s.n8n
        limits = {"main": n.main.resources.memory_limit, "worker": n.worker.resources.memory_limit}
        if n.webhook.replicas > 0:
            limits["webhook"] = n.webhook.resources.memory_limit
        rules = RuleInputs(
            namespace=s.namespace, memory_limits=limits, redis_in_cluster=s.redis.mode == "in-cluster",
            patroni_cluster=s.database.patroni.cluster_name if s.database.engine == "patroni" else None,
            dump_cron_job=f"{name}-dumps-dump" if dumps is not None else None,
            wal_archive=s.database.engine == "patroni" and archive is not None, spot_pool=spot_pool,
            patroni_pooler=s.database.engine == "patroni" and s.database.pooler.enabled,
            thresholds=o.thresholds, runbooks=o.runbook_url)
        cloudwatch = None
        managed = s.database.engine == "rds" or s.redis.mode == "elasticache"
        if archive is not None and (managed or archive.replication_alarms):
            cloudwatch = CloudWatchTargets(
                kms_key_arn=archive.kms_key_arn,
                rds_identifier=rds_identifier() if s.database.engine == "rds" else None,
                rds_allocated_gb=s.database.rds.allocated_storage_gb, connection_limit=s.database.connection_limit,
                rds_proxy_name=(database.proxy_name if s.database.engine == "rds" and s.database.pooler.enabled
                                else None), rds_proxy_clients=database_clients(s.n8n),
                elasticache_members=getattr(redis, "member_cluster_ids", []), emails=o.alarm_emails,
                more_alarms=archive.replication_alarms)
        return Observability(f"{name}-observability", {
            "namespace": s.namespace, "prometheus_release": o.prometheus_release, "rules": rules,
            "grafana_folder": o.grafana_folder, "cloudwatch": cloudwatch,
        }, self._after(addons.prometheus_crds, database))

    def _after(self, *deps: Any) -> pulumi.ResourceOptions:
        """Child options waiting for ``deps`` (None entries are add-ons this stack does not install)."""
        return pulumi.ResourceOptions(parent=self, depends_on=[d for d in deps if d is not None])

    def _archive(self, name: str, s: Settings) -> storage.ArchiveBucket:
        """The backup buckets (AWS only: without EKS there is no archive and WAL stays on the volumes)."""
        return storage.ArchiveBucket(f"{name}-archive", {
            "pitr_days": s.backups.pitr_days, "dumps": s.backups.dumps,
            "dump_retention_days": s.backups.dump_retention_days, "protect": s.protect,
            "wal": s.database.engine == "patroni", "replica_region": s.backups.replica_region,
            "replica_provider": self._replica_provider,
            # Kept on delete in every stack: object-locked backups cannot be deleted before their retention ends,
            # so a `pulumi destroy` of a dev stack would otherwise fail on them.
            "retain_on_delete": True,
        }, self._after())

    @staticmethod
    def _cluster_network(s: Settings, network: Any) -> ClusterNetwork:
        """Where the AWS data layer goes: the created cluster's VPC (``network``), else the settings' ids."""
        if s.cluster.create != (network is not None):
            raise ValueError("N8nPlatform: argument 'network' (the created cluster's VPC) is required with settings "
                             "cluster.create and must be left out without it; given cluster.create="
                             f"{s.cluster.create!r} and network={'set' if network is not None else 'None'}")
        if network is not None:
            return structured("N8nPlatform", "network", ClusterNetwork, network)
        return ClusterNetwork(vpc_id=s.cluster.vpc_id, private_subnet_ids=s.cluster.private_subnet_ids,
                              node_security_group_id=s.cluster.node_security_group_id)

    def _redis(self, name: str, s: Settings, net: ClusterNetwork, secrets: Secrets, namespace: Any,
               addons: ClusterAddons) -> Any:
        if s.redis.mode == "in-cluster":
            r = s.redis.in_cluster
            return Redis(f"{name}-redis", {
                "namespace": s.namespace, "image": r.image, "memory": r.memory, "storage_size": r.storage_size,
                "storage_class": r.storage_class, "protect": s.protect, "secrets_revision": secrets.revision,
                "exporter_image": s.observability.redis_exporter_image if s.observability.enabled else None,
            }, self._after(secrets, namespace, addons.internal_ca_issuer))
        e = s.redis.elasticache
        return ElastiCacheRedis(f"{name}-redis", {
            "engine": e.engine, "engine_version": e.engine_version, "node_type": e.node_type, "nodes": e.nodes,
            "snapshot_retention_days": e.snapshot_retention_days, "vpc_id": net.vpc_id,
            "subnet_ids": net.private_subnet_ids, "node_security_group_id": net.node_security_group_id,
            "auth_token": secrets.redis_password, "log_delivery": True, "log_retention_days": 30,
            "protect": s.protect,
        }, self._after())

    def _database(self, name: str, s: Settings, net: ClusterNetwork, oidc: OidcProvider | None, archive: Any,
                  secrets: Secrets, namespace: Any, addons: ClusterAddons) -> Any:
        if s.database.engine == "rds":
            return RdsDatabase(f"{name}-db", {
                "identifier": rds_identifier(), "namespace": s.namespace, "database": s.database.role(),
                "rds": s.database.rds, "pooler": s.database.pooler,
                "vpc_id": net.vpc_id, "subnet_ids": net.private_subnet_ids,
                "node_security_group_id": net.node_security_group_id, "kms_key_arn": None,
                "ca_bundle_pem": None, "tags": s.aws.tags, "protect": s.protect,
                "secrets_revision": secrets.revision, "n8n_password": secrets.db_password,
            }, self._after(secrets, namespace))
        wal = (S3Location(archive.bucket_name, archive.bucket_arn, storage.WAL_PREFIX, archive.kms_key_arn,
                          s.aws.region) if archive is not None and archive.bucket_name is not None else None)
        return PatroniDatabase(f"{name}-db", {
            "namespace": s.namespace, "cluster_name": s.database.patroni.cluster_name, "database": s.database.role(),
            "patroni": s.database.patroni, "pooler": s.database.pooler,
            "archive": wal, "oidc": oidc, "pod_service_account": None,
            "docker_image": None, "protect": s.protect, "secrets_revision": secrets.revision,
            "clients": database_clients(s.n8n),
            "exporter_image": s.observability.postgres_exporter_image if s.observability.enabled else None,
        }, self._after(secrets, namespace, addons.postgres_operator, addons.internal_ca_issuer))


def n8n_app_args(settings: Settings, db: DatabaseConnection, redis: RedisConnection, *, spot_pool: bool = False,
                 secrets_revision: pulumi.Input[str] | None = None) -> N8nAppArgs:
    """N8nApp's Args for a stack: its ``n8n`` section, hostname, license and metrics switch, and the data layer's
    connections (N8nApp derives the webhook-processor and multi-main switches from the replicas)."""
    n = settings.n8n
    return N8nAppArgs(
        namespace=settings.namespace, hostname=settings.edge.hostname, db=db, redis=redis, version=n.version,
        licensed=settings.license_activation_key is not None, worker_concurrency=n.worker.concurrency,
        graceful_shutdown_seconds=n.graceful_shutdown_seconds, execution_max_age_hours=n.execution_max_age_hours,
        execution_max_count=n.execution_max_count, timezone=n.timezone, log_level=n.log_level,
        metrics=settings.observability.enabled, proxy_hops=PROXY_HOPS,
        image=n.image, runners_image=n.runners_image,
        main_replicas=n.main.replicas, main_resources=n.main.resources,
        webhook_replicas=n.webhook.replicas, webhook_max_replicas=n.webhook.max_replicas,
        webhook_resources=n.webhook.resources,
        worker_replicas=n.worker.min_replicas, worker_resources=n.worker.resources,
        runners_resources=n.runners, spot_pool=spot_pool, secrets_revision=secrets_revision)
