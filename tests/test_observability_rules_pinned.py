"""The alert rules' shape pinned: what each alert is (for, severity, sources), the exact rule Prometheus and
Alertmanager receive, the groups, the PrometheusRule object, and every threshold reaching its alert. The promtool tests
(test_observability_rules.py) prove the expressions fire; they compare against the same rule data, so these pins
catch what they cannot: the texts operators are paged with are reviewed in tests/golden/alert_rules.yaml.

After changing an alert on purpose: `PYTHONPATH=.:components python -m tests.test_observability_rules_pinned` rewrites
that file; review its diff."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from n8n_platform.observability.rules import (
    Alert,
    RuleInputs,
    Source,
    alert_thresholds,
    alerts,
    metric_names,
    prometheus_rule,
    replication_lag,
    rule_groups,
)
from n8n_platform.observability.spec import AlertThresholds
from n8n_platform.schema import SettingsError
from tests.test_observability_rules import FULL

P, N, R, G, K = Source.PROMETHEUS, Source.N8N, Source.REDIS_EXPORTER, Source.POSTGRES_EXPORTER, Source.PATRONI
KSM = Source.KUBE_STATE_METRICS

ALERTS = {
    # name: (for, severity, sources)
    "N8nQueueBacklog": ("5m", "warning", (N,)),
    "N8nWorkersNotConsuming": ("2m", "critical", (N, P)),
    "N8nNoWorkerUp": ("5m", "critical", (P,)),
    "N8nExecutionFailureRate": ("10m", "warning", (N,)),
    "N8nApiLatencyHigh": ("10m", "warning", (N,)),
    "N8nDatabasePoolExhausted": ("5m", "warning", (N,)),
    "N8nTargetDown": ("5m", "critical", (P,)),
    "N8nMemoryNearLimitMain": ("5m", "warning", (N,)),
    "N8nMemoryNearLimitWebhook": ("5m", "warning", (N,)),
    "N8nMemoryNearLimitWorker": ("5m", "warning", (N,)),
    "RedisDown": ("2m", "critical", (R, P)),
    "RedisMemoryNearMaxmemory": ("5m", "critical", (R,)),
    "PostgresDown": ("2m", "critical", (G, P)),
    "PatroniNoLeader": ("1m", "critical", (K,)),
    "PostgresReplicationLag": ("5m", "warning", (K,)),
    "PostgresConnectionsNearLimit": ("5m", "warning", (G,)),
    "PostgresWalArchiveFailing": ("15m", "critical", (G,)),
    "PostgresWalArchiveStale": ("5m", "critical", (G,)),
    "PgBouncerUnavailable": ("2m", "critical", (KSM,)),
    "DatabaseDumpStale": ("30m", "critical", (KSM,)),
    "SpotWorkerNodesDraining": ("0m", "warning", (KSM,)),
}


def test_every_alert_in_order_with_its_wait_severity_and_sources():
    assert {a.name: (a.for_, a.severity, a.sources) for a in alerts(FULL)} == ALERTS
    assert [a.name for a in alerts(FULL)] == list(ALERTS)


def test_the_rule_as_prometheus_reads_it():
    alert = Alert("X", "up == 0", "5m", "critical", "Summary", "Description", (P,))
    assert alert.rule("https://docs.example/ops.md") == {
        "alert": "X", "expr": "up == 0", "for": "5m", "labels": {"severity": "critical", "service": "n8n"},
        "annotations": {"summary": "Summary", "description": "Description",
                        "runbook_url": "https://docs.example/ops.md#x"}}


def test_alerts_are_grouped_by_what_they_watch():
    groups = {g["name"]: [r["alert"] for r in g["rules"]] for g in rule_groups(FULL)}
    assert groups == {
        "n8n-platform.n8n": [n for n in ALERTS if n.startswith("N8n")],
        "n8n-platform.redis": ["RedisDown", "RedisMemoryNearMaxmemory"],
        "n8n-platform.postgres": ["PostgresDown", "PatroniNoLeader", "PostgresReplicationLag",
                                  "PostgresConnectionsNearLimit", "PostgresWalArchiveFailing",
                                  "PostgresWalArchiveStale", "PgBouncerUnavailable"],
        "n8n-platform.platform": ["DatabaseDumpStale", "SpotWorkerNodesDraining"],
    }
    assert list(groups) == ["n8n-platform.n8n", "n8n-platform.redis", "n8n-platform.postgres",
                            "n8n-platform.platform"]


def test_the_prometheus_rule_object_carries_the_groups_for_the_release():
    rule = prometheus_rule("n8n-alerts", "monitoring", "kps", FULL)
    assert (rule["apiVersion"], rule["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    assert (rule["metadata"]["name"], rule["metadata"]["namespace"]) == ("n8n-alerts", "monitoring")
    assert rule["metadata"]["labels"]["release"] == "kps"
    assert rule["metadata"]["labels"]["app.kubernetes.io/component"] == "observability"
    assert rule["spec"] == {"groups": rule_groups(FULL)}


def test_every_threshold_reaches_its_alert():
    t = AlertThresholds(queue_backlog_jobs=7, queue_backlog_minutes=9, stall_minutes=11, failure_ratio_percent=13,
                        memory_limit_percent=50, api_p95_ms=1700, redis_memory_percent=77,
                        replication_lag_seconds=19, dump_max_age_hours=30, wal_archive_max_age_minutes=23,
                        connections_percent=67)
    by_name = {a.name: a for a in alerts(replace(FULL, thresholds=t))}
    backlog = by_name["N8nQueueBacklog"]
    assert backlog.expr.endswith("> 7") and backlog.for_ == "9m" and "More than 7 " in backlog.summary
    assert "[11m]" in by_name["N8nWorkersNotConsuming"].expr
    assert "for 11 minutes" in by_name["N8nWorkersNotConsuming"].description
    assert by_name["N8nExecutionFailureRate"].expr.endswith("> 0.13")
    assert "13%" in by_name["N8nExecutionFailureRate"].summary
    assert by_name["N8nApiLatencyHigh"].expr.endswith("> 1.7") and "1700 ms" in by_name["N8nApiLatencyHigh"].summary
    assert by_name["N8nMemoryNearLimitMain"].expr.endswith(f"> {2**30}")  # half of 2Gi
    assert "50% of its 2Gi limit" in by_name["N8nMemoryNearLimitMain"].summary
    assert by_name["RedisMemoryNearMaxmemory"].expr.endswith("> 0.77")
    assert "77%" in by_name["RedisMemoryNearMaxmemory"].summary
    assert "> 19 and" in by_name["PostgresReplicationLag"].expr
    assert "19 s" in by_name["PostgresReplicationLag"].summary
    assert by_name["PostgresConnectionsNearLimit"].expr.endswith("> 0.67")
    assert "67%" in by_name["PostgresConnectionsNearLimit"].summary
    assert f"> {23 * 60} and" in by_name["PostgresWalArchiveStale"].expr
    assert "23 minutes" in by_name["PostgresWalArchiveStale"].summary
    assert f"> {30 * 3600} or" in by_name["DatabaseDumpStale"].expr
    assert "30 hours" in by_name["DatabaseDumpStale"].summary


def test_thresholds_arrive_as_settings_as_a_partial_mapping_or_not_at_all():
    given = AlertThresholds(queue_backlog_jobs=3)
    assert alert_thresholds(given) is given
    assert alert_thresholds(None) == AlertThresholds()
    assert alert_thresholds({"stall_minutes": 4}) == AlertThresholds(stall_minutes=4)
    with pytest.raises(SettingsError, match=r"rules\.thresholds\.stallMinutes"):
        alert_thresholds({"stall_minutes": 0})


def test_stacks_without_the_optional_parts_have_no_alerts_for_them():
    bare = RuleInputs(namespace="n8n", memory_limits={}, redis_in_cluster=False, patroni_cluster=None,
                      dump_cron_job=None)
    assert [a.name for a in alerts(bare)] == [n for n in ALERTS if n.startswith("N8n") and "Memory" not in n]
    no_archive = [a.name for a in alerts(replace(FULL, wal_archive=False))]
    assert "PostgresWalArchiveFailing" not in no_archive and "PostgresWalArchiveStale" not in no_archive
    assert "PostgresDown" in no_archive


def test_metric_names_skip_quoted_arguments_and_keep_capitals():
    assert metric_names('label_replace(up, "dst", "$1", "src", "(.*)")') == {"up"}
    assert metric_names('ALERTS{alertstate="firing"} > 0') == {"ALERTS"}


def test_the_dashboards_replication_lag_has_no_condition_and_single_spaces():
    p = 'job="patroni"'
    assert replication_lag() == (
        f"max by (instance) ((time() - patroni_xlog_replayed_timestamp{{{p}}}) and on (instance) "
        f"(scalar(max(patroni_xlog_location{{{p}}})) - patroni_xlog_replayed_location{{{p}}} > 0) and on (instance) "
        f"patroni_replica{{{p}}} == 1)")


GOLDEN = Path(__file__).parent / "golden" / "alert_rules.yaml"


def rendered() -> str:
    return yaml.safe_dump({"groups": rule_groups(FULL)}, sort_keys=False, width=120)


def test_the_rules_are_the_reviewed_ones():
    assert rendered() == GOLDEN.read_text(), f"alert rules changed: review them, then rewrite {GOLDEN.name} ({__doc__})"


if __name__ == "__main__":
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(rendered())
    sys.exit(0)
