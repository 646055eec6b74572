"""Exporter sidecars for the in-cluster data layer: redis_exporter next to Redis, postgres_exporter next to each
Patroni member (through the Zalando operator's ``sidecars``).

Images are pinned to the versions the e2e proves every metric name on (Debian bookworm's
prometheus-redis-exporter 1.45.0 and prometheus-postgres-exporter 0.11.1): newer exporters renamed some series
(postgres_exporter 0.13+ reports replication lag as ``pg_replication_lag_seconds``), so an upgrade is a reviewed
change to the rules, the dashboard and these pins together. The environment builders are shared with the e2e,
which runs the Debian binaries with the same variables.
"""

from __future__ import annotations

from typing import Any

from .. import k8s
from ..namespace import POSTGRES_EXPORTER_PORT, POSTGRES_PORT, REDIS_EXPORTER_PORT, REDIS_PORT
from ..vocabulary import resources

REDIS_EXPORTER_RESOURCES = resources("10m", "200m", "32Mi", "64Mi")
POSTGRES_EXPORTER_RESOURCES = resources("10m", "200m", "32Mi", "128Mi")
"""Fixed sidecar resources (the namespace quota counts them, see platform.quota_workloads)."""

REDIS_EXPORTER_IMAGE = "quay.io/oliver006/redis_exporter:v1.45.0-alpine"
"""Alpine variant: it has the shell that reads the password file (the scratch image has none)."""
POSTGRES_EXPORTER_IMAGE = "quay.io/prometheuscommunity/postgres-exporter:v0.11.1"
BACKLOG_KEY = "bull:jobs:wait"
"""Bull's waiting list: redis_exporter reports its length as ``redis_key_size`` (a backlog view independent of
main's queue gauges)."""


def redis_exporter_env(*, port: int = REDIS_PORT, ca_file: str | None = None) -> dict[str, str]:
    """redis_exporter's settings (``REDIS_PASSWORD`` is read from the mounted Secret at start, never set here)."""
    env = {
        "REDIS_ADDR": f"{'rediss' if ca_file else 'redis'}://localhost:{port}",
        "REDIS_EXPORTER_WEB_LISTEN_ADDRESS": f":{REDIS_EXPORTER_PORT}",
        "REDIS_EXPORTER_CHECK_SINGLE_KEYS": BACKLOG_KEY,
        "REDIS_EXPORTER_LOG_FORMAT": "json",
    }
    if ca_file:
        env["REDIS_EXPORTER_TLS_CA_CERT_FILE"] = ca_file
    return env


def redis_exporter_script(password_file: str, binary: str = "/redis_exporter") -> str:
    """Start the exporter with the password read from the mounted Secret file (not in the pod spec or argv)."""
    return f'REDIS_PASSWORD="$(cat {password_file})" exec {binary}'


def redis_exporter_container(image: str, *, password_file: str, ca_file: str, mounts: list[dict[str, Any]]
                             ) -> dict[str, Any]:
    """The sidecar in the Redis pod: TLS to localhost verified against the pod's CA, restricted security."""
    return {
        "name": "redis-exporter",
        "image": image,
        "imagePullPolicy": "Always",
        "command": ["sh", "-c", redis_exporter_script(password_file)],
        "env": [{"name": k, "value": v} for k, v in sorted(redis_exporter_env(ca_file=ca_file).items())],
        "ports": [{"name": "metrics", "containerPort": REDIS_EXPORTER_PORT, "protocol": "TCP"}],
        "resources": k8s.resources(REDIS_EXPORTER_RESOURCES),
        "securityContext": k8s.container_security_context(),
        "livenessProbe": {"httpGet": {"path": "/health", "port": "metrics"}, "periodSeconds": 30},
        "readinessProbe": {"httpGet": {"path": "/health", "port": "metrics"}, "periodSeconds": 10},
        "volumeMounts": mounts,
    }


def postgres_exporter_env(*, host: str = "localhost", port: int = POSTGRES_PORT, user: str = "$(POSTGRES_USER)",
                          password: str = "$(POSTGRES_PASSWORD)") -> dict[str, str]:
    """postgres_exporter's settings. In a Spilo pod the operator gives every sidecar POSTGRES_USER and
    POSTGRES_PASSWORD (the superuser's); Kubernetes expands the ``$(...)`` references."""
    return {
        "DATA_SOURCE_URI": f"{host}:{port}/postgres?sslmode=require",
        "DATA_SOURCE_USER": user,
        "DATA_SOURCE_PASS": password,
        "PG_EXPORTER_WEB_LISTEN_ADDRESS": f":{POSTGRES_EXPORTER_PORT}",
    }


def postgres_exporter_sidecar(image: str) -> dict[str, Any]:
    """An entry of the ``postgresql`` resource's ``sidecars``."""
    return {
        "name": "postgres-exporter",
        "image": image,
        "env": [{"name": k, "value": v} for k, v in postgres_exporter_env().items()],
        "ports": [{"name": "pg-metrics", "containerPort": POSTGRES_EXPORTER_PORT, "protocol": "TCP"}],
        "resources": k8s.resources(POSTGRES_EXPORTER_RESOURCES),
        "securityContext": k8s.container_security_context(),
    }
