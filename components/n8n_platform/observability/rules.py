"""Alert rules as plain data: the PrometheusRule groups the platform ships, on metric names real n8n 2.40.7 exposes.

Every alert names where its series come from (:class:`Source`), so the real-software tests know which process must
produce them, and carries a ``runbook_url`` pointing at its own section of docs/operations.md. Thresholds come from
``observability.thresholds`` (:class:`~n8n_platform.observability.spec.AlertThresholds`). Jobs are the ``job``
labels the monitors set (:mod:`.monitors`), so a rule only ever sees the targets it was written for.

What real n8n exposes, and what the rules therefore use (read off a running 2.40.7):

- Queue depth only on main: ``n8n_scaling_mode_queue_jobs_{waiting,active}`` gauges and ``_completed``/``_failed``
  counters, refreshed every ``N8N_METRICS_QUEUE_METRICS_INTERVAL`` (20 s). There is no ``n8n_queue_length``.
- Execution outcomes where the execution is finished: ``n8n_workflow_{started,success,failed}_total`` (event bus) on
  main and on the webhook processors (which wait for their executions), not on workers. The rules sum every job.
- API latency: ``n8n_http_request_duration_seconds`` covers main's REST/API routes. Webhook processors register
  their webhook routes before that middleware, so their requests never reach it; webhook latency is
  ``n8n_webhook_request_duration_seconds`` (N8N_METRICS_INCLUDE_WEBHOOK_METRICS) instead.
- Memory: ``n8n_process_resident_memory_bytes`` on every role; the container limit is known from the settings, so
  the rule compares against it directly (no kube-state-metrics join).
"""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads RuleInputs' annotations at run time.
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypedDict

from ..arguments import LABEL_VALUE, dns_label, flag, one_of, quantity, refuse, string
from ..schema import Problem, SettingsError, camel, parse, quantity_bytes
from .spec import AlertThresholds

JOBS = {"main": "n8n-main", "webhook": "n8n-webhook", "worker": "n8n-worker", "redis": "redis",
        "postgres": "postgres", "patroni": "patroni"}
"""``job`` label of each scraped role (the monitors relabel to these; the e2e's Prometheus uses the same)."""


class Source(StrEnum):
    """Which process exposes a metric: decides which real process the tests ask for it."""

    N8N = "n8n"
    REDIS_EXPORTER = "redis_exporter"
    POSTGRES_EXPORTER = "postgres_exporter"
    PATRONI = "patroni"
    KUBE_STATE_METRICS = "kube-state-metrics"
    PROMETHEUS = "prometheus"
    """``up``: written by Prometheus itself for every target."""


@dataclass(frozen=True)
class Alert:
    """One alerting rule."""

    name: str
    """Alert name, also the runbook anchor (lower-cased)."""
    expr: str
    """PromQL; true (non-empty) while the condition holds."""
    for_: str
    """How long the condition must hold before the alert fires."""
    severity: str
    """``critical`` (page) or ``warning`` (ticket)."""
    summary: str
    """One line for the notification."""
    description: str
    """What it means and what to look at first."""
    sources: tuple[Source, ...]
    """Where the series in ``expr`` come from."""

    @property
    def anchor(self) -> str:
        return self.name.lower()

    def rule(self, runbooks: str) -> dict[str, Any]:
        """The rule as Prometheus (and the PrometheusRule CRD) spells it; ``runbooks`` is docs/operations.md's URL."""
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity, "service": "n8n"},
            "annotations": {"summary": self.summary, "description": self.description,
                            "runbook_url": f"{runbooks}#{self.anchor}"},
        }


class RuleThresholds(TypedDict, total=False):
    """When the alert rules and CloudWatch alarms fire; a field left out takes the platform's default
    (``observability.thresholds``, :class:`~n8n_platform.observability.spec.AlertThresholds`, which also checks the
    values)."""

    queue_backlog_jobs: int
    """Jobs waiting in the queue that count as a backlog (default 100)."""
    queue_backlog_minutes: int
    """How long the backlog must last before N8nQueueBacklog fires (default 5)."""
    stall_minutes: int
    """Jobs waiting while no job completes for this long fires N8nWorkersNotConsuming (default 10)."""
    failure_ratio_percent: int
    """Failed share of finished executions over 10 minutes (default 5)."""
    memory_limit_percent: int
    """Resident memory of an n8n process against its container limit (default 90)."""
    api_p95_ms: int
    """95th percentile of main's REST/API response time in milliseconds (default 1000)."""
    redis_memory_percent: int
    """Redis memory against ``maxmemory`` (default 85; noeviction: writes fail at 100%)."""
    replication_lag_seconds: int
    """PostgreSQL/ElastiCache replica lag (default 30)."""
    dump_max_age_hours: int
    """Newest successful nightly dump older than this fires DatabaseDumpStale (default 26)."""
    wal_archive_max_age_minutes: int
    """No WAL segment archived for this long fires PostgresWalArchiveStale (default 60)."""
    connections_percent: int
    """Connections against the limit: max_connections, on RDS the n8n role's connection limit (default 80)."""
    cpu_percent: int
    """CPU of RDS and ElastiCache (CloudWatch) for 15 minutes (default 80)."""
    free_storage_percent: int
    """RDS free storage below this share of the allocated storage (default 10)."""


def alert_thresholds(given: RuleThresholds | AlertThresholds | None) -> AlertThresholds:
    """``given`` as the settings' AlertThresholds: as is, or the defaults with a mapping's fields over them, checked
    like stack config (an unknown field or a value out of range raises SettingsError naming it)."""
    if isinstance(given, AlertThresholds):
        return given
    problems: list[Problem] = []
    parsed = parse(AlertThresholds, {camel(k): v for k, v in (given or {}).items()}, "rules.thresholds", problems)
    if problems:
        raise SettingsError(problems)
    return parsed


@dataclass(frozen=True)
class RuleInputs:
    """What the rules depend on besides the thresholds."""

    namespace: str
    """Namespace of n8n (and of in-cluster Redis, Patroni and the dump CronJob)."""
    memory_limits: dict[str, str]
    """Container memory limit of each n8n role present (``main``, ``webhook``, ``worker``), e.g. ``2Gi``."""
    redis_in_cluster: bool
    """In-cluster Redis with its exporter (ElastiCache is watched by CloudWatch alarms instead)."""
    patroni_cluster: str | None
    """Name of the Patroni cluster, or None on RDS (CloudWatch alarms instead)."""
    dump_cron_job: str | None
    """Name of the nightly dump CronJob, or None without dumps."""
    wal_archive: bool = False
    """Patroni archives WAL to S3 (the archive alerts apply)."""
    spot_pool: bool = False
    """The spot worker node group exists (its taint identifies its nodes)."""
    patroni_pooler: bool = False
    """n8n reaches the Patroni cluster through the operator's PgBouncer (``<cluster>-pooler`` Deployment)."""
    thresholds: RuleThresholds | None = None
    """When alerts fire (omitted fields: the platform's defaults); Python also takes an AlertThresholds."""
    runbooks: str = "docs/operations.md"
    """URL of docs/operations.md as the team publishes it (``observability.runbookUrl``); anchors are appended."""

    def __post_init__(self) -> None:
        where = "RuleInputs"
        dns_label(where, "namespace", self.namespace)
        if not isinstance(self.memory_limits, dict):
            raise refuse(where, "memory_limits", self.memory_limits, "a mapping of n8n role (main, webhook, worker) "
                         "to its container memory limit", TypeError)
        for role, limit in self.memory_limits.items():
            one_of(where, "memory_limits", role, ("main", "webhook", "worker"))
            quantity(where, f"memory_limits.{role}", limit)
        for key in ("redis_in_cluster", "wal_archive", "spot_pool"):
            flag(where, key, getattr(self, key))
        for key in ("patroni_cluster", "dump_cron_job"):  # names the rules select by (label values in PromQL)
            if getattr(self, key) is not None:
                string(where, key, getattr(self, key), LABEL_VALUE, "a Kubernetes object name or None")
        string(where, "runbooks", self.runbooks, what="a non-empty URL or path")


def _n8n_alerts(i: RuleInputs) -> list[Alert]:
    t = alert_thresholds(i.thresholds)
    main, worker = JOBS["main"], JOBS["worker"]
    waiting = f'sum(n8n_scaling_mode_queue_jobs_waiting{{job="{main}"}})'
    alerts = [
        Alert("N8nQueueBacklog", f"{waiting} > {t.queue_backlog_jobs}", f"{t.queue_backlog_minutes}m", "warning",
              f"More than {t.queue_backlog_jobs} n8n jobs are waiting for a worker",
              "Jobs are queued faster than the workers take them. Check that workers are running and scaling "
              "(KEDA at its maximum, spot capacity, node group limits) and whether a workflow floods the queue.",
              (Source.N8N,)),
        Alert("N8nWorkersNotConsuming",
              f"{waiting} > 0 and sum(increase(n8n_scaling_mode_queue_jobs_completed{{job=\"{main}\"}}"
              f"[{t.stall_minutes}m])) == 0 and sum(up{{job=\"{worker}\"}}) > 0",
              "2m", "critical",
              "Jobs are waiting but no n8n worker has completed one",
              f"Workers are up yet nothing completed for {t.stall_minutes} minutes while jobs wait: the silent "
              "stall after a Redis blip (n8n #37581), readiness stays green. Restart the worker Deployment.",
              (Source.N8N, Source.PROMETHEUS)),
        Alert("N8nNoWorkerUp", f'sum(up{{job="{worker}"}}) == 0 or absent(up{{job="{worker}"}})', "5m",
              "critical", "No n8n worker answers its health/metrics server",
              "Nothing runs queued executions. Check the worker Deployment, the spot node group and KEDA.",
              (Source.PROMETHEUS,)),
        Alert("N8nExecutionFailureRate",
              "sum(increase(n8n_workflow_failed_total[10m])) / (sum(increase(n8n_workflow_success_total[10m])) + "
              f"sum(increase(n8n_workflow_failed_total[10m]))) > {t.failure_ratio_percent / 100:g}",
              "10m", "warning", f"More than {t.failure_ratio_percent}% of n8n executions fail",
              "Open the executions list filtered by error; a failing external API or credential is the usual "
              "cause. n8n_scaling_mode_queue_jobs_failed counts jobs that crashed or stalled.",
              (Source.N8N,)),
        Alert("N8nApiLatencyHigh",
              "histogram_quantile(0.95, sum by (le) (rate(n8n_http_request_duration_seconds_bucket"
              f'{{job="{main}"}}[5m]))) > {t.api_p95_ms / 1000:g}',
              "10m", "warning", f"n8n API p95 latency above {t.api_p95_ms} ms",
              "The editor and REST API answer slowly. Look at main's CPU and event-loop lag, and at database "
              "latency (n8n_db_pool_acquire_seconds).", (Source.N8N,)),
        Alert("N8nDatabasePoolExhausted", "max by (job, instance) (n8n_db_pool_requests_pending) > 0", "5m",
              "warning", "n8n requests are waiting for a database connection",
              "The pool is exhausted or connections never came back after a failover (n8n #34115, /healthz "
              "stays 200). Check the database, then restart the affected role.", (Source.N8N,)),
        Alert("N8nTargetDown", f'up{{job=~"{main}|{JOBS["webhook"]}"}} == 0', "5m", "critical",
              "An n8n main or webhook processor does not answer /metrics",
              "The process is down or hung. Check the pod's events and logs.", (Source.PROMETHEUS,)),
    ]
    for role, limit in sorted(i.memory_limits.items()):
        limit_bytes = quantity_bytes(limit)
        alerts.append(Alert(
            f"N8nMemoryNearLimit{role.capitalize()}",
            f'max by (instance) (n8n_process_resident_memory_bytes{{job="{JOBS[role]}"}}) > '
            f"{limit_bytes * t.memory_limit_percent // 100}",
            "5m", "warning", f"An n8n {role} uses more than {t.memory_limit_percent}% of its {limit} limit",
            "The container is close to an OOM kill, which fails its running executions. Large binary data or "
            "big item lists are the usual cause; raise the role's memory limit or split the workflow.",
            (Source.N8N,)))
    return alerts


def _redis_alerts(i: RuleInputs) -> list[Alert]:
    t, job = alert_thresholds(i.thresholds), JOBS["redis"]
    return [
        Alert("RedisDown", f'redis_up{{job="{job}"}} == 0 or up{{job="{job}"}} == 0', "2m", "critical",
              "Redis (n8n's queue) is down",
              "Webhooks cannot be enqueued and workers get no jobs. Check the redis StatefulSet and its volume.",
              (Source.REDIS_EXPORTER, Source.PROMETHEUS)),
        Alert("RedisMemoryNearMaxmemory",
              f'redis_memory_used_bytes{{job="{job}"}} / (redis_memory_max_bytes{{job="{job}"}} > 0) > '
              f"{t.redis_memory_percent / 100:g}",
              "5m", "critical", f"Redis uses more than {t.redis_memory_percent}% of maxmemory",
              "With noeviction Redis refuses new jobs at maxmemory: webhooks fail. Find the backlog "
              "(N8nQueueBacklog) or raise redis.inCluster.memory.", (Source.REDIS_EXPORTER,)),
    ]


def replication_lag(condition: str = "") -> str:
    """Seconds since a Patroni replica last replayed a transaction, counted only while the primary has WAL that the
    replica has not replayed (an idle, caught-up replica is not lagging). postgres_exporter 0.11 has no replication
    lag series of its own; Patroni's REST API reports the WAL positions of every member."""
    p = f'job="{JOBS["patroni"]}"'
    return (f"max by (instance) ((time() - patroni_xlog_replayed_timestamp{{{p}}}) {condition} "
            f"and on (instance) (scalar(max(patroni_xlog_location{{{p}}})) - patroni_xlog_replayed_location{{{p}}} "
            f"> 0) and on (instance) patroni_replica{{{p}}} == 1)").replace("  ", " ")


def _postgres_alerts(i: RuleInputs) -> list[Alert]:
    t, job = alert_thresholds(i.thresholds), JOBS["postgres"]
    alerts = [
        Alert("PostgresDown", f'pg_up{{job="{job}"}} == 0 or up{{job="{job}"}} == 0', "2m", "critical",
              "A PostgreSQL member does not answer its exporter",
              "Check the Patroni pods; n8n stops when the primary is gone.",
              (Source.POSTGRES_EXPORTER, Source.PROMETHEUS)),
        Alert("PatroniNoLeader", f'max(patroni_primary{{job="{JOBS["patroni"]}"}}) == 0 or '
              f'absent(patroni_primary{{job="{JOBS["patroni"]}"}})', "1m", "critical",
              "The Patroni cluster has no primary",
              "No member holds the leader lock: n8n cannot write. Check `patronictl list` in a Spilo pod.",
              (Source.PATRONI,)),
        Alert("PostgresReplicationLag", replication_lag(f"> {t.replication_lag_seconds}"),
              "5m", "warning", f"A PostgreSQL replica lags more than {t.replication_lag_seconds} s",
              "A failover now would lose or wait for those transactions. Check the replica's disk and network.",
              (Source.PATRONI,)),
        Alert("PostgresConnectionsNearLimit",
              f'sum by (instance) (pg_stat_activity_count{{job="{job}"}}) / max by (instance) '
              f'(pg_settings_max_connections{{job="{job}"}}) > {t.connections_percent / 100:g}',
              "5m", "warning", f"PostgreSQL uses more than {t.connections_percent}% of max_connections",
              "New n8n pods will fail to connect. Look for idle-in-transaction sessions and pool sizes.",
              (Source.POSTGRES_EXPORTER,)),
    ]
    if i.wal_archive:
        alerts += [
            Alert("PostgresWalArchiveFailing",
                  f'increase(pg_stat_archiver_failed_count{{job="{job}"}}[15m]) > 0', "15m", "critical",
                  "WAL archiving to S3 keeps failing",
                  "Point-in-time recovery has a gap and pg_wal grows until the disk is full. Check WAL-G's "
                  "credentials (IRSA) and the bucket.", (Source.POSTGRES_EXPORTER,)),
            Alert("PostgresWalArchiveStale",
                  f'pg_stat_archiver_last_archive_age{{job="{job}"}} > {t.wal_archive_max_age_minutes * 60} and '
                  f'on (instance) pg_settings_in_hot_standby{{job="{job}"}} == 0',
                  "5m", "critical", f"No WAL segment archived for {t.wal_archive_max_age_minutes} minutes",
                  "The archive stopped: the recovery point falls behind. Check the primary's archive_command.",
                  (Source.POSTGRES_EXPORTER,)),
        ]
    return alerts


def _platform_alerts(i: RuleInputs) -> list[Alert]:
    t = alert_thresholds(i.thresholds)
    alerts = []
    if i.dump_cron_job:
        sel = f'{{namespace="{i.namespace}", cronjob="{i.dump_cron_job}"}}'
        alerts.append(Alert(
            "DatabaseDumpStale",
            f"time() - kube_cronjob_status_last_successful_time{sel} > {t.dump_max_age_hours * 3600} or "
            f"absent(kube_cronjob_status_last_successful_time{sel})",
            "30m", "critical", f"No nightly dump succeeded for {t.dump_max_age_hours} hours",
            "The newest logical backup is too old. Check the CronJob's last Job and its logs.",
            (Source.KUBE_STATE_METRICS,)))
    if i.spot_pool:
        alerts.append(Alert(
            "SpotWorkerNodesDraining",
            'count(kube_node_spec_unschedulable == 1 and on (node) kube_node_spec_taint{key="n8n.io/workers"}) > 0',
            "0m", "warning", "Spot worker nodes are being drained",
            "A spot interruption or rebalance is under way; workers finish their executions within the "
            "graceful shutdown. Watch N8nQueueBacklog and N8nNoWorkerUp.", (Source.KUBE_STATE_METRICS,)))
    return alerts


def alerts(i: RuleInputs) -> list[Alert]:
    """Every alert that applies to this stack."""
    out = _n8n_alerts(i)
    if i.redis_in_cluster:
        out += _redis_alerts(i)
    if i.patroni_cluster:
        out += _postgres_alerts(i)
    if i.patroni_cluster and i.patroni_pooler:
        out.append(_pooler_alert(i.namespace, i.patroni_cluster))
    return out + _platform_alerts(i)


def _pooler_alert(namespace: str, cluster: str) -> Alert:
    """The operator's PgBouncer Deployment has no available pod: n8n's only way to PostgreSQL is gone."""
    sel = f'{{namespace="{namespace}", deployment="{cluster}-pooler"}}'
    return Alert(
        "PgBouncerUnavailable",
        f"max(kube_deployment_status_replicas_available{sel}) < 1 or "
        f"absent(kube_deployment_status_replicas_available{sel})",
        "2m", "critical", "No PgBouncer pod in front of PostgreSQL is available",
        f"n8n reaches PostgreSQL only through the operator's pooler ({cluster}-pooler): every query fails. Check "
        "the Deployment's pods and events and the operator's log; turning database.pooler.enabled off points n8n "
        "at the primary.", (Source.KUBE_STATE_METRICS,))


def rule_groups(i: RuleInputs) -> list[dict[str, Any]]:
    """The groups of the PrometheusRule (and of a plain Prometheus rule file)."""
    by_group: dict[str, list[Alert]] = {}
    for a in alerts(i):
        group = ("n8n" if Source.N8N in a.sources or a.name.startswith("N8n") else
                 "redis" if a.name.startswith("Redis") else
                 "postgres" if a.name.startswith(("Postgres", "Patroni", "PgBouncer")) else "platform")
        by_group.setdefault(group, []).append(a)
    return [{"name": f"n8n-platform.{g}", "rules": [a.rule(i.runbooks) for a in by_group[g]]} for g in by_group]


def prometheus_rule(name: str, namespace: str, release: str, i: RuleInputs) -> dict[str, Any]:
    """The PrometheusRule custom resource, labelled for kube-prometheus-stack's rule selector."""
    from .. import k8s

    meta = k8s.metadata(name, namespace, "observability")
    meta["labels"]["release"] = release
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": meta,
            "spec": {"groups": rule_groups(i)}}


_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
             "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects (label matchers, grouping lists, ranges and functions stripped)."""
    text = re.sub(r'"[^"]*"', "", expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        word, rest = m.group(0), text[m.end():].lstrip()
        if word in _KEYWORDS or rest.startswith("("):
            continue
        names.add(word)
    return names
