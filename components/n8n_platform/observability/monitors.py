"""Scrape targets as Prometheus Operator objects: what each role serves, on which port and path, under which job.

- **main, webhook processors, workers**: a ServiceMonitor per role on its Service's ``http`` port (5678),
  ``/metrics``. Workers are scraped per pod through their headless Service (their only listener is the
  health/metrics server, ``QUEUE_HEALTH_CHECK_ACTIVE``).
- **in-cluster Redis**: a PodMonitor on the redis_exporter sidecar's ``metrics`` port (9121).
- **Patroni**: a PodMonitor on every Spilo pod with two endpoints: Patroni's REST API ``/metrics`` (8008) and the
  postgres_exporter sidecar (9187).

Every endpoint relabels ``job`` to :data:`.rules.JOBS`, so alert rules, the dashboard and the e2e's Prometheus
agree on one name per role whatever the Service is called. Objects carry the ``release`` label that
kube-prometheus-stack selects on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import k8s
from ..namespace import PATRONI_API_PORT, POSTGRES_EXPORTER_PORT, SELECTORS, spilo_selector
from .rules import JOBS

SCRAPE_INTERVAL = "30s"
N8N_ROLES = ("main", "webhook", "worker")


@dataclass(frozen=True)
class Endpoint:
    """One scrape endpoint, as the e2e's Prometheus also configures it."""

    job: str
    port: str | int
    """Port name on the Service/pod, or a number for containers the operator builds (Spilo)."""
    path: str = "/metrics"


def endpoint(e: Endpoint, *, pod: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"path": e.path, "interval": SCRAPE_INTERVAL, "scheme": "http",
                           "relabelings": [{"action": "replace", "targetLabel": "job", "replacement": e.job}]}
    if isinstance(e.port, int):
        out["portNumber" if pod else "targetPort"] = e.port
    else:
        out["port"] = e.port
    return out


def _meta(name: str, namespace: str, release: str) -> dict[str, Any]:
    meta = k8s.metadata(name, namespace, "observability")
    meta["labels"]["release"] = release
    return meta


N8N_ENDPOINT = {role: Endpoint(JOBS[role], "http") for role in N8N_ROLES}
REDIS_ENDPOINT = Endpoint(JOBS["redis"], "metrics")
PATRONI_ENDPOINTS = (Endpoint(JOBS["patroni"], PATRONI_API_PORT), Endpoint(JOBS["postgres"], POSTGRES_EXPORTER_PORT))
"""Spilo's containers are built by the operator: Patroni's port is unnamed there, the sidecar's is ours."""


def n8n_service_monitor(role: str, namespace: str, release: str) -> dict[str, Any]:
    """ServiceMonitor of one n8n role (its Service is labelled with the role as component)."""
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
            "metadata": _meta(f"n8n-{role}", namespace, release),
            "spec": {"selector": {"matchLabels": SELECTORS[role]},
                     "namespaceSelector": {"matchNames": [namespace]},
                     "endpoints": [endpoint(N8N_ENDPOINT[role], pod=False)]}}


def redis_pod_monitor(namespace: str, release: str) -> dict[str, Any]:
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor",
            "metadata": _meta("redis", namespace, release),
            "spec": {"selector": {"matchLabels": SELECTORS["redis"]},
                     "namespaceSelector": {"matchNames": [namespace]},
                     "podMetricsEndpoints": [endpoint(REDIS_ENDPOINT, pod=True)]}}


def patroni_pod_monitor(cluster: str, namespace: str, release: str) -> dict[str, Any]:
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor",
            "metadata": _meta(f"{cluster}-postgres", namespace, release),
            "spec": {"selector": spilo_selector(cluster),
                     "namespaceSelector": {"matchNames": [namespace]},
                     "podMetricsEndpoints": [endpoint(e, pod=True) for e in PATRONI_ENDPOINTS]}}


def monitors(*, namespace: str, release: str, roles: tuple[str, ...], redis_in_cluster: bool,
             patroni_cluster: str | None) -> list[dict[str, Any]]:
    """Every monitor of the stack: one per n8n role present, Redis and Patroni when they run in the cluster."""
    out = [n8n_service_monitor(r, namespace, release) for r in roles]
    if redis_in_cluster:
        out.append(redis_pod_monitor(namespace, release))
    if patroni_cluster:
        out.append(patroni_pod_monitor(patroni_cluster, namespace, release))
    return out


__all__ = ["N8N_ENDPOINT", "PATRONI_ENDPOINTS", "REDIS_ENDPOINT", "Endpoint", "monitors"]
