"""Observability: monitors, dashboard, exporter sidecars and alarms, through real validators and the mock runtime."""

from __future__ import annotations

import json

import pytest

from n8n_platform.database.patroni import postgresql_manifest
from n8n_platform.database.spec import PatroniSettings
from n8n_platform.observability import exporters
from n8n_platform.observability.alarms import elasticache_alarms, rds_alarms, rds_proxy_alarms
from n8n_platform.observability.dashboard import config_map, dashboard_json, panels
from n8n_platform.observability.monitors import monitors
from n8n_platform.observability.rules import JOBS, alerts, metric_names, prometheus_rule
from n8n_platform.observability.spec import AlertThresholds
from n8n_platform.redis import InClusterRedisSpec, in_cluster_manifests
from tests.harness import run_stack
from tests.test_observability_rules import FULL
from tools.ci import crds, gates

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MONITORS = monitors(namespace="n8n", release="kps", roles=("main", "webhook", "worker"), redis_in_cluster=True,
                    patroni_cluster="n8n-postgres")
SPECS = panels(redis_in_cluster=True, patroni=True)


def test_monitoring_objects_pass_the_operators_own_crd_schemas():
    objects = [*MONITORS, prometheus_rule("n8n", "n8n", "kps", FULL)]
    assert gates.schema_errors(objects) == []
    # the schema really is the operator's: a misspelt field and a wrong type are both refused
    broken = json.loads(json.dumps(MONITORS[0]))
    broken["spec"]["endpoints"][0]["intervall"] = "30s"
    broken["spec"]["endpoints"][0]["relabelings"][0]["action"] = "rewrite"
    messages = " ".join(crds.crd_errors(broken))
    assert "intervall" in messages and "rewrite" in messages


def test_every_role_is_scraped_under_its_job_with_the_release_label():
    jobs = {}
    for m in MONITORS:
        assert m["metadata"]["labels"]["release"] == "kps"
        endpoints = m["spec"].get("endpoints") or m["spec"]["podMetricsEndpoints"]
        for e in endpoints:
            jobs[e["relabelings"][0]["replacement"]] = e.get("port") or e.get("portNumber")
    assert jobs == {"n8n-main": "http", "n8n-webhook": "http", "n8n-worker": "http", "redis": "metrics",
                    "patroni": 8008, "postgres": 9187}
    assert set(jobs) == set(JOBS.values())


def test_dashboard_is_built_by_the_sdk_and_shipped_for_the_grafana_sidecar():
    board = dashboard_json(SPECS)
    timeseries = [p for p in board["panels"] if p["type"] == "timeseries"]
    assert len(timeseries) == len(SPECS)
    assert {t["expr"] for p in timeseries for t in p["targets"]} == {q.expr for s in SPECS for q in s.queries}
    assert all(p["datasource"]["uid"] == "${datasource}" for p in timeseries)
    cm = config_map("n8n-dashboard", "n8n", "n8n", SPECS)
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(cm["data"]["n8n.json"])["uid"] == "n8n-platform"
    assert gates.schema_errors([cm]) == []
    # the guide's panels: queue depth, throughput, failures, latency, workers, Redis and PostgreSQL
    titles = " ".join(s.title for s in SPECS).lower()
    for word in ("queue depth", "throughput", "failures", "latency", "workers", "redis", "postgresql"):
        assert word in titles


def test_no_panel_or_alert_uses_a_metric_n8n_does_not_have():
    used = set().union(*(metric_names(q.expr) for s in SPECS for q in s.queries),
                       *(metric_names(a.expr) for a in alerts(FULL)))
    assert "n8n_queue_length" not in used
    assert {"n8n_scaling_mode_queue_jobs_waiting", "n8n_workflow_failed_total",
            "n8n_http_request_duration_seconds_bucket", "n8n_process_resident_memory_bytes"} <= used


def test_redis_exporter_sidecar_is_restricted_and_reads_the_password_from_the_secret_file():
    spec = InClusterRedisSpec("n8n", "docker.io/library/redis:7.4.6-alpine", "1Gi", "10Gi", "gp3",
                              exporter_image=exporters.REDIS_EXPORTER_IMAGE)
    manifests = in_cluster_manifests(spec)
    sts = manifests[-1]
    sidecar = next(c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == "redis-exporter")
    assert sidecar["image"].endswith(":v1.45.0-alpine")
    assert "cat /etc/redis/secret/redis-password" in sidecar["command"][-1]
    env = {e["name"]: e["value"] for e in sidecar["env"]}
    assert "REDIS_PASSWORD" not in env and env["REDIS_ADDR"] == "rediss://localhost:6379"
    assert env["REDIS_EXPORTER_TLS_CA_CERT_FILE"] == "/etc/redis/tls/ca.crt"
    assert sidecar["securityContext"]["runAsNonRoot"] and not sidecar["securityContext"]["allowPrivilegeEscalation"]
    assert gates.schema_errors(manifests) == []
    assert gates.checkov([*manifests, gates.DEFAULT_DENY]).failed == []


def test_postgres_exporter_runs_as_an_operator_sidecar_with_the_injected_superuser():
    cr = postgresql_manifest(cluster="n8n-postgres", namespace="n8n", patroni=PatroniSettings(), archive=None,
                             role_arn=None, exporter_image=exporters.POSTGRES_EXPORTER_IMAGE)
    (sidecar,) = cr["spec"]["sidecars"]
    env = {e["name"]: e["value"] for e in sidecar["env"]}
    assert env["DATA_SOURCE_USER"] == "$(POSTGRES_USER)" and env["DATA_SOURCE_PASS"] == "$(POSTGRES_PASSWORD)"
    assert "sslmode=require" in env["DATA_SOURCE_URI"]  # pg_hba rejects non-TLS TCP
    assert sidecar["ports"][0]["containerPort"] == 9187
    assert gates.schema_errors([cr]) == []
    assert "sidecars" not in postgresql_manifest(cluster="n8n-postgres", namespace="n8n", patroni=PatroniSettings(),
                                                 archive=None, role_arn=None)["spec"]


def test_cloudwatch_alarms_cover_cpu_memory_storage_lag_and_connections():
    t = AlertThresholds()
    rds = {a.metric: a for a in rds_alarms("n8n-prod", allocated_gb=100, connection_limit=200, t=t)}
    assert set(rds) == {"CPUUtilization", "FreeableMemory", "FreeStorageSpace", "DatabaseConnections"}
    assert rds["FreeStorageSpace"].threshold == 10 * 2**30 and rds["DatabaseConnections"].threshold == 160
    cache = elasticache_alarms(["g-001", "g-002"], t=t)
    assert {a.metric for a in cache} == {"EngineCPUUtilization", "DatabaseMemoryUsagePercentage", "Evictions",
                                         "ReplicationLag"}
    assert [a.dimensions for a in cache if a.metric == "ReplicationLag"] == [{"CacheClusterId": "g-002"}]


def test_rds_proxy_alarms_cover_borrow_latency_clients_availability_and_failed_logins():
    t = AlertThresholds()
    proxy = {a.metric: a for a in rds_proxy_alarms("n8n-prod", clients=210, t=t)}
    assert set(proxy) == {"DatabaseConnectionsBorrowLatency", "ClientConnections", "AvailabilityPercentage",
                          "ClientConnectionsSetupFailedAuth"}
    assert all(a.namespace == "AWS/RDS" and a.dimensions["ProxyName"] == "n8n-prod" for a in proxy.values())
    latency = proxy["DatabaseConnectionsBorrowLatency"]
    assert (latency.statistic, latency.comparison, latency.threshold) == ("Average", "GreaterThanThreshold", 100_000)
    assert latency.period * latency.evaluation_periods == 900  # longer than a failover's spike
    assert proxy["ClientConnections"].threshold == 168 and proxy["ClientConnections"].statistic == "Maximum"
    with pytest.raises(ValueError, match="clients must be at least 1, got 0"):
        rds_proxy_alarms("n8n-prod", clients=0, t=t)
    availability = proxy["AvailabilityPercentage"]
    assert availability.dimensions == {"ProxyName": "n8n-prod", "TargetGroup": "default", "TargetRole": "READ_WRITE"}
    assert (availability.comparison, availability.threshold, availability.evaluation_periods) == (
        "LessThanThreshold", 100, 1)
    auth = proxy["ClientConnectionsSetupFailedAuth"]
    assert (auth.statistic, auth.comparison, auth.threshold, auth.treat_missing_data) == (
        "Sum", "GreaterThanThreshold", 0, "notBreaching")
    assert len({a.name for a in proxy.values()}) == 4 and all(a.name.startswith("rds-proxy-") for a in proxy.values())


def test_prod_alarms_on_its_rds_proxy_and_without_the_pooler_it_has_none():
    rec = run_stack("prod")
    proxy = rec.one("aws:rds/proxy:Proxy")
    alarms = {a.inputs["metricName"]: a for a in rec.find("aws:cloudwatch/metricAlarm:MetricAlarm")
              if a.inputs["dimensions"].get("ProxyName")}
    assert set(alarms) == {"DatabaseConnectionsBorrowLatency", "ClientConnections", "AvailabilityPercentage",
                           "ClientConnectionsSetupFailedAuth"}
    assert {a.inputs["dimensions"]["ProxyName"] for a in alarms.values()} == {proxy.inputs["name"]}
    assert alarms["ClientConnections"].inputs["threshold"] == 210 * 80 // 100  # of n8n's 210 at full scale
    assert all(a.inputs["alarmActions"] and a.inputs["okActions"] for a in alarms.values())
    direct = run_stack("prod", {"database": {"pooler": {"enabled": False}}})
    assert not direct.find("aws:rds/proxy:Proxy")
    metrics = [a.inputs["metricName"] for a in direct.find("aws:cloudwatch/metricAlarm:MetricAlarm")]
    assert "DatabaseConnections" in metrics and "ClientConnections" not in metrics


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_both_stacks_carry_monitors_rules_dashboard_and_prod_the_alarms(stack):
    rec = run_stack(stack)
    kinds = [m["kind"] for m in rec.manifests()]
    assert kinds.count("ServiceMonitor") == 3 and kinds.count("PrometheusRule") == 1
    assert any(m["kind"] == "ConfigMap" and m["metadata"]["labels"].get("grafana_dashboard") == "1"
               for m in rec.manifests())
    alarms = rec.find("aws:cloudwatch/metricAlarm:MetricAlarm")
    if stack == "prod":
        topic = rec.one("aws:sns/topic:Topic")
        assert topic.inputs.get("kmsMasterKeyId")  # encrypted with the stack's customer key
        assert len(alarms) >= 8
        assert all(a.inputs.get("alarmActions") and a.inputs.get("okActions") for a in alarms)
    else:
        assert kinds.count("PodMonitor") == 2 and alarms == []


def test_the_namespace_quota_counts_the_redis_exporter_sidecar():
    """dev runs in-cluster Redis: its quota entry has exactly the rendered pod's containers (Redis + exporter)."""
    from n8n_platform import k8s
    from n8n_platform.platform import quota_workloads
    from n8n_platform.settings import from_config
    from tests.harness import load_stack_config

    rec = run_stack("dev")
    [sts] = [m for m in rec.manifests() if m["kind"] == "StatefulSet" and m["metadata"]["name"] == "redis"]
    rendered = [c["resources"] for c in sts["spec"]["template"]["spec"]["containers"]]
    raw, _ = load_stack_config("dev")
    [redis] = [w for w in quota_workloads(from_config(raw)) if w.name == "redis"]
    assert [k8s.resources(r) for r in redis.containers] == rendered
    assert len(rendered) == 2


def test_patroni_metric_names_are_ones_patroni_writes():
    """Patroni's /metrics cannot run here without a Kubernetes DCS; the names the rules use must at least be ones
    the installed Patroni (4.1, the Spilo generation we target) writes."""
    import re
    from pathlib import Path

    import patroni.api

    written = set(re.findall(r"(patroni_[a-z_]+)\{", Path(patroni.api.__file__).read_text()))
    used = set().union(*(metric_names(a.expr) for a in alerts(FULL)),
                       *(metric_names(q.expr) for s in SPECS for q in s.queries))
    patroni_used = {n for n in used if n.startswith("patroni_")}
    assert patroni_used and patroni_used <= written, patroni_used - written


def test_the_dump_alert_watches_the_cron_job_the_stack_creates():
    rec = run_stack("prod")
    [cron] = [m for m in rec.manifests() if m["kind"] == "CronJob"]
    [rule] = [m for m in rec.manifests() if m["kind"] == "PrometheusRule"]
    [dump] = [r for g in rule["spec"]["groups"] for r in g["rules"] if r["alert"] == "DatabaseDumpStale"]
    assert f'cronjob="{cron["metadata"]["name"]}"' in dump["expr"]
