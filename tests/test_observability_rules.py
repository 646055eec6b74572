"""The alert rules, checked and unit-tested by real promtool (Debian's prometheus package).

For every alert the rule builder produces there is a series set that fires it and one that keeps it quiet; the
promtool test file is generated from the same rule data (names, labels, annotations) the PrometheusRule carries.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import yaml

from n8n_platform.observability.rules import JOBS, RuleInputs, alerts, metric_names, rule_groups
from n8n_platform.observability.spec import AlertThresholds
from n8n_platform.schema import quantity_bytes

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: make system installs prometheus")

T = AlertThresholds()
FULL = RuleInputs(namespace="n8n", memory_limits={"main": "2Gi", "webhook": "1Gi", "worker": "2Gi"},
                  redis_in_cluster=True, patroni_cluster="n8n-postgres", dump_cron_job="n8n-dumps-dump",
                  wal_archive=True, spot_pool=True, patroni_pooler=True, thresholds=T,
                  runbooks="https://example.org/operations.md")
MAIN, WEBHOOK, WORKER = JOBS["main"], JOBS["webhook"], JOBS["worker"]
REDIS, PG, PATRONI = JOBS["redis"], JOBS["postgres"], JOBS["patroni"]


@dataclass(frozen=True)
class Case:
    """Input series (selector -> promtool values), when to evaluate, and the labels the firing alert carries."""

    series: dict[str, str]
    labels: dict[str, str] | None = None
    """Labels of the firing alert besides severity/service ({} for an aggregate); None: the set must stay quiet."""
    eval_time: str = "40m"


def flat(v: float, n: int = 200) -> str:
    return f"{v:g}x{n}"


def counter(step: float, n: int = 200) -> str:
    return f"0+{step:g}x{n}"


def worker_up(v: int = 1) -> dict[str, str]:
    return {f'up{{job="{WORKER}", instance="w1"}}': flat(v)}


def memory(job: str, limit: str, share: float) -> dict[str, str]:
    return {f'n8n_process_resident_memory_bytes{{job="{job}", instance="p1"}}': flat(quantity_bytes(limit) * share)}


def latency(slow_share: float) -> dict[str, str]:
    """Requests per minute per bucket: (1 - slow_share) under 0.3 s, slow_share between 1.5 and 10 s."""
    fast, slow = 100 * (1 - slow_share), 100 * slow_share
    per_le = {"0.003": 0, "0.03": 0, "0.1": fast, "0.3": fast, "1.5": fast, "10": fast + slow, "+Inf": fast + slow}
    return {f'n8n_http_request_duration_seconds_bucket{{job="{MAIN}", instance="m", le="{le}"}}': counter(v)
            for le, v in per_le.items()}


def pg(instance: str, replica: int, **metrics: str) -> dict[str, str]:
    out = {f'pg_settings_in_hot_standby{{job="{PG}", instance="{instance}"}}': flat(replica)}
    out.update({f'{name}{{job="{PG}", instance="{instance}"}}': values for name, values in metrics.items()})
    return out


def patroni_members(replica_replayed: int) -> dict[str, str]:
    """Primary a at WAL position 1000; replica b replayed up to ``replica_replayed``, last transaction at epoch 0."""
    p = f'job="{PATRONI}"'
    return {f'patroni_replica{{{p}, instance="a"}}': flat(0), f'patroni_xlog_location{{{p}, instance="a"}}': flat(1000),
            f'patroni_replica{{{p}, instance="b"}}': flat(1),
            f'patroni_xlog_replayed_location{{{p}, instance="b"}}': flat(replica_replayed),
            f'patroni_xlog_replayed_timestamp{{{p}, instance="b"}}': flat(0)}


B = T.queue_backlog_jobs
WAITING = f'n8n_scaling_mode_queue_jobs_waiting{{job="{MAIN}", instance="m"}}'
COMPLETED = f'n8n_scaling_mode_queue_jobs_completed{{job="{MAIN}", instance="m"}}'
DUMP = '{namespace="n8n", cronjob="n8n-dumps-dump"}'
DAY = 24 * 3600

CASES: dict[str, tuple[Case, Case]] = {
    "N8nQueueBacklog": (Case({WAITING: flat(B + 1)}, {}), Case({WAITING: flat(B)})),
    "N8nWorkersNotConsuming": (
        Case({WAITING: flat(5), COMPLETED: flat(42), **worker_up()}, {}),
        Case({WAITING: flat(5), COMPLETED: counter(3), **worker_up()})),
    "N8nNoWorkerUp": (Case(worker_up(0), {}), Case(worker_up(1))),
    "N8nExecutionFailureRate": (
        Case({'n8n_workflow_failed_total{job="n8n-webhook", instance="h"}': counter(10),
              'n8n_workflow_success_total{job="n8n-webhook", instance="h"}': counter(90)}, {}),
        Case({'n8n_workflow_failed_total{job="n8n-webhook", instance="h"}': counter(1),
              'n8n_workflow_success_total{job="n8n-webhook", instance="h"}': counter(99)})),
    "N8nApiLatencyHigh": (Case(latency(0.10), {}), Case(latency(0.01))),
    "N8nDatabasePoolExhausted": (
        Case({f'n8n_db_pool_requests_pending{{job="{WORKER}", instance="w1"}}': flat(3)},
             {"job": WORKER, "instance": "w1"}),
        Case({f'n8n_db_pool_requests_pending{{job="{WORKER}", instance="w1"}}': flat(0)})),
    "N8nTargetDown": (Case({f'up{{job="{WEBHOOK}", instance="h"}}': flat(0)}, {"job": WEBHOOK, "instance": "h"}),
                      Case({f'up{{job="{WEBHOOK}", instance="h"}}': flat(1)})),
    "N8nMemoryNearLimitMain": (Case(memory(MAIN, "2Gi", 0.95), {"instance": "p1"}),
                               Case(memory(MAIN, "2Gi", 0.80))),
    "N8nMemoryNearLimitWebhook": (Case(memory(WEBHOOK, "1Gi", 0.95), {"instance": "p1"}),
                                  Case(memory(WEBHOOK, "1Gi", 0.80))),
    "N8nMemoryNearLimitWorker": (Case(memory(WORKER, "2Gi", 0.95), {"instance": "p1"}),
                                 Case(memory(WORKER, "2Gi", 0.80))),
    "RedisDown": (Case({f'redis_up{{job="{REDIS}", instance="r"}}': flat(0)},
                       {"job": REDIS, "instance": "r", "__name__": "redis_up"}),
                  Case({f'redis_up{{job="{REDIS}", instance="r"}}': flat(1),
                        f'up{{job="{REDIS}", instance="r"}}': flat(1)})),
    "RedisMemoryNearMaxmemory": (
        Case({f'redis_memory_used_bytes{{job="{REDIS}", instance="r"}}': flat(90),
              f'redis_memory_max_bytes{{job="{REDIS}", instance="r"}}': flat(100)}, {"job": REDIS, "instance": "r"}),
        Case({f'redis_memory_used_bytes{{job="{REDIS}", instance="r"}}': flat(90),
              f'redis_memory_max_bytes{{job="{REDIS}", instance="r"}}': flat(0)})),
    "PostgresDown": (Case({f'pg_up{{job="{PG}", instance="a"}}': flat(0)},
                          {"job": PG, "instance": "a", "__name__": "pg_up"}),
                     Case({f'pg_up{{job="{PG}", instance="a"}}': flat(1), f'up{{job="{PG}", instance="a"}}': flat(1)})),
    "PatroniNoLeader": (
        Case({f'patroni_primary{{job="{PATRONI}", instance="a"}}': flat(0),
              f'patroni_primary{{job="{PATRONI}", instance="b"}}': flat(0)}, {}),
        Case({f'patroni_primary{{job="{PATRONI}", instance="a"}}': flat(1),
              f'patroni_primary{{job="{PATRONI}", instance="b"}}': flat(0)})),
    "PostgresReplicationLag": (
        Case(patroni_members(replica_replayed=500), {"instance": "b"}),
        # an idle replica that replayed everything is not lagging, however old its last transaction
        Case(patroni_members(replica_replayed=1000))),
    "PostgresConnectionsNearLimit": (
        Case(pg("a", 0, pg_stat_activity_count=flat(90), pg_settings_max_connections=flat(100)), {"instance": "a"}),
        Case(pg("a", 0, pg_stat_activity_count=flat(50), pg_settings_max_connections=flat(100)))),
    "PostgresWalArchiveFailing": (
        Case(pg("a", 0, pg_stat_archiver_failed_count=counter(1)), {"job": PG, "instance": "a"}),
        Case(pg("a", 0, pg_stat_archiver_failed_count=flat(7)))),
    "PostgresWalArchiveStale": (
        Case(pg("a", 0, pg_stat_archiver_last_archive_age=flat(T.wal_archive_max_age_minutes * 60 + 60)),
             {"job": PG, "instance": "a", "__name__": "pg_stat_archiver_last_archive_age"}),
        Case({**pg("a", 0, pg_stat_archiver_last_archive_age=flat(120)),
              **pg("b", 1, pg_stat_archiver_last_archive_age=flat(99999))})),
    "PgBouncerUnavailable": (
        Case({'kube_deployment_status_replicas_available{namespace="n8n", deployment="n8n-postgres-pooler"}':
              flat(0)}, {}),
        # another Deployment at zero is not the pooler
        Case({'kube_deployment_status_replicas_available{namespace="n8n", deployment="n8n-postgres-pooler"}':
              flat(2),
              'kube_deployment_status_replicas_available{namespace="n8n", deployment="other"}': flat(0)})),
    "DatabaseDumpStale": (
        Case({f"kube_cronjob_status_last_successful_time{DUMP}": flat(0, 1700)},
             {"namespace": "n8n", "cronjob": "n8n-dumps-dump"}, eval_time="27h"),
        Case({f"kube_cronjob_status_last_successful_time{DUMP}": "0+60x1700"}, eval_time="27h")),
    "SpotWorkerNodesDraining": (
        Case({'kube_node_spec_unschedulable{node="n1"}': flat(1),
              'kube_node_spec_taint{node="n1", key="n8n.io/workers", value="true", effect="NoSchedule"}': flat(1)},
             {}),
        # a cordoned node outside the worker pool is not a spot drain
        Case({'kube_node_spec_unschedulable{node="n2"}': flat(1),
              'kube_node_spec_unschedulable{node="n1"}': flat(0),
              'kube_node_spec_taint{node="n1", key="n8n.io/workers", value="true", effect="NoSchedule"}': flat(1)})),
}


def test_every_alert_has_a_firing_and_a_quiet_case():
    assert {a.name for a in alerts(FULL)} == set(CASES)
    assert all(fire.labels is not None and quiet.labels is None for fire, quiet in CASES.values())


def promtool_tests(rule_file: str, only: str | None = None) -> dict:
    """promtool's unit-test file for every alert's cases (or only those of the alert named ``only``)."""
    tests = []
    for alert in alerts(FULL):
        if only not in (None, alert.name):
            continue
        rule = alert.rule(FULL.runbooks)
        for case in CASES[alert.name]:
            expected = [] if case.labels is None else [{
                "exp_labels": {**{k: v for k, v in case.labels.items() if k != "__name__"}, **rule["labels"]},
                "exp_annotations": rule["annotations"]}]
            tests.append({
                "name": f"{alert.name} {'fires' if expected else 'stays quiet'}",
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in case.series.items()],
                "alert_rule_test": [{"eval_time": case.eval_time, "alertname": alert.name, "exp_alerts": expected}],
            })
    return {"rule_files": [rule_file], "evaluation_interval": "1m", "tests": tests}


def run_promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120)


@needs_promtool
def test_promtool_accepts_the_rules(tmp_path: Path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": rule_groups(FULL)}, sort_keys=False))
    checked = run_promtool("check", "rules", str(rules))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(CASES)} rules found" in checked.stdout


@needs_promtool
@pytest.mark.parametrize("name", CASES)
def test_promtool_sees_the_alert_fire_and_stay_quiet_as_designed(tmp_path: Path, name: str):
    """One alert at a time, its rule alone in the file: promtool evaluates every rule of the file at every step, and
    a day-long case over all of them is what made one run for every alert take 18 s."""
    [group] = [g for g in rule_groups(FULL) if any(r["alert"] == name for r in g["rules"])]
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": [{**group, "rules": [r for r in group["rules"] if r["alert"] == name]}]},
                                    sort_keys=False))
    suite = tmp_path / "tests.yaml"
    suite.write_text(yaml.safe_dump(promtool_tests(rules.name, only=name), sort_keys=False))
    result = run_promtool("test", "rules", str(suite))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_promtool_would_catch_a_wrong_expectation(tmp_path: Path):
    """The harness can fail: swap the cases of one alert and promtool must say so."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": rule_groups(FULL)}, sort_keys=False))
    suite = promtool_tests(rules.name)
    suite["tests"] = [t for t in suite["tests"] if t["name"].startswith("N8nQueueBacklog")]
    suite["tests"][0]["alert_rule_test"][0]["exp_alerts"] = []
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(suite, sort_keys=False))
    assert run_promtool("test", "rules", str(tmp_path / "tests.yaml")).returncode != 0


def test_rules_follow_the_stack():
    """RDS/ElastiCache stacks carry no Patroni/Redis rules (CloudWatch alarms watch those); thresholds flow in."""
    managed = replace(FULL, redis_in_cluster=False, patroni_cluster=None, wal_archive=False, spot_pool=False,
                      thresholds=replace(T, queue_backlog_jobs=7))
    names = {a.name for a in alerts(managed)}
    assert not any(n.startswith(("Redis", "Postgres", "Patroni", "Spot")) for n in names)
    assert {"N8nQueueBacklog", "DatabaseDumpStale"} <= names
    backlog = next(a for a in alerts(managed) if a.name == "N8nQueueBacklog")
    assert backlog.expr.endswith("> 7")


def test_runbooks_point_at_sections_of_the_operations_guide():
    guide = (Path(__file__).parent.parent / "docs" / "operations.md").read_text()
    for alert in alerts(FULL):
        assert alert.rule(FULL.runbooks)["annotations"]["runbook_url"] == f"{FULL.runbooks}#{alert.anchor}"
        assert f'<a id="{alert.anchor}"></a>' in guide, f"docs/operations.md has no section for {alert.name}"


def test_metric_names_are_extracted_from_expressions():
    assert metric_names('sum by (le) (rate(a_bucket{job="x"}[5m])) > 1 and on (instance) b == 0') == {"a_bucket", "b"}
    assert "n8n_queue_length" not in set().union(*(metric_names(a.expr) for a in alerts(FULL)))
