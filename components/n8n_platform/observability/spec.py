"""When the alerts fire: the ``observability.thresholds`` section of the stack settings and the
vocabulary of the alert rules and alarms (:mod:`.rules`, :mod:`.alarms`)."""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads these annotations at run time
# (the components' Args use them); the settings parser reads them with typing.get_type_hints either way.
from dataclasses import dataclass

from ..schema import Section, at_least, between, setting


@dataclass(frozen=True, kw_only=True)
class AlertThresholds(Section):
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
