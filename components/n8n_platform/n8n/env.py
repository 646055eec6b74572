"""The n8n environment contract: the full environment of each n8n role and of the task-runner sidecar.

Pure builder (rule 1): plain values in, ``dict[str, str]`` out; the only Pulumi values are the connection hosts,
placed as-is. The same function feeds the Kubernetes workloads, the unit tests and the real-n8n e2e test
(``tests/e2e``), which starts n8n 2.40.7 processes with exactly these variables.

Secrets are never values: every secret is read by n8n from a file (``*_FILE``) under
:data:`n8n_platform.connections.SECRETS_DIR`, where the Secret :data:`n8n_platform.names.N8N_SECRET` is mounted.
Every variable emitted has a one-line reason in :data:`REASONS` (a test enforces it).

Checked against n8n 2.40.7's dist and run for real by ``tests/e2e/test_queue_mode.py``:

- ``@n8n/config``'s ``@Env`` decorator reads ``<NAME>_FILE`` for every config variable, so every ``*_FILE`` below
  is honoured (encryption key, DB and Redis passwords, DB CA, license key, runners auth token). The n8nio/runners
  launcher (Go, task-runner-launcher) documents ``_FILE`` for every variable (its ``LauncherLookuper``); the
  e2e test cannot run that Go binary, so this one is verified from its source, not by execution.
- n8n writes the key it uses into ``<N8N_USER_FOLDER>/.n8n/config`` (mode 0600): mount that folder on a
  memory-backed emptyDir so the key never lands on a node's disk.
- Only **workers** need a runner sidecar: ``n8n start`` in queue mode skips its task-runner module when
  ``OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS=true`` (``commands/start.js``: ``needsTaskRunner = false``), and
  ``n8n webhook`` never starts one. So only workers get the broker variables; every role still says
  ``N8N_RUNNERS_MODE=external`` (never an in-process runner; 2.40.7 warns about internal mode otherwise).
- 2.40.7 has no ``QUEUE_BULL_REDIS_TLS_CA_FILE`` (later 2.x): a private Redis CA goes through ``NODE_EXTRA_CA_CERTS``.
- ``OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS`` and ``WEBHOOK_URL`` are read from ``process.env`` directly; n8n's
  deprecation service warns when the first is missing on main and when the second is set.
"""

# No `from __future__ import annotations` here: N8nEnvInputs is part of N8nApp's component schema, which Pulumi's
# analyzer reads at run time.
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, get_args

import pulumi

from .. import names
from ..arguments import at_least, flag, hostname, matching, member, object_name, refuse
from ..connections import SECRETS_DIR, DatabaseConnection, Pooler, RedisConnection, as_text, password_path
from ..edge.routes import PROXY_HOPS, PUSH_BACKEND, public_url
from .spec import LogLevel, N8nSettings, multi_main_problem

Role = Literal["main", "webhook", "worker"]
"""The three n8n processes of queue mode: `n8n start`, `n8n webhook`, `n8n worker`."""

ROLES: tuple[Role, ...] = get_args(Role)

RUNNER_ROLES: tuple[Role, ...] = ("worker",)
"""Roles whose pods carry the n8nio/runners sidecar: only workers execute (main offloads manual runs)."""

EVENT_LOG_FILE_KB, EVENT_LOG_FILES = 4096, 2
"""Event-bus log rotation (defaults 10 MiB x 3 plus the current file): kept small because `.n8n` is in memory."""

USER_FOLDER = "/home/node"
"""`N8N_USER_FOLDER`; n8n keeps its settings in `<folder>/.n8n` (workloads mount a writable emptyDir there)."""

HEALTH_PATH = "/healthz"
"""Liveness path on N8N_PORT (every role; workers only with QUEUE_HEALTH_CHECK_ACTIVE)."""
READINESS_PATH = "/healthz/readiness"
"""Readiness path: 200 once the DB is connected and migrated (workers: also Redis)."""
METRICS_PATH = "/metrics"
"""Prometheus endpoint on N8N_PORT when N8N_METRICS=true."""
RUNNER_HEALTH_PORT = 5680
"""Health port of the n8nio/runners launcher (`/healthz`)."""

METRIC_FAMILIES = ("DEFAULT_METRICS", "API_ENDPOINTS", "API_METHOD_LABEL", "API_STATUS_CODE_LABEL",
                  "DB_POOL_METRICS", "MESSAGE_EVENT_BUS_METRICS", "WORKFLOW_EXECUTION_DURATION")
"""`N8N_METRICS_INCLUDE_*` switched on for every role (see ``_metrics``)."""
METRIC_LABELS_OFF = ("API_PATH_LABEL", "WORKFLOW_ID_LABEL", "WORKFLOW_NAME_LABEL", "NODE_TYPE_LABEL",
                     "CREDENTIAL_TYPE_LABEL")
"""Label switches kept off explicitly: each multiplies series by the number of paths, workflows or node types."""
QUEUE_METRICS_INTERVAL_SECONDS = 20
"""How often main refreshes its queue gauges (n8n's default, stated so the alerts' `for:` can rely on it)."""

REDIS_TIMEOUT_MS = {True: 90_000, False: 30_000}
"""QUEUE_BULL_REDIS_TIMEOUT_THRESHOLD by `RedisConnection.managed`: how long n8n reconnects before it exits.
ElastiCache Multi-AZ failover takes up to ~60 s; an in-cluster Redis pod restarts (AOF load) in far less."""
LOCK_RENEW_MS = 15_000
"""Bull job-lock renewal interval."""
LOCK_DURATION_MS = 120_000
"""Bull job lock. In 2.x one missed renewal fails the job (stalled, no retry), so the lock outlasts the longest
Redis outage n8n survives (it exits after REDIS_TIMEOUT_MS) plus a renewal. It is also how long the jobs of a
SIGKILLed worker look alive: shorter than that bound is unsafe, much longer only delays their `crashed` state."""
STALLED_INTERVAL_MS = 30_000
"""How often Bull looks for jobs whose lock expired (then n8n's queue recovery marks their executions crashed)."""
RUNNER_TASK_TIMEOUT_SECONDS = 300
"""Same value on the broker (n8n) and the launcher, whose defaults differ (300 vs 60)."""

# Riding out a database restart or failover (n8n 2.40.7's DbConnectionMonitor, @n8n/db): a ping every
# DB_PING_INTERVAL_SECONDS; after DB_PING_MAX_FAILURES_BEFORE_RECOVERY failures in a row n8n tears the pool down and
# rebuilds it, and from then on every query *waits* for the rebuilt pool (up to DB_CONNECTION_ACQUISITION_TIMEOUT_MS)
# instead of failing. A query that fails makes a worker drop its job with the execution left `new`/`running`, so
# the sooner the waiting starts and the longer it may last, the fewer executions a restart breaks.
DB_PING_SECONDS = 1
"""Ping interval (default 2 s): a broken connection is noticed within a second."""
DB_PING_FAILURES = 2
"""Failed pings before the pool is rebuilt (default 3): two, so a single slow ping under load rebuilds nothing."""
DB_RECOVERY_BACKOFF_MAX_MS = 5_000
"""Longest pause between reconnect attempts (default 30 s): n8n is back within 5 s of the database."""
DB_POOL_TEARDOWN_MS = 3_000
"""How long the rebuild waits for the dead pool's sockets before it force-closes them (default 10 s)."""
DB_WAIT_FOR_RECOVERY_MS = 120_000
"""How long a query waits for the rebuilt pool (default 30 s): an RDS Multi-AZ failover takes 60-120 s, a Patroni
failover its TTL (30 s) plus a loop; beyond that the query fails and the probes take over (workloads.py)."""
# Through a pooler (DatabaseConnection.pooler) n8n's connections end at the pooler, which outlives the server: a
# *failed* ping now means "the server is away", never a broken socket or a slow process, so one failed ping is enough
# to enter n8n's recovery (queries then wait for the rebuilt pool instead of failing), and the reconnect attempts
# land on the pooler, not on the recovering server, so they may come often. What a ping should wait for depends on
# the pooler: PgBouncer fails queries at once while the server refuses logins (``check_fast_fail``, 1.18 to 1.25),
# so a ping that hangs is one stuck behind a server connect and should fail fast, and often, to stop taking work;
# RDS Proxy holds queries through a failover, so a ping should wait as long as it does (failing it would cut the
# queries waiting in the proxy and mark the process not ready).
POOLED_PING_FAILURES = 1
"""Failed pings before recovery through a pooler: the first."""
POOLED_RECOVERY_BACKOFF_MAX_MS = 2_000
"""Longest pause between reconnect attempts through a pooler: n8n is back within 2 s of the pooler."""
POOLED_CONNECTION_TIMEOUT_MS = 60_000
"""How long a query waits for a connection of n8n's own pool through a pooler (default 20 s), which covers opening
one (instant to a pooler that is up) and waiting for a busy one: while the server is back but n8n's pool is still
being rebuilt, queries queue here; 20 s failed some of them (``timeout exceeded when trying to connect``)."""
PGBOUNCER_PING_SECONDS = 0.5
"""Ping interval through PgBouncer: a fast-failing pooler is noticed within half a second (pings are local)."""
PGBOUNCER_PING_TIMEOUT_MS = 3_000
"""Ping timeout through PgBouncer (default 5 s): a ping stuck behind a server connect fails sooner."""
RDS_PROXY_PING_TIMEOUT_MS = 120_000
"""Ping timeout through RDS Proxy: as long as it holds a query (``database.rds.proxy.borrowTimeoutSeconds``)."""
QUEUE_RECOVERY_MINUTES = 1
"""n8n's queue recovery (main, leader only): executions still `new`/`running` in the database whose job is in no
Bull list are marked `crashed`. Default 180 min; one minute bounds how long a broken execution looks alive."""
QUEUE_RECOVERY_BATCH = 2_000
"""In-progress executions one recovery pass looks at (default 100, newest first): it must exceed the backlog, or a
dangling execution older than the newest 100 queued ones is never seen."""


class Protocol(StrEnum):
    """Scheme clients use to reach n8n."""

    HTTP = "http"
    """Plain HTTP (development behind no TLS)."""
    HTTPS = "https"
    """HTTPS (TLS terminates at the edge)."""


ProtocolName = Literal["http", "https"]
"""The values of :class:`Protocol`, which Python callers may pass instead of the members (case-sensitive)."""
if TYPE_CHECKING:
    ProtocolArg = Protocol | ProtocolName
else:  # Pulumi's schema analyzer supports no unions: it sees the enum
    ProtocolArg = Protocol


_N8N = N8nSettings()
"""The platform's defaults (settings ``n8n``), declared once in :class:`~n8n_platform.n8n.spec.N8nSettings`."""


@dataclass(frozen=True, kw_only=True)
class N8nEnvInputs:
    """Plain values the environment of every n8n role is built from (settings + data-layer connections)."""

    hostname: pulumi.Input[str]
    """Public hostname of the editor and webhooks (edge.hostname); placed, never inspected."""
    db: DatabaseConnection
    """How n8n reaches PostgreSQL (from the Database component)."""
    redis: RedisConnection
    """How n8n reaches Redis (from the Redis component)."""
    protocol: Protocol = Protocol.HTTPS
    """Scheme clients use to reach `hostname` (TLS terminates at the edge)."""
    version: str = _N8N.version
    """n8n version (image tag); gates variables that exist only in some releases."""
    webhook_processors: bool = True
    """True when webhook processor replicas exist: main then stops serving production webhooks."""
    multi_main: bool = False
    """Several mains with leader election; requires `licensed`."""
    licensed: bool = False
    """A license activation key is in the n8n Secret (names.LICENSE_KEY)."""
    worker_concurrency: int = _N8N.worker.concurrency
    """Executions one worker runs at once; sizes the worker's DB pool and runner concurrency."""
    graceful_shutdown_seconds: int = _N8N.graceful_shutdown_seconds
    """How long a stopping process lets running executions finish (pod grace period must exceed it)."""
    execution_max_age_hours: int = _N8N.execution_max_age_hours
    """Execution data older than this is pruned."""
    execution_max_count: int = _N8N.execution_max_count
    """At most this many executions are kept."""
    timezone: str = _N8N.timezone
    """Default timezone of schedule triggers and date functions."""
    log_level: LogLevel = _N8N.log_level
    """n8n log level."""
    proxy_hops: int = PROXY_HOPS
    """Reverse proxies in front of n8n (ALB or gateway: 1), so client IPs and protocol come from X-Forwarded-*."""
    metrics: bool = True
    """Expose Prometheus `/metrics` (queue gauges on main)."""
    secrets_dir: str = SECRETS_DIR
    """Where the n8n Secret is mounted; every `*_FILE` path points into it (connection passwords kept in other
    Secrets excepted: see ``connections.password_path``)."""
    secret_name: str = names.N8N_SECRET
    """The n8n Secret (encryption key, runner token, license key; connection passwords when their SecretKeyRef
    points into it), mounted whole at ``secrets_dir``."""

    def __post_init__(self) -> None:
        where = "N8nEnvInputs"
        hostname(where, "hostname", self.hostname)
        for key, kind in (("db", DatabaseConnection), ("redis", RedisConnection)):
            if not isinstance(getattr(self, key), kind):
                raise refuse(where, key, getattr(self, key), f"a {kind.__name__}", TypeError)
        for key, check in ENV_CHECKS.items():
            object.__setattr__(self, key, check(where, key, getattr(self, key)))
        for key in ("webhook_processors", "multi_main"):
            flag(where, key, getattr(self, key))
        if why := multi_main_problem(self.multi_main, self.licensed):
            raise ValueError(f"{where}: multi_main = True: {why} (licensed=True)")


ENV_CHECKS: dict[str, Callable[[str, str, Any], Any]] = {
    "protocol": lambda w, k, v: member(w, k, v, Protocol),
    "log_level": lambda w, k, v: member(w, k, v, LogLevel),
    "version": matching(r"[0-9]+(\.[0-9]+){1,3}", "a numeric n8n release such as 2.40.7"),
    "licensed": flag,
    "metrics": flag,
    "worker_concurrency": at_least(1),
    "graceful_shutdown_seconds": at_least(0),
    "execution_max_age_hours": at_least(1),
    "execution_max_count": at_least(1),
    "proxy_hops": at_least(0),
    "timezone": matching(r"[A-Za-z0-9_+\-/]+", "an IANA timezone such as UTC or Europe/Berlin"),
    "secret_name": object_name,
}
"""How each plain input of the environment is checked where it enters (N8nApp's Args and N8nEnvInputs alike)."""


def _version_at_least(version: str, minimum: str) -> bool:
    def parts(v: str) -> tuple[int, ...]:
        return tuple(int(p) for p in v.split(".")[:3])

    return parts(version) >= parts(minimum)


def base_url(inputs: N8nEnvInputs) -> pulumi.Input[str]:
    """Public URL of n8n as its clients reach it (:func:`~n8n_platform.edge.routes.public_url`)."""
    return public_url(inputs.hostname, str(inputs.protocol))


def secret_file(inputs: N8nEnvInputs, key: str) -> str:
    """Path of one key of the n8n Secret inside the container."""
    return f"{inputs.secrets_dir}/{key}"


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown n8n role {role!r}; expected one of {', '.join(ROLES)}")


def pool_size(role: Role, inputs: N8nEnvInputs) -> int:
    """DB connections per process (`DB_POSTGRESDB_POOL_SIZE`; n8n's default of 2 starves queue mode).

    A worker gets one connection per two concurrent executions (each execution holds a connection only while it
    reads the workflow or saves progress), at least 5; main runs the UI, triggers and pruning (10); a webhook
    processor only reads the workflow and writes one execution row per request (5, it scales out by replicas).
    """
    return role_pool_size(role, inputs.worker_concurrency)


def role_pool_size(role: Role, worker_concurrency: int) -> int:
    """:func:`pool_size` from the one input it reads."""
    _check_role(role)
    if role == "worker":
        return max(5, math.ceil(worker_concurrency / 2))
    return 10 if role == "main" else 5


def db_connections(inputs: N8nEnvInputs, main: int, webhook: int, workers: int) -> int:
    """Most connections n8n can open with these replica counts (compare with the role's CONNECTION LIMIT)."""
    return main * pool_size("main", inputs) + webhook * pool_size("webhook", inputs) + workers * pool_size(
        "worker", inputs)


def _database(role: Role, inputs: N8nEnvInputs) -> dict[str, pulumi.Input[str]]:
    db = inputs.db
    env: dict[str, pulumi.Input[str]] = {
        "DB_TYPE": "postgresdb",
        "DB_POSTGRESDB_HOST": db.host,
        "DB_POSTGRESDB_PORT": as_text(db.port),
        "DB_POSTGRESDB_DATABASE": db.database,
        "DB_POSTGRESDB_USER": db.user,
        "DB_POSTGRESDB_PASSWORD_FILE": password_path(db.password, "db", inputs.secret_name, inputs.secrets_dir),
        "DB_POSTGRESDB_SCHEMA": db.schema,
        "DB_POSTGRESDB_POOL_SIZE": str(pool_size(role, inputs)),
        "DB_POSTGRESDB_SSL_ENABLED": str(db.ssl).lower(),
    }
    if db.ssl:
        env["DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED"] = "true"
        if db.ca is not None:
            env["DB_POSTGRESDB_SSL_CA_FILE"] = db.ca.path("db")
    return env


def _recovery(role: Role, db: DatabaseConnection) -> dict[str, str]:
    """How each process rides out a database restart, and (main) how dangling executions get a final state."""
    env = {
        "DB_PING_INTERVAL_SECONDS": str(DB_PING_SECONDS),
        "DB_PING_MAX_FAILURES_BEFORE_RECOVERY": str(DB_PING_FAILURES),
        "DB_RECOVERY_BACKOFF_MAX_MS": str(DB_RECOVERY_BACKOFF_MAX_MS),
        "DB_POSTGRESDB_DESTROY_TIMEOUT_MS": str(DB_POOL_TEARDOWN_MS),
        "DB_CONNECTION_ACQUISITION_TIMEOUT_MS": str(DB_WAIT_FOR_RECOVERY_MS),
    }
    if db.pooler is not None:
        env.update({
            "DB_PING_MAX_FAILURES_BEFORE_RECOVERY": str(POOLED_PING_FAILURES),
            "DB_RECOVERY_BACKOFF_MAX_MS": str(POOLED_RECOVERY_BACKOFF_MAX_MS),
            "DB_POSTGRESDB_CONNECTION_TIMEOUT": str(POOLED_CONNECTION_TIMEOUT_MS),
        })
    if db.pooler == Pooler.PGBOUNCER:
        env.update(DB_PING_INTERVAL_SECONDS=str(PGBOUNCER_PING_SECONDS),
                   DB_PING_TIMEOUT_MS=str(PGBOUNCER_PING_TIMEOUT_MS))
    elif db.pooler == Pooler.RDS_PROXY:
        env["DB_PING_TIMEOUT_MS"] = str(RDS_PROXY_PING_TIMEOUT_MS)
    if role == "main":
        env["N8N_EXECUTIONS_QUEUE_RECOVERY_INTERVAL"] = str(QUEUE_RECOVERY_MINUTES)
        env["N8N_EXECUTIONS_QUEUE_RECOVERY_BATCH"] = str(QUEUE_RECOVERY_BATCH)
    return env


def _redis(inputs: N8nEnvInputs) -> dict[str, pulumi.Input[str]]:
    r = inputs.redis
    env: dict[str, pulumi.Input[str]] = {
        "QUEUE_BULL_REDIS_HOST": r.host,
        "QUEUE_BULL_REDIS_PORT": as_text(r.port),
        "QUEUE_BULL_REDIS_DB": "0",
        "QUEUE_BULL_PREFIX": r.prefix,
        "QUEUE_BULL_REDIS_TLS": str(r.tls).lower(),
        "QUEUE_BULL_REDIS_KEEP_ALIVE": "true",
        "QUEUE_BULL_REDIS_KEEP_ALIVE_DELAY": "5000",
        "QUEUE_BULL_REDIS_KEEP_ALIVE_INTERVAL": "5000",
        "QUEUE_BULL_REDIS_TIMEOUT_THRESHOLD": str(REDIS_TIMEOUT_MS[r.managed]),
    }
    if r.password is not None:
        env["QUEUE_BULL_REDIS_PASSWORD_FILE"] = password_path(r.password, "redis", inputs.secret_name,
                                                              inputs.secrets_dir)
    if r.tls and r.ca is not None:
        # n8n 2.40.7 has no QUEUE_BULL_REDIS_TLS_CA_FILE (it arrives in later 2.x): Node's own trust extension
        # makes ioredis verify the in-cluster Redis certificate against our CA.
        env["NODE_EXTRA_CA_CERTS"] = r.ca.path("redis")
    return env


def _urls(inputs: N8nEnvInputs) -> dict[str, pulumi.Input[str]]:
    url = base_url(inputs)
    env = {
        "N8N_HOST": inputs.hostname,
        "N8N_PROTOCOL": str(inputs.protocol),
        "N8N_PORT": str(names.N8N_PORT),
        "N8N_PROXY_HOPS": str(inputs.proxy_hops),
        "N8N_PUSH_BACKEND": PUSH_BACKEND,
        "N8N_SECURE_COOKIE": str(inputs.protocol == "https").lower(),
        "N8N_EDITOR_BASE_URL": url,
        "N8N_WEBHOOK_URL": url,
    }
    if not _version_at_least(inputs.version, "2.30.0"):
        env["WEBHOOK_URL"] = url  # older 2.x reads only the legacy name
    return env


def _runners_broker(inputs: N8nEnvInputs) -> dict[str, str]:
    """The task broker a runner sidecar connects to (roles in RUNNER_ROLES only)."""
    return {
        "N8N_RUNNERS_AUTH_TOKEN_FILE": secret_file(inputs, names.RUNNERS_AUTH_TOKEN),
        "N8N_RUNNERS_BROKER_LISTEN_ADDRESS": "127.0.0.1",
        "N8N_RUNNERS_BROKER_PORT": str(names.RUNNERS_BROKER_PORT),
    }


def _common(inputs: N8nEnvInputs) -> dict[str, pulumi.Input[str]]:
    env: dict[str, pulumi.Input[str]] = {
        "NODE_ENV": "production",
        "EXECUTIONS_MODE": "queue",
        "N8N_USER_FOLDER": USER_FOLDER,
        "N8N_ENCRYPTION_KEY_FILE": secret_file(inputs, names.ENCRYPTION_KEY),
        "GENERIC_TIMEZONE": inputs.timezone,
        "N8N_LOG_LEVEL": str(inputs.log_level),
        "N8N_LOG_OUTPUT": "console",
        "N8N_LOG_FORMAT": "json",
        "N8N_DIAGNOSTICS_ENABLED": "false",
        "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
        "N8N_GRACEFUL_SHUTDOWN_TIMEOUT": str(inputs.graceful_shutdown_seconds),
        "N8N_DEFAULT_BINARY_DATA_MODE": "database",
        "N8N_EVENTBUS_LOGWRITER_MAXFILESIZEINKB": str(EVENT_LOG_FILE_KB),
        "N8N_EVENTBUS_LOGWRITER_KEEPLOGCOUNT": str(EVENT_LOG_FILES),
        "OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS": "true",
        "QUEUE_WORKER_LOCK_DURATION": str(LOCK_DURATION_MS),
        "QUEUE_WORKER_LOCK_RENEW_TIME": str(LOCK_RENEW_MS),
        "QUEUE_WORKER_STALLED_INTERVAL": str(STALLED_INTERVAL_MS),
        "EXECUTIONS_DATA_PRUNE": "true",
        "EXECUTIONS_DATA_MAX_AGE": str(inputs.execution_max_age_hours),
        "EXECUTIONS_DATA_PRUNE_MAX_COUNT": str(inputs.execution_max_count),
        "N8N_METRICS": str(inputs.metrics).lower(),
        # Runner policy on every role: never an in-process runner next to the secrets, one task timeout everywhere.
        "N8N_RUNNERS_MODE": "external",
        "N8N_RUNNERS_TASK_TIMEOUT": str(RUNNER_TASK_TIMEOUT_SECONDS),
        # Defaults 2.40.7 announces will change: adopt the safer future values now (and silence its warnings).
        "N8N_UNVERIFIED_PACKAGES_ENABLED": "false",
        # Pods have ephemeral filesystems: a UI install lands in the memory-backed ~/.n8n (size-limited: eviction),
        # is lost on restart and never reaches new workers. Custom nodes belong in the image.
        "N8N_COMMUNITY_PACKAGES_ENABLED": "false",
        "N8N_COMPRESSION_NODE_MAX_DECOMPRESSED_SIZE_BYTES": str(256 * 2**20),
        "N8N_COMPRESSION_NODE_MAX_ZIP_ENTRIES": "1000",
    }
    if inputs.licensed:
        env["N8N_LICENSE_ACTIVATION_KEY_FILE"] = secret_file(inputs, names.LICENSE_KEY)
    return env


def _metrics(role: Role, inputs: N8nEnvInputs) -> dict[str, str]:
    """Metric families per role, chosen for the alerts and the dashboard (observability/rules.py, dashboard.py).

    Every role: API histograms with method and status labels but no path label (webhook paths are user-chosen,
    each would be a series), DB pool gauges (connections that never recover), execution-duration histograms and
    event-bus counters (workflow success/failure where the execution ran). Workflow/node/credential labels stay
    off: they multiply series by the number of workflows. Queue gauges exist only on main in queue mode. Webhook
    processors record their webhook requests only in the webhook histogram (their routes come before the API
    middleware), which always carries a ``workflow_id`` label: bounded by the number of webhook workflows.
    """
    if not inputs.metrics:
        return {}
    on = {f"N8N_METRICS_INCLUDE_{flag}": "true" for flag in METRIC_FAMILIES}
    off = {f"N8N_METRICS_INCLUDE_{flag}": "false" for flag in METRIC_LABELS_OFF}
    if role == "main":
        on["N8N_METRICS_INCLUDE_QUEUE_METRICS"] = "true"
        on["N8N_METRICS_QUEUE_METRICS_INTERVAL"] = str(QUEUE_METRICS_INTERVAL_SECONDS)
    if role in ("main", "webhook"):  # the roles that answer webhooks
        on["N8N_METRICS_INCLUDE_WEBHOOK_METRICS"] = "true"
    return {**on, **off}


def n8n_env(role: Role, inputs: N8nEnvInputs) -> dict[str, pulumi.Input[str]]:
    """The full environment of the n8n container of ``role``.

    Values are strings, except the DB and Redis hosts, which are the connections' Inputs placed as-is.
    """
    _check_role(role)
    env = {**_common(inputs), **_urls(inputs), **_database(role, inputs), **_recovery(role, inputs.db),
           **_redis(inputs), **_metrics(role, inputs)}
    if role in RUNNER_ROLES:
        env.update(_runners_broker(inputs))
    if role == "main":
        if inputs.webhook_processors:
            env["N8N_DISABLE_PRODUCTION_MAIN_PROCESS"] = "true"
        if inputs.multi_main:
            env["N8N_MULTI_MAIN_SETUP_ENABLED"] = "true"
    if role == "worker":
        env["QUEUE_HEALTH_CHECK_ACTIVE"] = "true"
        env["QUEUE_HEALTH_CHECK_PORT"] = str(names.N8N_PORT)
    return env


def n8n_args(role: Role, inputs: N8nEnvInputs) -> list[str]:
    """Arguments of the n8n CLI (the image's entrypoint) for ``role``."""
    if role == "main":
        return ["start"]
    if role == "webhook":
        return ["webhook"]
    return ["worker", f"--concurrency={inputs.worker_concurrency}"]


def runner_env(inputs: N8nEnvInputs) -> dict[str, str]:
    """Environment of the `n8nio/runners` sidecar in every worker pod (same pod: broker on 127.0.0.1)."""
    return {
        "N8N_RUNNERS_TASK_BROKER_URI": f"http://127.0.0.1:{names.RUNNERS_BROKER_PORT}",
        "N8N_RUNNERS_AUTH_TOKEN_FILE": secret_file(inputs, names.RUNNERS_AUTH_TOKEN),
        "N8N_RUNNERS_MAX_CONCURRENCY": str(max(5, inputs.worker_concurrency)),
        "N8N_RUNNERS_TASK_TIMEOUT": str(RUNNER_TASK_TIMEOUT_SECONDS),
        "N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT": "15",
        "N8N_RUNNERS_LAUNCHER_HEALTH_CHECK_PORT": str(RUNNER_HEALTH_PORT),
        "N8N_RUNNERS_LAUNCHER_LOG_LEVEL": "info" if inputs.log_level == "debug" else str(inputs.log_level),
        "GENERIC_TIMEZONE": inputs.timezone,
    }


REASONS: dict[str, str] = {
    # process and secrets
    "NODE_ENV": "production mode of n8n and its libraries, as in the official image",
    "EXECUTIONS_MODE": "queue mode: webhook processors enqueue, workers execute, all share Postgres and Redis",
    "N8N_USER_FOLDER": "fixed settings folder (<folder>/.n8n) the workload mounts writable under a RO rootfs",
    "N8N_ENCRYPTION_KEY_FILE": "credentials encryption key, identical file on every role; read from the Secret",
    "N8N_LICENSE_ACTIVATION_KEY_FILE": "license (multi-main, S3 binaries) read from the Secret, only when present",
    "GENERIC_TIMEZONE": "timezone of schedule triggers and date helpers",
    "N8N_LOG_LEVEL": "log verbosity from settings",
    "N8N_LOG_OUTPUT": "logs to stdout only; the cluster collects them",
    "N8N_LOG_FORMAT": "JSON log lines for the log pipeline",
    "N8N_DIAGNOSTICS_ENABLED": "no telemetry to n8n's servers",
    "N8N_VERSION_NOTIFICATIONS_ENABLED": "no update checks; the version is pinned by the stack",
    "N8N_GRACEFUL_SHUTDOWN_TIMEOUT": "time a stopping process gives running executions (below the pod grace period)",
    "N8N_DEFAULT_BINARY_DATA_MODE": "database: filesystem is not shared across pods, s3 needs a license",
    "N8N_EVENTBUS_LOGWRITER_MAXFILESIZEINKB": "the event log lives in the memory-backed .n8n folder: small files",
    "N8N_EVENTBUS_LOGWRITER_KEEPLOGCOUNT": "with the file size, caps the event log at ~12 MiB of pod memory",
    "OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS": "manual runs execute on workers; main then needs no task runner",
    "NODE_EXTRA_CA_CERTS": "trust the internal CA of the in-cluster Redis (2.40.7 has no Redis CA variable)",
    # queue tuning
    "QUEUE_WORKER_LOCK_DURATION": "job lock outlasting any Redis outage n8n survives; a dead worker's jobs expire",
    "QUEUE_WORKER_LOCK_RENEW_TIME": "renew the job lock well before it expires",
    "QUEUE_WORKER_STALLED_INTERVAL": "find the jobs of dead workers within 30 s of their lock expiring",
    # pruning
    "EXECUTIONS_DATA_PRUNE": "prune execution data so Postgres does not grow without bound",
    "EXECUTIONS_DATA_MAX_AGE": "retention age of execution data, hours",
    "EXECUTIONS_DATA_PRUNE_MAX_COUNT": "retention count of execution data",
    # metrics and health
    "N8N_METRICS": "Prometheus /metrics on the n8n port",
    "N8N_METRICS_INCLUDE_QUEUE_METRICS": "n8n_scaling_mode_queue_jobs_* gauges; only main (queue mode) emits them",
    "N8N_METRICS_QUEUE_METRICS_INTERVAL": "refresh of the queue gauges, seconds",
    "N8N_METRICS_INCLUDE_DEFAULT_METRICS": "process and Node.js metrics (memory against the container limit)",
    "N8N_METRICS_INCLUDE_API_ENDPOINTS": "n8n_http_request_duration_seconds histograms (API p95 latency)",
    "N8N_METRICS_INCLUDE_API_METHOD_LABEL": "method label on the API histograms",
    "N8N_METRICS_INCLUDE_API_STATUS_CODE_LABEL": "status_code label on the API histograms (error ratio)",
    "N8N_METRICS_INCLUDE_API_PATH_LABEL": "off: webhook paths are user-chosen, one series each",
    "N8N_METRICS_INCLUDE_DB_POOL_METRICS": "n8n_db_pool_* gauges (requests waiting for a database connection)",
    "N8N_METRICS_INCLUDE_MESSAGE_EVENT_BUS_METRICS": "n8n_workflow_{started,success,failed}_total counters",
    "N8N_METRICS_INCLUDE_WORKFLOW_EXECUTION_DURATION": "n8n_workflow_execution_duration_seconds{status,mode}",
    "N8N_METRICS_INCLUDE_WEBHOOK_METRICS": "n8n_webhook_request_duration_seconds (webhook latency; workflow_id label)",
    "N8N_METRICS_INCLUDE_WORKFLOW_ID_LABEL": "off: one series per workflow",
    "N8N_METRICS_INCLUDE_WORKFLOW_NAME_LABEL": "off: one series per workflow",
    "N8N_METRICS_INCLUDE_NODE_TYPE_LABEL": "off: one series per node type",
    "N8N_METRICS_INCLUDE_CREDENTIAL_TYPE_LABEL": "off: one series per credential type",
    "QUEUE_HEALTH_CHECK_ACTIVE": "worker HTTP server with /healthz and /healthz/readiness for probes",
    "QUEUE_HEALTH_CHECK_PORT": "worker health server on the same port as the other roles",
    # URLs
    "N8N_HOST": "public hostname n8n builds its URLs from",
    "N8N_PROTOCOL": "public scheme (TLS ends at the edge)",
    "N8N_PORT": "HTTP port the container listens on",
    "N8N_PROXY_HOPS": "trust X-Forwarded-* from the edge proxy (client IP, scheme)",
    "N8N_PUSH_BACKEND": "the editor's push over websockets, which both edges carry (collaboration needs them)",
    "N8N_SECURE_COOKIE": "session cookie only over HTTPS (the edge terminates TLS; plain http only in local tests)",
    "N8N_EDITOR_BASE_URL": "public editor URL for e-mails, OAuth and SSO redirects",
    "N8N_WEBHOOK_URL": "public webhook base; needed on workers too or resume URLs point at localhost",
    "WEBHOOK_URL": "legacy name of N8N_WEBHOOK_URL, read by n8n releases before 2.30",
    # database
    "DB_TYPE": "PostgreSQL (the only production database of 2.x)",
    "DB_POSTGRESDB_HOST": "database endpoint from the data layer",
    "DB_POSTGRESDB_PORT": "database port from the data layer",
    "DB_POSTGRESDB_DATABASE": "database name",
    "DB_POSTGRESDB_USER": "least-privilege login role",
    "DB_POSTGRESDB_PASSWORD_FILE": "role password read from the Secret",
    "DB_POSTGRESDB_SCHEMA": "dedicated schema owned by the n8n role (PG >= 15 has no PUBLIC CREATE)",
    "DB_POSTGRESDB_POOL_SIZE": "connections per process sized to the role's concurrency (default 2 starves queues)",
    "DB_POSTGRESDB_SSL_ENABLED": "TLS to PostgreSQL as the connection requires",
    "DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED": "verify the server certificate",
    "DB_POSTGRESDB_SSL_CA_FILE": "CA bundle that verifies the database certificate",
    "DB_PING_INTERVAL_SECONDS": "notice a broken database connection within a second",
    "DB_PING_TIMEOUT_MS": "through PgBouncer a stuck ping fails in 3 s; through RDS Proxy it waits as the proxy does",
    "DB_POSTGRESDB_CONNECTION_TIMEOUT": "through a pooler queries wait up to 60 s for n8n's rebuilt pool, not 20 s",
    "DB_PING_MAX_FAILURES_BEFORE_RECOVERY": "rebuild the pool after two failed pings (one through a pooler); queries "
                                            "then wait, not fail",
    "DB_RECOVERY_BACKOFF_MAX_MS": "reconnect attempts at most 5 s apart (2 s to a pooler): back soon after the "
                                  "database is",
    "DB_POSTGRESDB_DESTROY_TIMEOUT_MS": "force-close a dead pool's sockets after 3 s instead of 10 s",
    "DB_CONNECTION_ACQUISITION_TIMEOUT_MS": "queries wait up to 2 min for a rebuilt pool: a managed failover fits",
    "N8N_EXECUTIONS_QUEUE_RECOVERY_INTERVAL": "mark executions whose job is gone `crashed` every minute, not 3 h",
    "N8N_EXECUTIONS_QUEUE_RECOVERY_BATCH": "each recovery pass sees more in-progress executions than the backlog",
    # redis
    "QUEUE_BULL_REDIS_HOST": "Redis endpoint from the data layer",
    "QUEUE_BULL_REDIS_PORT": "Redis port from the data layer",
    "QUEUE_BULL_REDIS_DB": "logical database 0 (cluster-compatible)",
    "QUEUE_BULL_PREFIX": "Bull key prefix; the backlog is <prefix>:jobs:wait (autoscaling reads it)",
    "QUEUE_BULL_REDIS_TLS": "TLS to Redis as the connection requires",
    "QUEUE_BULL_REDIS_PASSWORD_FILE": "Redis AUTH token read from the Secret",
    "QUEUE_BULL_REDIS_KEEP_ALIVE": "TCP keep-alive so half-open sockets are detected (workers silently stop)",
    "QUEUE_BULL_REDIS_KEEP_ALIVE_DELAY": "first keep-alive probe after 5 s idle",
    "QUEUE_BULL_REDIS_KEEP_ALIVE_INTERVAL": "keep-alive probe interval",
    "QUEUE_BULL_REDIS_TIMEOUT_THRESHOLD": "reconnect budget before exiting; covers a Redis failover/restart",
    # roles
    "N8N_DISABLE_PRODUCTION_MAIN_PROCESS": "webhook processors serve production webhooks; main stays out of them",
    "N8N_MULTI_MAIN_SETUP_ENABLED": "several mains with leader election (licensed only)",
    # task runners (n8n side)
    "N8N_RUNNERS_MODE": "external runners: user code runs in the n8nio/runners sidecar, never next to secrets",
    "N8N_UNVERIFIED_PACKAGES_ENABLED": "no unverified community packages (the default n8n announces for later)",
    "N8N_COMMUNITY_PACKAGES_ENABLED": "no UI installs: ~/.n8n is a small memory volume, lost on restart, per pod",
    "N8N_COMPRESSION_NODE_MAX_DECOMPRESSED_SIZE_BYTES": "zip-bomb guard at the future default (256 MiB)",
    "N8N_COMPRESSION_NODE_MAX_ZIP_ENTRIES": "zip-bomb guard at the future default (1000 entries)",
    "N8N_RUNNERS_AUTH_TOKEN_FILE": "shared runner auth token read from the Secret (n8n and launcher)",
    "N8N_RUNNERS_BROKER_LISTEN_ADDRESS": "broker reachable only from the same pod's sidecar",
    "N8N_RUNNERS_BROKER_PORT": "broker port the sidecar connects to",
    "N8N_RUNNERS_TASK_TIMEOUT": "same task timeout on broker and launcher (their defaults differ)",
    # task runners (sidecar side)
    "N8N_RUNNERS_TASK_BROKER_URI": "the broker of the n8n container in the same pod",
    "N8N_RUNNERS_MAX_CONCURRENCY": "runner tasks in parallel, matched to the worker concurrency",
    "N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT": "idle runners exit and are relaunched on demand",
    "N8N_RUNNERS_LAUNCHER_HEALTH_CHECK_PORT": "launcher /healthz for the sidecar's probes",
    "N8N_RUNNERS_LAUNCHER_LOG_LEVEL": "launcher log verbosity",
}
"""Why each variable is set (the contract's documentation; every emitted variable must have an entry)."""


FORBIDDEN: dict[str, str] = {
    "N8N_BASIC_AUTH_ACTIVE": "removed in 1.0; n8n uses user management",
    "QUEUE_WORKER_MAX_STALLED_COUNT": "removed in 2.0 (ignored); stalls are terminal",
    "N8N_RUNNERS_ENABLED": "deprecated in 2.x; runners are always on",
    "N8N_AVAILABLE_BINARY_DATA_MODES": "removed in 2.0 with the memory `default` mode",
    "N8N_CONFIG_FILES": "removed in 2.0",
    "N8N_ENCRYPTION_KEY": "secrets are read from files, never values",
    "DB_POSTGRESDB_PASSWORD": "secrets are read from files, never values",
    "QUEUE_BULL_REDIS_PASSWORD": "secrets are read from files, never values",
    "N8N_RUNNERS_AUTH_TOKEN": "secrets are read from files, never values",
}
"""Variables the contract must never emit, with why (1.x folklore and plain-text secrets)."""
