"""The n8n Grafana dashboard: panels as plain data, rendered with Grafana's own dashboards-as-code SDK.

The panel list (:func:`panels`) is the single source: :func:`dashboard_json` builds the Grafana JSON from it with
``grafana-foundation-sdk`` (Grafana Labs' generated builders, kept in step with Grafana's schema; grafanalib is
community-maintained and lags it), the e2e asks real Prometheus for every query in it, and tools/testing/e2e draws the
docs picture from the same queries. The dashboard ships as a ConfigMap labelled ``grafana_dashboard: "1"``, which
kube-prometheus-stack's Grafana sidecar loads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .rules import JOBS, replication_lag

UID = "n8n-platform"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str


@dataclass(frozen=True)
class PanelSpec:
    """One time-series panel."""

    title: str
    unit: str
    queries: tuple[Query, ...]
    row: str
    """Row the panel sits in (n8n, Redis, PostgreSQL)."""


def panels(*, redis_in_cluster: bool, patroni: bool) -> list[PanelSpec]:
    """The dashboard's panels for a stack (Redis and PostgreSQL rows only where the exporters run)."""
    m, w, h = JOBS["main"], JOBS["worker"], JOBS["webhook"]
    out = [
        PanelSpec("Queue depth", "short", (
            Query(f'sum(n8n_scaling_mode_queue_jobs_waiting{{job="{m}"}})', "waiting"),
            Query(f'sum(n8n_scaling_mode_queue_jobs_active{{job="{m}"}})', "active")), "n8n"),
        PanelSpec("Throughput (jobs/s)", "ops", (
            Query(f'sum(rate(n8n_scaling_mode_queue_jobs_completed{{job="{m}"}}[2m]))', "completed"),
            Query('sum(rate(n8n_workflow_success_total[2m]))', "executions succeeded")), "n8n"),
        PanelSpec("Failures (per s)", "ops", (
            Query('sum(rate(n8n_workflow_failed_total[2m]))', "executions failed"),
            Query(f'sum(rate(n8n_scaling_mode_queue_jobs_failed{{job="{m}"}}[2m]))', "jobs failed (crash/stall)")),
            "n8n"),
        PanelSpec("Webhook latency", "s", tuple(
            Query(f'histogram_quantile({q}, sum by (le) (rate(n8n_webhook_request_duration_seconds_bucket'
                  f'{{job=~"{h}|{m}"}}[2m])))', f"p{round(q * 100)}") for q in (0.5, 0.95, 0.99)), "n8n"),
        PanelSpec("API latency (main)", "s", tuple(
            Query(f'histogram_quantile({q}, sum by (le) (rate(n8n_http_request_duration_seconds_bucket'
                  f'{{job="{m}"}}[2m])))', f"p{round(q * 100)}") for q in (0.5, 0.95, 0.99)), "n8n"),
        PanelSpec("Execution duration", "s", tuple(
            Query(f'histogram_quantile({q}, sum by (le) (rate(n8n_workflow_execution_duration_seconds_bucket[2m])))',
                  f"p{round(q * 100)}") for q in (0.5, 0.95)), "n8n"),
        PanelSpec("Workers up and jobs in flight", "short", (
            Query(f'sum(up{{job="{w}"}})', "workers up"),
            Query(f'sum(n8n_scaling_mode_queue_jobs_active{{job="{m}"}})', "jobs running (of concurrency x workers)"),
            Query(f'sum(rate(n8n_queue_job_dequeued_total{{job="{w}"}}[2m]))', "jobs taken per s")), "n8n"),
        PanelSpec("Memory (resident)", "bytes", (
            Query("max by (job) (n8n_process_resident_memory_bytes{job=~\"n8n-.*\"})", "{{job}}"),), "n8n"),
        PanelSpec("Event-loop lag p99", "s", (
            Query("max by (job) (n8n_nodejs_eventloop_lag_p99_seconds{job=~\"n8n-.*\"})", "{{job}}"),), "n8n"),
        PanelSpec("Database pool", "short", (
            Query("sum by (job) (n8n_db_pool_connections_active)", "{{job}} active"),
            Query("sum by (job) (n8n_db_pool_requests_pending)", "{{job}} waiting")), "n8n"),
    ]
    if redis_in_cluster:
        r = JOBS["redis"]
        out += [
            PanelSpec("Redis memory / maxmemory", "percentunit", (
                Query(f'redis_memory_used_bytes{{job="{r}"}} / (redis_memory_max_bytes{{job="{r}"}} > 0)', "used"),),
                "Redis"),
            PanelSpec("Redis up and clients", "short", (
                Query(f'redis_up{{job="{r}"}}', "up"),
                Query(f'redis_connected_clients{{job="{r}"}}', "clients")), "Redis"),
        ]
    if patroni:
        p = JOBS["postgres"]
        out += [
            PanelSpec("PostgreSQL connections", "short", (
                Query(f'sum by (instance) (pg_stat_activity_count{{job="{p}"}})', "{{instance}}"),
                Query(f'max(pg_settings_max_connections{{job="{p}"}})', "max_connections")), "PostgreSQL"),
            PanelSpec("PostgreSQL up and replication lag", "short", (
                Query(f'pg_up{{job="{p}"}}', "up {{instance}}"),
                Query(replication_lag(), "replica lag s {{instance}}")), "PostgreSQL"),
        ]
    return out


def dashboard_json(specs: list[PanelSpec], title: str = "n8n") -> dict[str, Any]:
    """The Grafana dashboard model, built with grafana-foundation-sdk."""
    from grafana_foundation_sdk.builders import dashboard as gd
    from grafana_foundation_sdk.builders import prometheus, timeseries
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models.dashboard import DataSourceRef, GridPos

    source = DataSourceRef(type_val=DATASOURCE["type"], uid=DATASOURCE["uid"])
    board = (gd.Dashboard(title).uid(UID).tags(["n8n", "queue-mode"]).refresh("30s").time("now-6h", "now")
             .timezone("utc").editable()
             .with_variable(gd.DatasourceVariable("datasource").label("Data source").type("prometheus")))
    y = 0
    for row in dict.fromkeys(s.row for s in specs):
        board = board.with_row(gd.Row(row).grid_pos(GridPos(h=1, w=24, x=0, y=y)))
        y += 1
        for n, spec in enumerate(s for s in specs if s.row == row):
            panel = (timeseries.Panel().title(spec.title).unit(spec.unit).datasource(source)
                     .grid_pos(GridPos(h=8, w=8, x=(n % 3) * 8, y=y + (n // 3) * 8)))
            for ref, q in enumerate(spec.queries):
                panel = panel.with_target(prometheus.Dataquery().expr(q.expr).legend_format(q.legend)
                                          .ref_id(chr(ord("A") + ref)))
            board = board.with_panel(panel)
        y += 8 * ((sum(1 for s in specs if s.row == row) + 2) // 3)
    return json.loads(json.dumps(board.build(), cls=JSONEncoder))


def config_map(name: str, namespace: str, folder: str, specs: list[PanelSpec]) -> dict[str, Any]:
    """The dashboard as a ConfigMap the kube-prometheus-stack Grafana sidecar loads (into ``folder``)."""
    from .. import k8s

    meta = k8s.metadata(name, namespace, "observability", annotations={"grafana_folder": folder})
    meta["labels"]["grafana_dashboard"] = "1"
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
            "data": {"n8n.json": json.dumps(dashboard_json(specs), indent=1, sort_keys=True)}}
