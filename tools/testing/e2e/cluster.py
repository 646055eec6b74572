"""n8n queue mode on one machine, built from the environment contract (`n8n_platform.n8n.env`).

PostgreSQL and Redis run on 127.0.0.1; main (`n8n start`), webhook processors (`n8n webhook`) and workers
(`n8n worker`, each with a task runner standing in for its n8nio/runners sidecar) run as separate processes. Their
environments are `n8n_env(role, inputs)` and `runner_env(inputs)` for inputs that point at the local servers; the
only rewrites are what Kubernetes gives each pod for free: its own port, broker port and user folder, and where the
CA bundles are "mounted" (connections.CA_DIR is relocated into the work dir). With ``tls=True`` (the default) both
PostgreSQL and Redis serve TLS with certificates from private CAs that only those mounted bundles trust.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from n8n_platform import names
from n8n_platform.connections import CA_DIR, CaBundle, DatabaseConnection, Pooler, RedisConnection, SecretKeyRef
from n8n_platform.database import pooler as pooling
from n8n_platform.n8n.env import METRICS_PATH, N8nEnvInputs, Role, n8n_args, n8n_env, role_pool_size, runner_env

from .install import Install
from .load import post_json
from .pgbouncer import PgBouncer
from .processes import N8nProcess, TaskRunner, base_env, http_get, n8n_cli
from .servers import Managed, Postgres, Redis, free_port
from .tls import make_server_cert

FILES_FOLDER = ".n8n-files"
"""Where n8n lets the Read/Write Files node write (`~/.n8n-files`); the pods mount a bounded volume there."""
WORKFLOW_ID = "e2eQueueWorkflow"
"""16-character id, like n8n's own."""
WEBHOOK_PATH = "e2e-queue"
DB_NAME = DB_USER = DB_SCHEMA = "n8n"


def workflow(delay_ms: int) -> dict:
    """Webhook (POST, answer when the last node finishes) -> Code node that doubles `n` after ``delay_ms``."""
    code = (
        "const n = $input.first().json.body.n;\n"
        f"await new Promise((resolve) => setTimeout(resolve, {delay_ms}));\n"
        "return [{ json: { n, doubled: n * 2 } }];\n"
    )
    return {
        "id": WORKFLOW_ID,
        "name": "e2e queue mode",
        "active": False,
        "nodes": [
            {"id": str(uuid.uuid4()), "name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2,
             "position": [0, 0], "webhookId": str(uuid.uuid4()),
             "parameters": {"httpMethod": "POST", "path": WEBHOOK_PATH, "responseMode": "lastNode", "options": {}}},
            {"id": str(uuid.uuid4()), "name": "Code", "type": "n8n-nodes-base.code", "typeVersion": 2,
             "position": [240, 0], "parameters": {"jsCode": code}},
        ],
        "connections": {"Webhook": {"main": [[{"node": "Code", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"},
        "pinData": {},
    }


def import_workflow(install: Install, env: dict[str, str], folder: Path, delay_ms: int,
                    extra: Sequence[dict] = (), credentials: Sequence[dict] = ()) -> None:
    """Import ``credentials`` (plain ``data``: the CLI encrypts it with the key in ``env``), then import and publish
    the test workflow and ``extra`` ones, with the n8n CLI (before the processes start: a running n8n does not pick up
    CLI changes)."""
    if credentials:
        creds = folder / "credentials.json"
        creds.write_text(json.dumps(list(credentials)))
        n8n_cli(install, ["import:credentials", f"--input={creds}"], env)
    wf = folder / "workflow.json"
    workflows = [workflow(delay_ms), *extra]
    wf.write_text(json.dumps(workflows))
    n8n_cli(install, ["import:workflow", f"--input={wf}"], env)
    for w in workflows:
        n8n_cli(install, ["publish:workflow", f"--id={w['id']}"], env)


def webhook_url(process: N8nProcess) -> str:
    """The test workflow's production webhook on ``process``."""
    return process.url(f"/webhook/{WEBHOOK_PATH}")


def wait_webhook_registered(process: N8nProcess, *also_log: N8nProcess, timeout: float = 120) -> float:
    """Until the workflow is active, ``process`` answers its webhook with 404; returns the wait in seconds.

    Raises with the log tails of ``process`` and ``also_log`` when no 2xx comes within ``timeout``."""
    url = webhook_url(process)
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if post_json(url, 1, 1, payload=lambda i: {"n": -1}, timeout=60).ok:
            return time.monotonic() - t0
        time.sleep(1)
    tails = "\n".join(p.log_tail() for p in (process, *also_log))
    raise TimeoutError(f"webhook never answered 2xx:\n{tails}")


CALL_OF_EXECUTION_JS = """
const { parse } = require('flatted');
const rows = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const body = (main) => main?.[0]?.[0]?.json?.body;
console.log(JSON.stringify(rows.map(([id, text]) => {
  const data = parse(text);
  const ran = data.resultData?.runData?.Webhook?.[0]?.data?.main;
  const waiting = data.executionData?.nodeExecutionStack?.[0]?.data?.main;
  return [id, (body(ran) ?? body(waiting))?.n ?? null];
})));
"""
"""Reads [[execution id, execution_data.data], ...] on stdin, prints [[id, the webhook body's n or null], ...]."""
STALL_LIMIT_MESSAGE = "failed to be processed too many times"
"""Part of n8n 2.x's MaxStalledCountError message: a job that stalled once (maxStalledCount is 0) is failed."""


def logged_executions(process: N8nProcess, event: str) -> set[str]:
    """Execution ids a worker logged as ``event`` ("started"/"finished": "Worker <event> execution <id> (job <n>)")."""
    prefix = f"Worker {event} execution "
    messages = (str(r.get("message", "")) for r in process.log_records())
    return {m[len(prefix):].split()[0] for m in messages if m.startswith(prefix)}


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text format -> {'name{labels}': value} (comments skipped)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        try:
            out[key] = float(value)
        except ValueError:
            continue
    return out


@dataclass
class Worker:
    """A worker process and the task runner that serves its broker."""

    process: N8nProcess
    runner: TaskRunner

    def stop(self) -> None:
        self.process.stop()
        self.runner.stop()


class QueueModeCluster(Managed):
    """Postgres + Redis + main + webhook processor + workers, from the env contract. Use as a context manager."""

    def __init__(self, install: Install, *, worker_concurrency: int = 10, graceful_shutdown_seconds: int = 30,
                 delay_ms: int = 0, fast_db: bool = True, tls: bool = True, redis_aof: bool = False,
                 extra_workflows: Sequence[dict] = (), workdir: Path | None = None,
                 pg_settings: dict[str, str] | None = None, pooler: bool = False,
                 credentials: Sequence[dict] = (), secret_values: dict[str, str] | None = None):
        self.install = install
        self.credentials = credentials
        self.secret_values = dict(secret_values or {})
        self.redis_aof = redis_aof
        self.tls = tls
        self.delay_ms = delay_ms
        self.extra_workflows = extra_workflows
        self.pg_settings = dict(pg_settings or {})
        self.fast_db = fast_db
        self.worker_concurrency = worker_concurrency
        self.graceful_shutdown_seconds = graceful_shutdown_seconds
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="n8n-e2e-"))
        self._own_workdir = workdir is None
        self.timings: dict[str, float] = {}
        self.pg: Postgres | None = None
        self.pooler = pooler
        self.bouncer: PgBouncer | None = None
        self.redis: Redis | None = None
        self.main: N8nProcess | None = None
        self.webhook: N8nProcess | None = None
        self.workers: list[Worker] = []
        self.inputs: N8nEnvInputs | None = None

    # ---- environment from the contract -------------------------------------------------------------------
    @property
    def secrets_dir(self) -> Path:
        """Stands in for connections.SECRETS_DIR, where the n8n Secret is mounted (N8nEnvInputs.secrets_dir)."""
        return self.workdir / "secrets"

    def _write_secrets(self) -> None:
        folder = self.secrets_dir
        folder.mkdir(mode=0o700)
        values = {
            names.ENCRYPTION_KEY: secrets.token_hex(32),
            names.DB_PASSWORD: secrets.token_urlsafe(24),
            names.REDIS_PASSWORD: secrets.token_urlsafe(24),
            names.RUNNERS_AUTH_TOKEN: secrets.token_urlsafe(24),
            **self.secret_values,
        }
        for key, value in values.items():
            path = folder / key
            path.write_text(value)  # no trailing newline: n8n would trim it, with a warning per variable
            path.chmod(0o600)

    def secret(self, key: str) -> str:
        """One value of the n8n Secret (names.*)."""
        return (self.secrets_dir / key).read_text().strip()

    @property
    def home(self) -> Path:
        """HOME of every process (the pods' USER_FOLDER); n8n's `~`."""
        return self.workdir / "home"

    @property
    def ca_dir(self) -> Path:
        """Stands in for connections.CA_DIR, where the workloads mount CA bundles."""
        return self.workdir / "ca"

    def mounted(self, path: str) -> str:
        """``path`` with connections.CA_DIR relocated to ca_dir (other paths unchanged)."""
        return str(self.ca_dir) + path[len(CA_DIR):] if path.startswith(f"{CA_DIR}/") else path

    def env(self, role: Role, name: str, port: int, broker_port: int | None = None,
            install: Install | None = None) -> dict[str, str]:
        """`n8n_env(role)` plus what each pod has of its own: port, broker port, user folder, mounted CA dir.
        ``install``: another n8n version than the cluster's (its contract is rendered for that version)."""
        install = install or self.install
        contract = n8n_env(role, dataclasses.replace(self.inputs, version=install.version))
        assert all(isinstance(v, str) for v in contract.values()), "local inputs hold no Pulumi values"
        env = {**base_env(install, self.home), **{k: self.mounted(v) for k, v in contract.items()}}
        env["N8N_PORT"] = str(port)
        env["N8N_USER_FOLDER"] = str(self.workdir / name)
        if role == "worker":
            env["QUEUE_HEALTH_CHECK_PORT"] = str(port)
            env["N8N_RUNNERS_BROKER_PORT"] = str(broker_port)
        return env

    # ---- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> QueueModeCluster:
        """Data layer, workflows (and credentials) imported and published, then the n8n processes."""
        self.start_data_layer()
        t1 = time.monotonic()
        import_workflow(self.install, self.env("main", "cli", free_port()), self.workdir, self.delay_ms,
                        self.extra_workflows, self.credentials)
        self.timings["import_publish_s"] = time.monotonic() - t1  # includes the first start's migrations
        return self.start_processes()

    def start_data_layer(self) -> QueueModeCluster:
        """The n8n Secret's files, PostgreSQL (with the n8n role from the production bootstrap SQL) and Redis, and the
        contract's inputs pointing at them; no n8n process yet."""
        t0 = time.monotonic()
        (self.home / FILES_FOLDER).mkdir(parents=True, exist_ok=True)  # stands in for the pods' files volume
        self._write_secrets()
        db_ca = redis_ca = None
        db_cert = redis_cert = None
        if self.tls:  # two private CAs, each "mounted" where CaBundle.path() says
            db_cert = make_server_cert(self.workdir / "pki" / "db")
            redis_cert = make_server_cert(self.workdir / "pki" / "redis")
            db_ca = CaBundle(source="configMap", name="db-ca", key="ca.crt")
            redis_ca = CaBundle(source="secret", name="redis-tls", key="ca.crt")
            for purpose, bundle, cert in (("db", db_ca, db_cert), ("redis", redis_ca, redis_cert)):
                target = Path(self.mounted(bundle.path(purpose)))
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(cert.ca, target)
        self.pg = Postgres(fast=self.fast_db, tls=db_cert, settings=self.pg_settings).start()
        self.redis = Redis(password=self.secret(names.REDIS_PASSWORD), tls=redis_cert, aof=self.redis_aof).start()
        self.pg.create_n8n_database(DB_NAME, DB_USER, DB_SCHEMA, self.secret(names.DB_PASSWORD))
        db_port = self.pg.port
        if self.pooler:  # one pooler pod for every process here: main, webhook, a worker and its replacement
            clients = sum(role_pool_size(role, self.worker_concurrency) for role in ("main", "webhook", "worker",
                                                                                     "worker"))
            self.bouncer = PgBouncer(self.pg, pooling.server_connections(clients, connection_limit=200),
                                     databases=(DB_NAME,), tls=db_cert).start()
            db_port = self.bouncer.port
        self.timings["postgres_redis_s"] = time.monotonic() - t0
        self.inputs = N8nEnvInputs(
            hostname="localhost",
            protocol="http",
            version=self.install.version,
            db=DatabaseConnection(host="127.0.0.1", port=db_port, database=DB_NAME, user=DB_USER,
                                  schema=DB_SCHEMA, password=SecretKeyRef(names.N8N_SECRET, names.DB_PASSWORD),
                                  ssl=self.tls, ca=db_ca, pooler=Pooler.PGBOUNCER if self.pooler else None),
            redis=RedisConnection(host="127.0.0.1", port=self.redis.port, tls=self.tls,
                                  password=SecretKeyRef(names.N8N_SECRET, names.REDIS_PASSWORD), ca=redis_ca,
                                  managed=False),
            worker_concurrency=self.worker_concurrency,
            graceful_shutdown_seconds=self.graceful_shutdown_seconds,
            secrets_dir=str(self.secrets_dir),
        )
        return self

    def start_processes(self) -> QueueModeCluster:
        """Main, a webhook processor and a worker with its runner, each ready, and the test workflow's webhook
        answering."""
        t2 = time.monotonic()
        self.main = self._start_process("main", "main")
        self.webhook = self._start_process("webhook", "webhook")
        worker = self.start_worker("worker-1")
        with ThreadPoolExecutor(3) as pool:
            ready = list(pool.map(lambda p: p.wait_ready(), [self.main, self.webhook, worker.process]))
        self.timings.update(main_ready_s=ready[0], webhook_ready_s=ready[1], worker_ready_s=ready[2])
        self.timings["first_webhook_s"] = wait_webhook_registered(self.webhook, self.main)
        self.timings["processes_s"] = time.monotonic() - t2
        return self

    def _start_process(self, role: Role, name: str, broker_port: int | None = None,
                       install: Install | None = None) -> N8nProcess:
        """Start one n8n process of ``role`` on a free port, logging to logs/<name>.log (``install``: another n8n
        version than the cluster's)."""
        install = install or self.install
        port = free_port()
        return N8nProcess(name, install, n8n_args(role, self.inputs), self.env(role, name, port, broker_port, install),
                          self.workdir / "logs" / f"{name}.log", port).start()

    def start_worker(self, name: str, install: Install | None = None) -> Worker:
        """A worker and its task runner (``install``: another n8n version than the cluster's, for both)."""
        install = install or self.install
        broker_port = free_port()
        process = self._start_process("worker", name, broker_port, install)
        sidecar = runner_env(dataclasses.replace(self.inputs, version=install.version))
        sidecar["N8N_RUNNERS_TASK_BROKER_URI"] = f"http://127.0.0.1:{broker_port}"
        runner = TaskRunner(install, sidecar, base_env(install, self.home),
                            self.workdir / "logs" / f"{name}-runner.log").start()
        worker = Worker(process, runner)
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        for p in (self.webhook, self.main):
            if p is not None:
                p.stop()
        for s in (self.redis, self.bouncer, self.pg):
            if s is not None:
                s.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # ---- observations ------------------------------------------------------------------------------------
    @property
    def webhook_url(self) -> str:
        return webhook_url(self.webhook)

    def executions(self) -> list[dict]:
        """Rows of execution_entity for the test workflow (read as the superuser)."""
        with self.pg.connect(DB_NAME) as conn:
            cur = conn.execute(
                f'SELECT id, status, mode, finished, "startedAt", "stoppedAt" FROM {DB_SCHEMA}.execution_entity '
                'WHERE "workflowId" = %s ORDER BY id', (WORKFLOW_ID,))
            cols = [c.name for c in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def calls_of(self, execution_ids: Sequence[int]) -> dict[int, int | None]:
        """Execution id -> the webhook call (its body's ``n``) that created it, read from ``execution_data`` with
        n8n's own parser (flatted): from the Webhook node's run, or, for an execution that never ran, from the
        trigger item waiting on its execution stack. None where the data holds neither."""
        if not execution_ids:
            return {}
        with self.pg.connect(DB_NAME) as conn:
            rows = conn.execute(f'SELECT "executionId", data FROM {DB_SCHEMA}.execution_data '
                                'WHERE "executionId" = ANY(%s)', (list(execution_ids),)).fetchall()
        done = subprocess.run([str(self.install.node), "-e", CALL_OF_EXECUTION_JS],
                              input=json.dumps([[int(i), data] for i, data in rows]), capture_output=True, text=True,
                              cwd=self.install.root, timeout=120, check=True)
        found = {int(i): n for i, n in json.loads(done.stdout)}
        return {int(i): found.get(int(i)) for i in execution_ids}

    def metrics(self, process: N8nProcess) -> dict[str, float]:
        status, body = http_get(process.url(METRICS_PATH))
        if status != 200:
            raise RuntimeError(f"{process.name} /metrics answered {status}")
        return parse_metrics(body)

    def queue_counts(self) -> dict[str, int]:
        """Bull's own view of the queue `jobs` (waiting list and active list lengths)."""
        client = self.redis.client()
        prefix = self.inputs.redis.prefix
        return {"wait": client.llen(f"{prefix}:jobs:wait"), "active": client.llen(f"{prefix}:jobs:active")}

    def stalled_jobs(self) -> list[str]:
        """Bull jobs caught in the worker-shutdown race: failed as stalled, or sitting in `active` with no lock.

        A worker pauses its queue on SIGTERM by dropping its blocking BRPOPLPUSH; a job Redis moved to `active` in
        that instant is never processed, and the next stalled check fails it (n8n 2.x allows no stalled retry).
        """
        client = self.redis.client()
        prefix = f"{self.inputs.redis.prefix}:jobs"
        unlocked = [j for j in client.lrange(f"{prefix}:active", 0, -1) if not client.exists(f"{prefix}:{j}:lock")]
        failed = [j for j in client.zrange(f"{prefix}:failed", 0, -1)
                  if "stalled" in (client.hget(f"{prefix}:{j}", "failedReason") or "")]
        return unlocked + failed

    def stall_failed_executions(self) -> set[str]:
        """Execution ids the main or webhook process failed because their job stalled (n8n's own record of the
        shutdown race: it logs "Problem with execution <id>: This execution failed to be processed too many times").

        The Redis side of the race is fleeting (n8n keeps no failed jobs: ``keepLastFailed`` is 0), this is not.
        """
        prefix = "Problem with execution "
        messages = (str(r.get("message", "")) for p in (self.main, self.webhook) for r in p.log_records())
        return {m[len(prefix):].split(":")[0] for m in messages
                if m.startswith(prefix) and STALL_LIMIT_MESSAGE in m}

    def finished_by_workers(self) -> set[str]:
        """Execution ids that workers logged as finished."""
        return set().union(*(logged_executions(w.process, "finished") for w in self.workers))
