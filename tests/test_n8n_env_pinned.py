"""The n8n environment contract pinned value by value: every variable each role gets, the boundaries that switch
variables on and off, and every setting the platform wires through (`n8n_app_args`). A change to any emitted value fails
here (test_n8n_env.py says why the values are what they are; tests/e2e runs them in real n8n)."""

from __future__ import annotations

import dataclasses

import pytest

from n8n_platform import names
from n8n_platform.connections import SECRETS_DIR, CaBundle, DatabaseConnection, RedisConnection, SecretKeyRef
from n8n_platform.n8n import env as n8n
from n8n_platform.n8n.app import workloads_spec
from n8n_platform.n8n.env import N8nEnvInputs, n8n_env, runner_env
from n8n_platform.n8n.spec import N8N_VERSION
from n8n_platform.platform import n8n_app_args
from n8n_platform.settings import from_config
from tests.harness import load_stack_config

DB = DatabaseConnection(host="db.internal", port=6543, database="flows", user="flow_user", schema="flow_schema",
                        password=SecretKeyRef(names.N8N_SECRET, names.DB_PASSWORD), ssl=True,
                        ca=CaBundle(source="configMap", name="rds-ca", key="ca.pem"))
REDIS = RedisConnection(host="redis.internal", port=6380, tls=True,
                        password=SecretKeyRef(names.N8N_SECRET, names.REDIS_PASSWORD), ca=None, managed=True,
                        prefix="q")
INPUTS = N8nEnvInputs(hostname="n8n.example.com", db=DB, redis=REDIS, worker_concurrency=20)
S = SECRETS_DIR

COMMON = {
    "NODE_ENV": "production",
    "EXECUTIONS_MODE": "queue",
    "N8N_USER_FOLDER": "/home/node",
    "N8N_ENCRYPTION_KEY_FILE": f"{S}/{names.ENCRYPTION_KEY}",
    "GENERIC_TIMEZONE": "UTC",
    "N8N_LOG_LEVEL": "info",
    "N8N_LOG_OUTPUT": "console",
    "N8N_LOG_FORMAT": "json",
    "N8N_DIAGNOSTICS_ENABLED": "false",
    "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
    "N8N_GRACEFUL_SHUTDOWN_TIMEOUT": "60",
    "N8N_DEFAULT_BINARY_DATA_MODE": "database",
    "N8N_EVENTBUS_LOGWRITER_MAXFILESIZEINKB": "4096",
    "N8N_EVENTBUS_LOGWRITER_KEEPLOGCOUNT": "2",
    "OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS": "true",
    "QUEUE_WORKER_LOCK_DURATION": "120000",
    "QUEUE_WORKER_LOCK_RENEW_TIME": "15000",
    "QUEUE_WORKER_STALLED_INTERVAL": "30000",
    # database fault tolerance (#13)
    "DB_PING_INTERVAL_SECONDS": "1",
    "DB_PING_MAX_FAILURES_BEFORE_RECOVERY": "2",
    "DB_RECOVERY_BACKOFF_MAX_MS": "5000",
    "DB_POSTGRESDB_DESTROY_TIMEOUT_MS": "3000",
    "DB_CONNECTION_ACQUISITION_TIMEOUT_MS": "120000",
    # metrics (#9): what every role reports, and no high-cardinality labels
    "N8N_METRICS_INCLUDE_DEFAULT_METRICS": "true",
    "N8N_METRICS_INCLUDE_API_ENDPOINTS": "true",
    "N8N_METRICS_INCLUDE_API_METHOD_LABEL": "true",
    "N8N_METRICS_INCLUDE_API_STATUS_CODE_LABEL": "true",
    "N8N_METRICS_INCLUDE_DB_POOL_METRICS": "true",
    "N8N_METRICS_INCLUDE_MESSAGE_EVENT_BUS_METRICS": "true",
    "N8N_METRICS_INCLUDE_WORKFLOW_EXECUTION_DURATION": "true",
    "N8N_METRICS_INCLUDE_API_PATH_LABEL": "false",
    "N8N_METRICS_INCLUDE_WORKFLOW_ID_LABEL": "false",
    "N8N_METRICS_INCLUDE_WORKFLOW_NAME_LABEL": "false",
    "N8N_METRICS_INCLUDE_NODE_TYPE_LABEL": "false",
    "N8N_METRICS_INCLUDE_CREDENTIAL_TYPE_LABEL": "false",
    "EXECUTIONS_DATA_PRUNE": "true",
    "EXECUTIONS_DATA_MAX_AGE": "336",
    "EXECUTIONS_DATA_PRUNE_MAX_COUNT": "50000",
    "N8N_METRICS": "true",
    "N8N_RUNNERS_MODE": "external",
    "N8N_RUNNERS_TASK_TIMEOUT": "300",
    "N8N_UNVERIFIED_PACKAGES_ENABLED": "false",
    "N8N_COMMUNITY_PACKAGES_ENABLED": "false",
    "N8N_COMPRESSION_NODE_MAX_DECOMPRESSED_SIZE_BYTES": "268435456",
    "N8N_COMPRESSION_NODE_MAX_ZIP_ENTRIES": "1000",
    # URLs
    "N8N_HOST": "n8n.example.com",
    "N8N_PROTOCOL": "https",
    "N8N_PORT": "5678",
    "N8N_PROXY_HOPS": "1",
    "N8N_PUSH_BACKEND": "websocket",
    "N8N_SECURE_COOKIE": "true",
    "N8N_EDITOR_BASE_URL": "https://n8n.example.com/",
    "N8N_WEBHOOK_URL": "https://n8n.example.com/",
    # database
    "DB_TYPE": "postgresdb",
    "DB_POSTGRESDB_HOST": "db.internal",
    "DB_POSTGRESDB_PORT": "6543",
    "DB_POSTGRESDB_DATABASE": "flows",
    "DB_POSTGRESDB_USER": "flow_user",
    "DB_POSTGRESDB_PASSWORD_FILE": f"{S}/{names.DB_PASSWORD}",
    "DB_POSTGRESDB_SCHEMA": "flow_schema",
    "DB_POSTGRESDB_SSL_ENABLED": "true",
    "DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED": "true",
    "DB_POSTGRESDB_SSL_CA_FILE": "/etc/n8n/ca/db/ca.pem",
    # redis
    "QUEUE_BULL_REDIS_HOST": "redis.internal",
    "QUEUE_BULL_REDIS_PORT": "6380",
    "QUEUE_BULL_REDIS_DB": "0",
    "QUEUE_BULL_PREFIX": "q",
    "QUEUE_BULL_REDIS_TLS": "true",
    "QUEUE_BULL_REDIS_KEEP_ALIVE": "true",
    "QUEUE_BULL_REDIS_KEEP_ALIVE_DELAY": "5000",
    "QUEUE_BULL_REDIS_KEEP_ALIVE_INTERVAL": "5000",
    "QUEUE_BULL_REDIS_TIMEOUT_THRESHOLD": "90000",
    "QUEUE_BULL_REDIS_PASSWORD_FILE": f"{S}/{names.REDIS_PASSWORD}",
}
EXPECTED = {
    "main": {**COMMON, "DB_POSTGRESDB_POOL_SIZE": "10", "N8N_DISABLE_PRODUCTION_MAIN_PROCESS": "true",
             "N8N_METRICS_INCLUDE_QUEUE_METRICS": "true", "N8N_METRICS_QUEUE_METRICS_INTERVAL": "20",
             "N8N_METRICS_INCLUDE_WEBHOOK_METRICS": "true", "N8N_EXECUTIONS_QUEUE_RECOVERY_INTERVAL": "1",
             "N8N_EXECUTIONS_QUEUE_RECOVERY_BATCH": "2000"},
    "webhook": {**COMMON, "DB_POSTGRESDB_POOL_SIZE": "5", "N8N_METRICS_INCLUDE_WEBHOOK_METRICS": "true"},
    "worker": {**COMMON, "DB_POSTGRESDB_POOL_SIZE": "10", "QUEUE_HEALTH_CHECK_ACTIVE": "true",
               "QUEUE_HEALTH_CHECK_PORT": "5678", "N8N_RUNNERS_AUTH_TOKEN_FILE": f"{S}/{names.RUNNERS_AUTH_TOKEN}",
               "N8N_RUNNERS_BROKER_LISTEN_ADDRESS": "127.0.0.1", "N8N_RUNNERS_BROKER_PORT": "5679"},
}


@pytest.mark.parametrize("role", n8n.ROLES)
def test_each_role_gets_exactly_this_environment(role):
    assert n8n_env(role, INPUTS) == EXPECTED[role]


def test_the_runner_sidecar_gets_exactly_this_environment():
    assert runner_env(INPUTS) == {
        "N8N_RUNNERS_TASK_BROKER_URI": "http://127.0.0.1:5679",
        "N8N_RUNNERS_AUTH_TOKEN_FILE": f"{S}/{names.RUNNERS_AUTH_TOKEN}",
        "N8N_RUNNERS_MAX_CONCURRENCY": "20",
        "N8N_RUNNERS_TASK_TIMEOUT": "300",
        "N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT": "15",
        "N8N_RUNNERS_LAUNCHER_HEALTH_CHECK_PORT": "5680",
        "N8N_RUNNERS_LAUNCHER_LOG_LEVEL": "info",
        "GENERIC_TIMEZONE": "UTC",
    }


@pytest.mark.parametrize(("log_level", "launcher"), [("debug", "info"), ("info", "info"), ("warn", "warn"),
                                                      ("error", "error")])
def test_the_launcher_logs_at_info_at_most(log_level, launcher):
    e = runner_env(dataclasses.replace(INPUTS, log_level=log_level))
    assert e["N8N_RUNNERS_LAUNCHER_LOG_LEVEL"] == launcher


def test_runner_concurrency_is_the_worker_concurrency_but_at_least_5():
    assert runner_env(dataclasses.replace(INPUTS, worker_concurrency=4))["N8N_RUNNERS_MAX_CONCURRENCY"] == "5"
    assert runner_env(dataclasses.replace(INPUTS, worker_concurrency=6))["N8N_RUNNERS_MAX_CONCURRENCY"] == "6"


def test_every_input_reaches_its_variable():
    inputs = dataclasses.replace(INPUTS, protocol="http", hostname="flows.internal", timezone="Europe/Berlin",
                                 log_level="warn", graceful_shutdown_seconds=45, execution_max_age_hours=24,
                                 execution_max_count=700, proxy_hops=2, metrics=False, secrets_dir="/s")
    e = n8n_env("main", inputs)
    assert (e["N8N_HOST"], e["N8N_PROTOCOL"], e["N8N_PROXY_HOPS"]) == ("flows.internal", "http", "2")
    assert e["N8N_SECURE_COOKIE"] == "false"  # a secure cookie would never come back over plain http
    assert e["N8N_EDITOR_BASE_URL"] == e["N8N_WEBHOOK_URL"] == "http://flows.internal/"
    assert (e["GENERIC_TIMEZONE"], e["N8N_LOG_LEVEL"], e["N8N_GRACEFUL_SHUTDOWN_TIMEOUT"]) == (
        "Europe/Berlin", "warn", "45")
    assert (e["EXECUTIONS_DATA_MAX_AGE"], e["EXECUTIONS_DATA_PRUNE_MAX_COUNT"], e["N8N_METRICS"]) == (
        "24", "700", "false")
    assert "N8N_METRICS_INCLUDE_QUEUE_METRICS" not in e
    assert e["N8N_ENCRYPTION_KEY_FILE"] == f"/s/{names.ENCRYPTION_KEY}"
    assert runner_env(inputs)["GENERIC_TIMEZONE"] == "Europe/Berlin"


@pytest.mark.parametrize(("version", "legacy"), [
    ("2.29.9", True), ("2.29.0", True), ("2.1.0", True), ("2.30.0", False), ("2.30.1", False), ("2.100.0", False),
    ("3.0.0", False), ("2.30.0.1", False),
])
def test_the_legacy_webhook_url_stops_exactly_at_2_30_0(version, legacy):
    e = n8n_env("webhook", dataclasses.replace(INPUTS, version=version))
    assert ("WEBHOOK_URL" in e) is legacy
    if legacy:
        assert e["WEBHOOK_URL"] == "https://n8n.example.com/"


@pytest.mark.parametrize(("concurrency", "pool"), [(5, 5), (9, 5), (10, 5), (11, 6), (12, 6), (20, 10), (41, 21)])
def test_worker_pool_is_half_the_concurrency_rounded_up_at_least_5(concurrency, pool):
    inputs = dataclasses.replace(INPUTS, worker_concurrency=concurrency)
    assert n8n.pool_size("worker", inputs) == pool
    assert (n8n.pool_size("main", inputs), n8n.pool_size("webhook", inputs)) == (10, 5)


def test_pool_size_refuses_an_unknown_role():
    with pytest.raises(ValueError) as caught:
        n8n.pool_size("scheduler", INPUTS)  # type: ignore[arg-type]
    assert str(caught.value) == "unknown n8n role 'scheduler'; expected one of main, webhook, worker"


def test_connections_add_up_per_role():
    assert n8n.db_connections(INPUTS, main=2, webhook=3, workers=4) == 2 * 10 + 3 * 5 + 4 * 10


def test_database_tls_without_a_private_ca_still_verifies():
    e = n8n_env("main", dataclasses.replace(INPUTS, db=dataclasses.replace(DB, ca=None)))
    assert e["DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED"] == "true"
    assert "DB_POSTGRESDB_SSL_CA_FILE" not in e


def test_a_redis_ca_is_trusted_only_over_tls():
    plain = dataclasses.replace(REDIS, tls=False, managed=False, ca=CaBundle("secret", "redis-tls", "ca.crt"))
    e = n8n_env("worker", dataclasses.replace(INPUTS, redis=plain))
    assert e["QUEUE_BULL_REDIS_TLS"] == "false" and e["QUEUE_BULL_REDIS_TIMEOUT_THRESHOLD"] == "30000"
    assert "NODE_EXTRA_CA_CERTS" not in e


def test_misuse_is_refused_with_a_clear_message():
    with pytest.raises(ValueError) as unknown:
        n8n_env("scheduler", INPUTS)  # type: ignore[arg-type]
    assert str(unknown.value) == "unknown n8n role 'scheduler'; expected one of main, webhook, worker"
    with pytest.raises(ValueError) as unlicensed:  # refused at the door: no environment is built from it
        dataclasses.replace(INPUTS, multi_main=True)
    assert str(unlicensed.value) == ("N8nEnvInputs: multi_main = True: multi-main needs an Enterprise license "
                                     "(licensed=True)")


def test_constants_and_input_defaults():
    assert n8n.ROLES == ("main", "webhook", "worker") and n8n.RUNNER_ROLES == ("worker",)
    assert (n8n.HEALTH_PATH, n8n.READINESS_PATH, n8n.METRICS_PATH) == ("/healthz", "/healthz/readiness", "/metrics")
    assert (n8n.RUNNER_HEALTH_PORT, n8n.USER_FOLDER) == (5680, "/home/node")
    assert (n8n.EVENT_LOG_FILE_KB, n8n.EVENT_LOG_FILES) == (4096, 2)
    assert (n8n.LOCK_DURATION_MS, n8n.LOCK_RENEW_MS, n8n.STALLED_INTERVAL_MS) == (120_000, 15_000, 30_000)
    assert n8n.RUNNER_TASK_TIMEOUT_SECONDS == 300
    d = N8nEnvInputs(hostname="h", db=DB, redis=REDIS)
    assert (d.protocol, d.version, d.webhook_processors, d.multi_main, d.licensed) == (
        "https", N8N_VERSION, True, False, False)
    assert (d.worker_concurrency, d.graceful_shutdown_seconds, d.execution_max_age_hours,
            d.execution_max_count) == (10, 60, 336, 50_000)
    assert (d.timezone, d.log_level, d.proxy_hops, d.metrics, d.secrets_dir) == ("UTC", "info", 1, True, SECRETS_DIR)


def test_the_settings_bridge_wires_every_setting():
    raw, _ = load_stack_config("dev", {
        "licenseActivationKey": "licence",
        "n8n": {"version": "2.41.0", "multiMain": True, "main": {"replicas": 2, "maxReplicas": 2},
                "webhook": {"replicas": 0}, "worker": {"concurrency": 7}, "gracefulShutdownSeconds": 40,
                "executionMaxAgeHours": 48, "executionMaxCount": 900, "timezone": "Asia/Tokyo", "logLevel": "error"},
        "observability": {"enabled": False}})
    inputs = workloads_spec(n8n_app_args(from_config(raw), DB, REDIS)).env
    assert inputs == N8nEnvInputs(
        hostname="n8n.dev.example.com", db=DB, redis=REDIS, version="2.41.0", webhook_processors=False,
        multi_main=True, licensed=True, worker_concurrency=7, graceful_shutdown_seconds=40,
        execution_max_age_hours=48, execution_max_count=900, timezone="Asia/Tokyo", log_level="error", metrics=False)


def test_the_settings_bridge_with_the_dev_stack():
    raw, _ = load_stack_config("dev")
    inputs = workloads_spec(n8n_app_args(from_config(raw), DB, REDIS)).env
    assert (inputs.webhook_processors, inputs.licensed, inputs.multi_main) == (True, False, False)
    assert (inputs.log_level, inputs.execution_max_age_hours, inputs.execution_max_count) == ("debug", 72, 5000)
