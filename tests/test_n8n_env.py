"""The n8n environment contract, role by role (pure; the real-n8n proof is tests/e2e/test_queue_mode.py)."""

from __future__ import annotations

import dataclasses

import pytest

from n8n_platform import names
from n8n_platform.connections import SECRETS_DIR, CaBundle, DatabaseConnection, Pooler, RedisConnection, SecretKeyRef
from n8n_platform.n8n import env as n8n
from n8n_platform.n8n.env import ROLES, N8nEnvInputs, n8n_env, runner_env

SECRET = names.N8N_SECRET
DB = DatabaseConnection(
    host="db.internal", port=5432, database="n8n", user="n8n", schema="n8n",
    password=SecretKeyRef(SECRET, names.DB_PASSWORD), ssl=True,
    ca=CaBundle(source="configMap", name="rds-ca", key="ca.pem"),
)
REDIS = RedisConnection(
    host="redis.internal", port=6379, tls=True, password=SecretKeyRef(SECRET, names.REDIS_PASSWORD),
    ca=None, managed=True,
)
INPUTS = N8nEnvInputs(hostname="n8n.example.com", db=DB, redis=REDIS, worker_concurrency=20)


def envs(inputs: N8nEnvInputs = INPUTS) -> dict[str, dict]:
    return {role: n8n_env(role, inputs) for role in ROLES}


@pytest.mark.parametrize("role", ROLES)
def test_every_role_runs_queue_mode_on_postgres_and_redis(role):
    e = n8n_env(role, INPUTS)
    assert e["EXECUTIONS_MODE"] == "queue"
    assert e["DB_TYPE"] == "postgresdb"
    assert e["DB_POSTGRESDB_HOST"] == "db.internal"
    assert e["DB_POSTGRESDB_SCHEMA"] == "n8n"
    assert e["DB_POSTGRESDB_SSL_ENABLED"] == "true"
    assert e["DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED"] == "true"
    assert e["DB_POSTGRESDB_SSL_CA_FILE"] == "/etc/n8n/ca/db/ca.pem"
    assert e["QUEUE_BULL_REDIS_HOST"] == "redis.internal"
    assert e["QUEUE_BULL_REDIS_PORT"] == "6379"
    assert e["QUEUE_BULL_REDIS_TLS"] == "true"
    assert e["QUEUE_BULL_PREFIX"] == "bull"


@pytest.mark.parametrize("role", ROLES)
def test_urls_and_proxy_are_set_on_every_role(role):
    e = n8n_env(role, INPUTS)
    assert e["N8N_WEBHOOK_URL"] == "https://n8n.example.com/"
    assert e["N8N_EDITOR_BASE_URL"] == "https://n8n.example.com/"
    assert e["N8N_PROTOCOL"] == "https"
    assert e["N8N_HOST"] == "n8n.example.com"
    assert e["N8N_PROXY_HOPS"] == "1"
    assert e["N8N_PORT"] == str(names.N8N_PORT)


def test_workers_know_the_public_webhook_url():
    assert n8n_env("worker", INPUTS)["N8N_WEBHOOK_URL"] == "https://n8n.example.com/"


def test_legacy_webhook_url_only_alongside_the_new_name_on_old_releases():
    assert "WEBHOOK_URL" not in n8n_env("worker", INPUTS)
    old = n8n_env("worker", dataclasses.replace(INPUTS, version="2.20.1"))
    assert old["WEBHOOK_URL"] == old["N8N_WEBHOOK_URL"] == "https://n8n.example.com/"


def test_secrets_are_files_under_the_mounted_secret():
    for role, e in envs().items():
        assert e["N8N_ENCRYPTION_KEY_FILE"] == f"{SECRETS_DIR}/{names.ENCRYPTION_KEY}", role
        assert e["DB_POSTGRESDB_PASSWORD_FILE"] == f"{SECRETS_DIR}/{names.DB_PASSWORD}", role
        assert e["QUEUE_BULL_REDIS_PASSWORD_FILE"] == f"{SECRETS_DIR}/{names.REDIS_PASSWORD}", role
    assert envs()["worker"]["N8N_RUNNERS_AUTH_TOKEN_FILE"] == f"{SECRETS_DIR}/{names.RUNNERS_AUTH_TOKEN}"
    assert runner_env(INPUTS)["N8N_RUNNERS_AUTH_TOKEN_FILE"] == f"{SECRETS_DIR}/{names.RUNNERS_AUTH_TOKEN}"


def test_encryption_key_file_identical_on_all_roles():
    assert len({e["N8N_ENCRYPTION_KEY_FILE"] for e in envs().values()}) == 1


def test_no_secret_values_and_no_folklore_anywhere():
    inputs = dataclasses.replace(INPUTS, multi_main=True, licensed=True)
    for e in [*envs(inputs).values(), runner_env(inputs)]:
        for forbidden in n8n.FORBIDDEN:
            assert forbidden not in e
        assert not any(k.startswith("N8N_BASIC_AUTH") for k in e)
        assert "n8n_queue_length" not in " ".join(str(v) for v in e.values())
        assert e.get("N8N_DEFAULT_BINARY_DATA_MODE", "database") == "database"


def test_no_community_package_installs_into_ephemeral_pod_folders():
    # they would land in the memory-backed ~/.n8n of one pod (size-limited), vanish on restart and never reach the
    # workers that run them; custom nodes are baked into the image instead
    for role, e in envs().items():
        assert e["N8N_COMMUNITY_PACKAGES_ENABLED"] == "false", role
        assert e["N8N_UNVERIFIED_PACKAGES_ENABLED"] == "false", role
        assert "N8N_REINSTALL_MISSING_PACKAGES" not in e, role


def test_webhook_url_never_alone():
    for e in envs().values():
        assert "N8N_WEBHOOK_URL" in e


def test_main_leaves_production_webhooks_to_processors_only_when_they_exist():
    assert envs()["main"]["N8N_DISABLE_PRODUCTION_MAIN_PROCESS"] == "true"
    assert "N8N_DISABLE_PRODUCTION_MAIN_PROCESS" not in envs()["webhook"]
    alone = n8n_env("main", dataclasses.replace(INPUTS, webhook_processors=False))
    assert "N8N_DISABLE_PRODUCTION_MAIN_PROCESS" not in alone


def test_multi_main_only_with_a_license():
    assert "N8N_MULTI_MAIN_SETUP_ENABLED" not in envs()["main"]
    assert "N8N_LICENSE_ACTIVATION_KEY_FILE" not in envs()["main"]
    with pytest.raises(ValueError, match="license"):
        n8n_env("main", dataclasses.replace(INPUTS, multi_main=True))
    licensed = envs(dataclasses.replace(INPUTS, multi_main=True, licensed=True))
    assert licensed["main"]["N8N_MULTI_MAIN_SETUP_ENABLED"] == "true"
    assert "N8N_MULTI_MAIN_SETUP_ENABLED" not in licensed["worker"]
    for e in licensed.values():
        assert e["N8N_LICENSE_ACTIVATION_KEY_FILE"] == f"{SECRETS_DIR}/{names.LICENSE_KEY}"


def test_external_runners_only_on_workers_because_main_offloads():
    e = envs()
    assert n8n.RUNNER_ROLES == ("worker",)
    assert e["worker"]["N8N_RUNNERS_MODE"] == "external"
    assert e["worker"]["N8N_RUNNERS_BROKER_LISTEN_ADDRESS"] == "127.0.0.1"
    assert e["worker"]["N8N_RUNNERS_BROKER_PORT"] == str(names.RUNNERS_BROKER_PORT)
    assert e["main"]["OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS"] == "true"
    for role in ("main", "webhook"):
        runners = {k for k in e[role] if k.startswith("N8N_RUNNERS_")}
        assert runners == {"N8N_RUNNERS_MODE", "N8N_RUNNERS_TASK_TIMEOUT"}, role
        assert e[role]["N8N_RUNNERS_MODE"] == "external"


def test_runner_sidecar_talks_to_the_same_pod_broker_with_the_same_timeout():
    r = runner_env(INPUTS)
    assert r["N8N_RUNNERS_TASK_BROKER_URI"] == f"http://127.0.0.1:{names.RUNNERS_BROKER_PORT}"
    assert r["N8N_RUNNERS_TASK_TIMEOUT"] == n8n_env("worker", INPUTS)["N8N_RUNNERS_TASK_TIMEOUT"]
    assert int(r["N8N_RUNNERS_MAX_CONCURRENCY"]) >= INPUTS.worker_concurrency


def test_metrics_queue_gauges_only_on_main_and_worker_health_server():
    e = envs()
    assert all(x["N8N_METRICS"] == "true" for x in e.values())
    assert e["main"]["N8N_METRICS_INCLUDE_QUEUE_METRICS"] == "true"
    assert "N8N_METRICS_INCLUDE_QUEUE_METRICS" not in e["worker"]
    assert e["worker"]["QUEUE_HEALTH_CHECK_ACTIVE"] == "true"
    assert e["worker"]["QUEUE_HEALTH_CHECK_PORT"] == str(names.N8N_PORT)
    assert "QUEUE_HEALTH_CHECK_ACTIVE" not in e["main"]


def test_production_lock_settings_pruning_logs_and_shutdown():
    for e in envs().values():
        # A lock renewal may only be missed once n8n has given up on Redis (and exited); a dead worker's jobs
        # expire within minutes, not n8n's 3-hour queue-recovery default.
        lock = int(e["QUEUE_WORKER_LOCK_DURATION"])
        assert lock > int(e["QUEUE_BULL_REDIS_TIMEOUT_THRESHOLD"]) + int(e["QUEUE_WORKER_LOCK_RENEW_TIME"])
        assert lock <= 180_000
        assert int(e["QUEUE_WORKER_LOCK_RENEW_TIME"]) < lock / 2
        assert e["EXECUTIONS_DATA_PRUNE"] == "true"
        assert e["EXECUTIONS_DATA_MAX_AGE"] == "336"
        assert e["EXECUTIONS_DATA_PRUNE_MAX_COUNT"] == "50000"
        assert e["N8N_LOG_FORMAT"] == "json"
        assert e["N8N_DIAGNOSTICS_ENABLED"] == "false"
        assert e["N8N_GRACEFUL_SHUTDOWN_TIMEOUT"] == "60"
        assert e["N8N_DEFAULT_BINARY_DATA_MODE"] == "database"


def test_database_restart_is_ridden_out_and_dangling_executions_end_within_minutes():
    e = envs()
    for x in e.values():
        # n8n 2.40.7 DbConnectionMonitor: noticed within ~2 s, then queries wait (up to 2 min) for the new pool.
        assert int(x["DB_PING_INTERVAL_SECONDS"]) * int(x["DB_PING_MAX_FAILURES_BEFORE_RECOVERY"]) <= 2
        assert int(x["DB_CONNECTION_ACQUISITION_TIMEOUT_MS"]) >= 60_000  # an RDS Multi-AZ failover fits
        assert int(x["DB_RECOVERY_BACKOFF_MAX_MS"]) <= 5_000
    # Queue recovery runs on the (leader) main only; minutes, not hours, and a batch above any sane backlog.
    assert int(e["main"]["N8N_EXECUTIONS_QUEUE_RECOVERY_INTERVAL"]) == 1
    assert int(e["main"]["N8N_EXECUTIONS_QUEUE_RECOVERY_BATCH"]) >= 1000
    assert "N8N_EXECUTIONS_QUEUE_RECOVERY_INTERVAL" not in e["worker"]
    assert "N8N_EXECUTIONS_QUEUE_RECOVERY_INTERVAL" not in e["webhook"]


@pytest.mark.parametrize("pooler", list(Pooler))
def test_through_a_pooler_a_failed_ping_starts_recovery_and_a_ping_waits_as_the_pooler_does(pooler):
    through_pooler = dataclasses.replace(INPUTS, db=dataclasses.replace(DB, pooler=pooler))
    for role in ROLES:
        direct, through = n8n_env(role, INPUTS), n8n_env(role, through_pooler)
        assert "DB_PING_TIMEOUT_MS" not in direct  # n8n's default (5 s): a hung socket to the server is dead
        # a failed ping through the pooler is the server away: recovery (queries wait) at the first one
        assert (direct["DB_PING_MAX_FAILURES_BEFORE_RECOVERY"], through["DB_PING_MAX_FAILURES_BEFORE_RECOVERY"]) == (
            "2", "1")
        assert int(through["DB_RECOVERY_BACKOFF_MAX_MS"]) < int(direct["DB_RECOVERY_BACKOFF_MAX_MS"])
        assert int(through["DB_POSTGRESDB_CONNECTION_TIMEOUT"]) >= 60_000
        assert "DB_POSTGRESDB_CONNECTION_TIMEOUT" not in direct
        ping_ms = int(through["DB_PING_TIMEOUT_MS"])
        if pooler == Pooler.RDS_PROXY:  # the proxy holds a query up to 120 s in a failover: so may a ping
            assert ping_ms >= 120_000 and ping_ms <= int(through["DB_CONNECTION_ACQUISITION_TIMEOUT_MS"])
        else:  # PgBouncer fails queries fast while the server is away: notice it within a second
            assert ping_ms < 5_000 and float(through["DB_PING_INTERVAL_SECONDS"]) < 1
        retuned = {"DB_PING_TIMEOUT_MS", "DB_PING_INTERVAL_SECONDS", "DB_PING_MAX_FAILURES_BEFORE_RECOVERY",
                   "DB_RECOVERY_BACKOFF_MAX_MS", "DB_POSTGRESDB_CONNECTION_TIMEOUT"}
        assert {k: v for k, v in through.items() if k not in retuned} == {
            k: v for k, v in direct.items() if k not in retuned}


def test_redis_reconnect_budget_follows_the_engine():
    managed = n8n_env("worker", INPUTS)
    in_cluster = n8n_env("worker", dataclasses.replace(INPUTS, redis=dataclasses.replace(
        REDIS, managed=False, password=None, ca=CaBundle("secret", "redis-tls", "ca.crt"))))
    assert managed["QUEUE_BULL_REDIS_KEEP_ALIVE"] == in_cluster["QUEUE_BULL_REDIS_KEEP_ALIVE"] == "true"
    assert int(managed["QUEUE_BULL_REDIS_TIMEOUT_THRESHOLD"]) > int(in_cluster["QUEUE_BULL_REDIS_TIMEOUT_THRESHOLD"])
    assert "QUEUE_BULL_REDIS_PASSWORD_FILE" not in in_cluster
    assert in_cluster["NODE_EXTRA_CA_CERTS"] == "/etc/n8n/ca/redis/ca.crt"
    assert "NODE_EXTRA_CA_CERTS" not in managed


def test_database_without_tls_sends_no_certificate_settings():
    e = n8n_env("main", dataclasses.replace(INPUTS, db=dataclasses.replace(DB, ssl=False, ca=None)))
    assert e["DB_POSTGRESDB_SSL_ENABLED"] == "false"
    assert not any(k.startswith("DB_POSTGRESDB_SSL_") and k != "DB_POSTGRESDB_SSL_ENABLED" for k in e)


@pytest.mark.parametrize("concurrency", [5, 10, 20, 40, 100])
def test_worker_pool_grows_with_concurrency(concurrency):
    inputs = dataclasses.replace(INPUTS, worker_concurrency=concurrency)
    pool = int(n8n_env("worker", inputs)["DB_POSTGRESDB_POOL_SIZE"])
    assert pool >= 5
    assert pool * 2 >= concurrency
    assert pool <= concurrency


def test_pool_sizes_fit_the_default_connection_limit_at_the_default_scale():
    inputs = dataclasses.replace(INPUTS, worker_concurrency=10)
    assert n8n.db_connections(inputs, main=1, webhook=10, workers=20) <= 200
    assert n8n.db_connections(inputs, main=1, webhook=1, workers=1) == 10 + 5 + 5


def test_every_emitted_variable_has_a_reason():
    variants = [
        INPUTS,
        dataclasses.replace(INPUTS, multi_main=True, licensed=True, version="2.20.0"),
        dataclasses.replace(INPUTS, redis=dataclasses.replace(REDIS, ca=CaBundle("secret", "r", "ca.crt"))),
        dataclasses.replace(INPUTS, db=dataclasses.replace(DB, pooler=Pooler.RDS_PROXY)),
    ]
    emitted = set()
    for inputs in variants:
        for e in [*envs(inputs).values(), runner_env(inputs)]:
            emitted |= set(e)
    missing = sorted(emitted - set(n8n.REASONS))
    assert not missing
    assert emitted == set(n8n.REASONS), "a reason for a variable nothing emits is stale"
    assert not emitted & set(n8n.FORBIDDEN)
    assert all(reason.strip() for reason in n8n.REASONS.values())


def test_values_are_strings_except_the_placed_hosts():
    for e in [*envs().values(), runner_env(INPUTS)]:
        assert all(isinstance(v, str) for v in e.values())


def test_worker_args_carry_the_concurrency():
    assert n8n.n8n_args("worker", INPUTS) == ["worker", "--concurrency=20"]
    assert n8n.n8n_args("main", INPUTS) == ["start"]
    assert n8n.n8n_args("webhook", INPUTS) == ["webhook"]


def test_unknown_role_is_rejected():
    with pytest.raises(ValueError, match="role"):
        n8n_env("scheduler", INPUTS)  # type: ignore[arg-type]


@pytest.mark.parametrize("metrics", [True, False])
def test_the_settings_bridge_follows_the_stack_settings(metrics):
    from n8n_platform.n8n.app import workloads_spec
    from n8n_platform.platform import n8n_app_args
    from n8n_platform.settings import from_config
    from tests.harness import load_stack_config

    raw, _ = load_stack_config("prod", {"observability": {"enabled": metrics}, "n8n": {"worker": {"concurrency": 12}}})
    inputs = workloads_spec(n8n_app_args(from_config(raw), DB, REDIS)).env
    assert (inputs.hostname, inputs.worker_concurrency, inputs.metrics) == ("n8n.example.com", 12, metrics)
    assert n8n_env("main", inputs)["N8N_METRICS"] == str(metrics).lower()
