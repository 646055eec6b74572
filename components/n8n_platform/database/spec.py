"""What PostgreSQL for n8n is asked to be: the engine (RDS or Patroni), its pooler, the n8n role, and the
WAL archive and dumps.

These are the ``database`` and ``backups`` sections of the stack settings and the vocabulary of
:class:`~n8n_platform.database.rds.RdsDatabase`, :class:`~n8n_platform.database.patroni.PatroniDatabase` and
:class:`~n8n_platform.database.dumps.DatabaseDumps`; their defaults are the platform's."""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads these annotations at run time
# (the components' Args use them); the settings parser reads them with typing.get_type_hints either way.
import dataclasses
from dataclasses import dataclass
from enum import StrEnum

from ..schema import CRON, DNS_LABEL, MEMORY, Section, at_least, between, matches, non_empty, setting
from ..vocabulary import Resources, resources


@dataclass(frozen=True, kw_only=True)
class RdsProxySettings(Section):
    """The RDS Proxy n8n connects through (engine `rds`, with `database.pooler.enabled`)."""

    borrow_timeout_seconds: int = setting(
        "How long a query waits for a database connection before it fails (`ConnectionBorrowTimeout`): long enough "
        "to ride out a Multi-AZ failover (60-120 s).", 120, check=between(1, 300))
    max_connections_percent: int = setting("Share of the instance's `max_connections` the proxy may open.", 90,
                                           check=between(1, 100))
    idle_client_timeout_seconds: int = setting("A client connection idle this long is closed by the proxy.", 1800,
                                               check=between(60, 28800))


@dataclass(frozen=True, kw_only=True)
class RdsSettings(Section):
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
class PitrRestore(Section):
    """Bootstrap a new Patroni cluster from the WAL archive of another one, at a point in time."""

    source_cluster: str = setting("Name of the Patroni cluster whose archive to restore from.", check=DNS_LABEL)
    target_time: str = setting("Recover up to this moment (RFC 3339 with zone, e.g. 2026-11-20T03:00:00+00:00).",
                               check=matches(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)",
                                             "an RFC 3339 timestamp with a time zone"))


@dataclass(frozen=True, kw_only=True)
class PatroniSettings(Section):
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
class PoolerSettings(Section):
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
class N8nDatabase(Section):
    """The database n8n uses and the least-privilege role it logs in as, the same on either engine."""

    name: str = setting("Database name.", "n8n", check=matches(r"[a-z_][a-z0-9_]{0,62}", "a lowercase SQL name"))
    user: str = setting("Login role n8n uses; owns only its schema.", "n8n",
                        check=matches(r"[a-z_][a-z0-9_]{0,62}", "a lowercase SQL name"))
    schema: str = setting("Schema n8n's tables live in (`DB_POSTGRESDB_SCHEMA`).", "n8n",
                          check=matches(r"[a-z_][a-z0-9_]{0,62}", "a lowercase SQL name other than public"))
    connection_limit: int = setting("CONNECTION LIMIT of the n8n role.", 200, check=between(10, 5000))
    statement_timeout_seconds: int = setting("statement_timeout of the n8n role.", 300, check=at_least(1))

    def role(self) -> "N8nDatabase":
        """Just these fields (of a DatabaseSettings, the stack's whole database section)."""
        return N8nDatabase(**{f.name: getattr(self, f.name) for f in dataclasses.fields(N8nDatabase)})


@dataclass(frozen=True, kw_only=True)
class DatabaseSettings(N8nDatabase):
    """PostgreSQL for n8n: which engine, its connection pooler and knobs, and the n8n database and role."""

    engine: DatabaseEngine = setting("`rds` (managed, Multi-AZ) or `patroni` (in-cluster HA).", DatabaseEngine.RDS)
    pooler: PoolerSettings = setting("The connection pooler n8n reaches PostgreSQL through.", PoolerSettings())
    rds: RdsSettings = setting("Settings of engine `rds`.", RdsSettings())
    patroni: PatroniSettings = setting("Settings of engine `patroni`.", PatroniSettings())


@dataclass(frozen=True, kw_only=True)
class BackupSettings(Section):
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
