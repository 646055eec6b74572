"""Observability proven on real software: a real Prometheus (Debian) scrapes real n8n 2.40.7 (main, webhook
processor, worker) and the real redis_exporter and postgres_exporter (Debian) against the e2e's Redis and
PostgreSQL, with the monitors' jobs and the exporters' sidecar environments, and evaluates the platform's rules.

- every metric name an alert or a dashboard panel uses returns series (a renamed metric fails here);
- the backlog alert's expression turns true when the workers are stopped with jobs waiting;
- every panel of the shipped dashboard draws lines from what it collected (docs/dashboard.png: `make dashboard`);
- PostgreSQL runs with the production pgaudit settings: a credential real n8n stores is audited with role and client.
"""

from __future__ import annotations

import json
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from n8n_platform import names
from n8n_platform.observability.dashboard import PanelSpec, Query, panels
from n8n_platform.observability.rules import JOBS, RuleInputs, alerts, metric_names, rule_groups
from n8n_platform.observability.spec import AlertThresholds
from n8n_platform.settings import Settings
from tests.test_database_audit import audit_settings
from tools.testing.e2e.cluster import DB_NAME, DB_SCHEMA, DB_USER, QueueModeCluster
from tools.testing.e2e.dashboard_preview import FAIL_PATH, failing_workflow
from tools.testing.e2e.load import post_json
from tools.testing.e2e.picture import EmptyPanels, draw
from tools.testing.e2e.processes import n8n_cli
from tools.testing.e2e.prometheus import observe
from tools.testing.e2e.servers import free_port

from .conftest import TIMINGS

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("n8n-e2e")]

BACKLOG = 20
THRESHOLDS = replace(AlertThresholds(), queue_backlog_jobs=BACKLOG // 2)
"""The production rules with a backlog threshold the e2e's 20 queued jobs exceed."""
SOURCES_HERE = ("n8n_", "redis_", "pg_", "up")
"""Metric prefixes whose sources run here; patroni_* (Patroni's REST API) and kube_* (kube-state-metrics) need a
Kubernetes cluster and are covered by promtool only."""


def rule_inputs() -> RuleInputs:
    n = Settings.__dataclass_fields__["n8n"].default
    limits = {"main": n.main.resources.memory_limit, "webhook": n.webhook.resources.memory_limit,
              "worker": n.worker.resources.memory_limit}
    return RuleInputs(namespace="n8n", memory_limits=limits, redis_in_cluster=True, patroni_cluster="n8n-postgres",
                      dump_cron_job=None, wal_archive=True, spot_pool=False, thresholds=THRESHOLDS)


@pytest.fixture(scope="module")
def stack(install):
    started = time.monotonic()
    with QueueModeCluster(install, delay_ms=100, extra_workflows=(failing_workflow(),),
                          pg_settings=audit_settings()) as cluster, \
            observe(cluster, rule_groups(rule_inputs())) as (prom, exporters):
        TIMINGS["observability stack start s"] = time.monotonic() - started
        yield cluster, prom, exporters


def used_metric_names() -> dict[str, set[str]]:
    """metric name -> where it is used (alerts and panels), for the metrics whose sources run here."""
    used: dict[str, set[str]] = {}
    for a in alerts(rule_inputs()):
        for name in metric_names(a.expr):
            used.setdefault(name, set()).add(f"alert {a.name}")
    for spec in panels(redis_in_cluster=True, patroni=True):
        for q in spec.queries:
            for name in metric_names(q.expr):
                used.setdefault(name, set()).add(f"panel {spec.title}")
    return {n: w for n, w in used.items() if n.startswith(SOURCES_HERE)}


def test_prometheus_scrapes_every_role_and_exporter(stack):
    _, prom, exporters = stack
    health = prom.wait(lambda: (h := prom.targets_up()) and all(v == ["up"] for v in h.values()) and len(h) == 5
                       and h, 60, "every target up")
    assert set(health) == {JOBS[k] for k in ("main", "webhook", "worker", "redis", "postgres")}, \
        {k: e.log_tail() for k, e in exporters.items()}


def test_every_metric_an_alert_or_a_panel_uses_returns_series(stack):
    cluster, prom, _ = stack
    fail_url = cluster.webhook.url(f"/webhook/{FAIL_PATH}")
    with ThreadPoolExecutor(3) as pool:
        ok = pool.submit(post_json, cluster.webhook_url, 200, 10, timeout=120)
        failed = pool.submit(post_json, fail_url, 10, 2, timeout=120)
        assert ok.result().statuses() == {200: 200}
        assert failed.result().ok == []  # the failing workflow answers 500
    used = used_metric_names()

    def missing() -> list[str]:
        return sorted(n for n in used if not prom.has_series(n))

    try:  # main's queue gauges refresh every 20 s
        prom.wait(lambda: not missing(), 60, "series for every metric name")
    except AssertionError:
        pytest.fail("real software did not expose: " + "; ".join(f"{n} (used by {sorted(used[n])})"
                                                                  for n in missing()))
    # the failure-rate inputs count what happened (once the next scrape has them)
    def total(metric: str) -> float:
        result = prom.query(f"sum({metric})")
        return float(result[0]["value"][1]) if result else 0.0

    prom.wait(lambda: total("n8n_workflow_failed_total") >= 10 and total("n8n_workflow_success_total") >= 200, 30,
              "the failed and succeeded executions to be counted")
    TIMINGS["metric names proven on real processes"] = len(used)


def test_backlog_alert_turns_true_when_workers_stop_with_jobs_waiting(stack):
    cluster, prom, _ = stack
    backlog = next(a for a in alerts(rule_inputs()) if a.name == "N8nQueueBacklog")
    assert prom.query(backlog.expr) == []  # quiet before
    worker = next(w for w in cluster.workers if w.process.alive())
    worker.process.signal(signal.SIGTERM)
    assert worker.process.wait_exit(60) == 0, worker.process.log_tail()
    worker.runner.stop()
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(post_json, cluster.webhook_url, BACKLOG, BACKLOG, timeout=240, start_index=50_000)
        t0 = time.monotonic()
        value = prom.wait(lambda: prom.query(backlog.expr), 90, "the backlog expression to turn true")
        TIMINGS["backlog alert expression true after s"] = time.monotonic() - t0
        assert float(value[0]["value"][1]) >= BACKLOG
        # Prometheus's own rule evaluation agrees: the alerts are pending (their `for` is minutes)
        states = prom.wait(lambda: (s := prom.alert_states()).get("N8nQueueBacklog") and
                           s.get("N8nNoWorkerUp") and s, 30, "N8nQueueBacklog and N8nNoWorkerUp to be pending")
        assert states["N8nQueueBacklog"] in ("pending", "firing") and states["N8nNoWorkerUp"] in ("pending", "firing")
        # the exporter's independent view of the same backlog: LLEN bull:jobs:wait
        assert float(prom.query('redis_key_size{key="bull:jobs:wait"}')[0]["value"][1]) >= BACKLOG
        new = cluster.start_worker("worker-obs")
        new.process.wait_ready()
        prom.set_targets(JOBS["worker"], [new.process.http_port])
        assert pending.result(timeout=240).statuses() == {200: BACKLOG}
    prom.wait(lambda: prom.query(backlog.expr) == [], 60, "the backlog expression to clear")


def test_every_dashboard_panel_draws_from_the_collected_series(stack, tmp_path):
    """Each panel of the shipped dashboard, with its own queries, shows lines over this run (draw refuses an empty
    panel); `make dashboard` draws docs/dashboard.png the same way under load and a fault."""
    _, prom, _ = stack
    specs = panels(redis_in_cluster=True, patroni=True)
    target = tmp_path / "dashboard.png"
    start, end = prom.created_at, time.time()  # the whole module's run, however long the load took
    drawn = draw(prom, specs, start, end, target)
    assert list(drawn) == [s.title for s in specs] and all(drawn.values()), drawn
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 50_000
    # A panel whose query finds nothing fails the drawing, naming it, and writes no picture.
    ghost = PanelSpec("Ghost", "short", (Query("n8n_no_such_metric_total", "none"),), "n8n")
    with pytest.raises(EmptyPanels, match=r"n8n / Ghost \(n8n_no_such_metric_total\)"):
        draw(prom, [specs[0], ghost], start, end, tmp_path / "ghost.png")
    assert not (tmp_path / "ghost.png").exists()


def test_a_credential_real_n8n_stores_is_audited_with_role_and_client(stack):
    cluster, _, _ = stack
    # n8n created credentials_entity at its first start; the next bootstrap run (as deployed) places the audit grant
    cluster.pg.create_n8n_database(DB_NAME, DB_USER, DB_SCHEMA, cluster.secret(names.DB_PASSWORD))
    secret = "e2e-audit-secret-value"
    credentials = cluster.workdir / "credentials.json"
    credentials.write_text(json.dumps([{"id": "e2eAuditCred0001", "name": "e2e audit", "type": "httpHeaderAuth",
                                        "data": {"name": "X-Api-Key", "value": secret}}]))
    before = len(cluster.pg.log_path.read_text(errors="replace").splitlines())
    n8n_cli(cluster.install, ["import:credentials", f"--input={credentials}"], cluster.env("main", "cli", free_port()))
    lines = cluster.pg.log_path.read_text(errors="replace").splitlines()[before:]
    audited = [line for line in lines if "AUDIT: OBJECT" in line and f"{DB_SCHEMA}.credentials_entity" in line]
    assert audited, "\n".join(line for line in lines if "AUDIT" in line)[:3000]
    assert any(",INSERT," in line and f"user={DB_USER}" in line and "client=127.0.0.1" in line for line in audited)
    assert not any(secret in line for line in lines)
    with cluster.pg.connect(DB_NAME) as conn:  # n8n stored it (encrypted)
        stored = conn.execute(f"SELECT data FROM {DB_SCHEMA}.credentials_entity WHERE id = 'e2eAuditCred0001'")
        assert secret not in stored.fetchone()[0]
