"""An n8n upgrade under load on real n8n, in the order and with the waits the platform renders.

The old version's main, webhook processor and worker run from the environment contract
(:class:`~tools.testing.e2e.cluster.QueueModeCluster`); webhook load goes through a front (nginx standing in for the
Service and load balancer: it sends to the processors that are endpoints). Then the processes are replaced as the
dev stack's plan says (:func:`rollout_plan`, read from the offline plan's Deployments): main first (``Recreate``:
preStop sleep, SIGTERM, the old main exits, the new one starts, runs the migrations and turns ready), and only then
the roles whose Deployments depend on main's, each surging (the new pod ready first; a webhook processor leaves the
endpoints, sleeps its preStop, then gets SIGTERM; a worker gets SIGTERM and drains its running executions, its
runner stopping after it). Every call is accounted for as in the fault tests
(:class:`~tools.testing.e2e.faults.Accounting`).

Run it alone for a report: ``python -m tools.testing.e2e.upgrade [--from VERSION]`` (nice it: it starts six n8n
processes).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cluster import DB_NAME, DB_SCHEMA, WEBHOOK_PATH, QueueModeCluster, Worker, wait_webhook_registered
from .faults import CLUSTER_OPTIONS, FINAL, Accounting, settle_bound_s, told_done
from .install import Install
from .load import LoadResult, post_json
from .processes import N8nProcess
from .proxy import NGINX
from .servers import Managed, free_port, stop_process, wait_port


@dataclass(frozen=True)
class RoleRollout:
    """How the platform rolls one role's Deployment."""

    role: str
    after: tuple[str, ...]
    """Roles whose Deployment this one depends on (the engine waits for their rollout)."""
    strategy: str
    """``Recreate`` or ``RollingUpdate``."""
    prestop_s: int
    """preStop sleep before SIGTERM."""
    grace_s: int
    """terminationGracePeriodSeconds."""


def rollout_plan(stack: str = "dev") -> list[list[RoleRollout]]:
    """The n8n Deployments of ``stack``'s offline plan, in waves: each wave's roles depend only on earlier waves."""
    from tools import offline

    recording = offline.run_stack(stack)
    by_name = {r.name: r for r in recording.find("kubernetes:apps/v1:Deployment") if r.parent == "n8n-app"}
    roles: dict[str, RoleRollout] = {}
    for r in by_name.values():
        m = offline.manifest(r)
        role = m["metadata"]["labels"]["app.kubernetes.io/component"]
        pod = m["spec"]["template"]["spec"]
        n8n = pod["containers"][0]
        roles[role] = RoleRollout(
            role=role,
            after=tuple(sorted(by_name[d].inputs["metadata"]["labels"]["app.kubernetes.io/component"]
                               for d in r.options["depends_on"] if d in by_name)),
            strategy=m["spec"]["strategy"]["type"],
            prestop_s=int(n8n.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)),
            grace_s=int(pod["terminationGracePeriodSeconds"]))
    waves: list[list[RoleRollout]] = []
    done: set[str] = set()
    while len(done) < len(roles):
        wave = [r for name, r in sorted(roles.items()) if name not in done and set(r.after) <= done]
        if not wave:
            raise ValueError(f"the n8n Deployments depend on each other in a cycle: {roles}")
        waves.append(wave)
        done |= {r.role for r in wave}
    return waves


class Front(Managed):
    """nginx in front of the webhook processors: their Service's endpoints, changed as Kubernetes does (a new pod
    joins once ready, a stopping one leaves before its preStop sleep). Reloaded gracefully on each change."""

    def __init__(self, ports: list[int]):
        self.ports = list(ports)
        self.workdir = Path(tempfile.mkdtemp(prefix="n8n-front-"))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def _conf(self) -> str:
        servers = "\n".join(f"        server 127.0.0.1:{p};" for p in self.ports)
        user = "user root root;\n" if os.geteuid() == 0 else ""
        temp = "\n".join(f"    {k}_temp_path {self.workdir}/{k};" for k in ("client_body", "proxy", "fastcgi",
                                                                              "uwsgi", "scgi"))
        return f"""{user}worker_processes 1;
daemon off;
pid {self.workdir}/nginx.pid;
error_log {self.workdir}/error.log info;
events {{ worker_connections 512; }}
http {{
    access_log off;
{temp}
    upstream webhook {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{self.port};
        keepalive_timeout 0;  # a reload must not close a caller's idle connection (a load balancer never does)
        location / {{
            proxy_pass http://webhook;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_read_timeout 120s;
            proxy_next_upstream off;
        }}
    }}
}}
"""

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Front:
        (self.workdir / "nginx.conf").write_text(self._conf())
        with open(self.workdir / "stderr.log", "w") as log:
            self.proc = subprocess.Popen([NGINX, "-p", str(self.workdir), "-c", str(self.workdir / "nginx.conf"),
                                          "-e", "stderr"], stdout=subprocess.DEVNULL, stderr=log,
                                         start_new_session=True)
        wait_port(self.port, 20, self.proc)
        return self

    def endpoints(self, ports: list[int]) -> None:
        """Send new calls to ``ports`` only (calls in flight finish where they are)."""
        self.ports = list(ports)
        (self.workdir / "nginx.conf").write_text(self._conf())
        os.kill(self.proc.pid, signal.SIGHUP)
        time.sleep(1)  # the master starts new workers; old ones finish their requests

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=10)
            self.proc = None


@dataclass
class UpgradeRun:
    """What happened: the accounting, the timeline and the checks on the database."""

    accounting: Accounting
    timeline: list[tuple[float, str]] = field(default_factory=list)
    """(seconds since the first call, event)."""
    migrations: tuple[int, int] = (0, 0)
    """Rows of n8n's ``migrations`` table before and after the upgrade."""
    before_readable: tuple[int, int] = (0, 0)
    """(executions finished before the upgrade, of them with their data still read back after it)."""
    new_workers_started_after_main_ready: bool = False
    unanswered: Counter = field(default_factory=Counter)
    """Why calls got no answer at all (the client's error, by kind)."""
    failed: str | None = None
    """The rollout that failed (the update stops there, as ``pulumi up`` does), with the reason; None: all done."""
    new_workers: int = 0
    """Workers of the new version started."""
    old_alive: tuple[str, ...] = ()
    """Old-version processes still running at the end."""


@dataclass(frozen=True)
class UpgradePlan:
    """The load around the upgrade."""

    rate: float = 2.0
    """Calls per second, open loop."""
    requests: int = 480
    """Four minutes of calls at ``rate``: the whole upgrade happens under load."""
    concurrency: int = 150
    """Client connections (more than the calls that can wait at once: rate x call timeout)."""
    upgrade_after_s: float = 15.0
    """When the upgrade starts, counted from the first call."""
    ready_timeout_s: float = 900.0
    """How long a new process may take to turn ready (the startup probe's budget) before its rollout fails."""
    call_timeout_s: float = 60.0
    code_delay_ms: int = 200
    worker_concurrency: int = 10


REFUSED_MIGRATION = f"""
ALTER TABLE {DB_SCHEMA}.credentials_entity OWNER TO postgres;
GRANT SELECT, INSERT, UPDATE, DELETE ON {DB_SCHEMA}.credentials_entity TO n8n;
"""
"""A migration that fails: n8n keeps using ``credentials_entity`` but no longer owns it, so 2.40.7's first pending
migration (``AddPartialIndexForGlobalCredentials``, an index on it) is refused with "must be owner"."""


def _stop(process: N8nProcess, prestop_s: int, grace_s: int) -> int | None:
    """What the kubelet does: the preStop sleep, SIGTERM, SIGKILL at the end of the grace period."""
    time.sleep(prestop_s)
    process.signal(signal.SIGTERM)
    code = process.wait_exit(max(1, grace_s - prestop_s))
    if code is None:
        process.signal(signal.SIGKILL)
        process.wait_exit(10)
    return code


def _count(cluster: QueueModeCluster, sql: str) -> int:
    with cluster.pg.connect(DB_NAME) as conn:
        return int(conn.execute(sql).fetchone()[0])


def upgrade_under_load(cluster: QueueModeCluster, new: Install, plan: UpgradePlan = UpgradePlan(),
                       waves: list[list[RoleRollout]] | None = None, sabotage: str | None = None) -> UpgradeRun:
    """Load ``cluster`` (old version) through a front, roll every process to ``new`` as ``waves`` say, account.
    ``sabotage``: SQL run as the superuser before the upgrade (to make a migration fail)."""
    waves = waves or rollout_plan()
    if sabotage:
        with cluster.pg.connect(DB_NAME) as conn:
            conn.execute(sabotage)
    wait_webhook_registered(cluster.webhook, cluster.main)
    before = {e["id"] for e in cluster.executions()}
    migrations_before = _count(cluster, f"SELECT count(*) FROM {DB_SCHEMA}.migrations")
    timeline: list[tuple[float, str]] = []
    failed: str | None = None
    old_processes = [cluster.main, cluster.webhook, *(w.process for w in cluster.workers)]
    main_ready_at: list[float] = []
    new_workers_at: list[float] = []
    with Front([cluster.webhook.http_port]) as front, ThreadPoolExecutor(1) as pool:
        url = front.url(f"/webhook/{WEBHOOK_PATH}")
        begin = time.monotonic()

        def event(text: str) -> None:
            timeline.append((round(time.monotonic() - begin, 1), text))

        pending = pool.submit(post_json, url, plan.requests, plan.concurrency, timeout=plan.call_timeout_s,
                              start_index=500_000, rate=plan.rate)
        time.sleep(plan.upgrade_after_s)
        finished_before_upgrade = {e["id"] for e in cluster.executions() if e["status"] == "success"} - before
        for wave in waves:
            def roll(r: RoleRollout) -> None:
                if r.role == "main":
                    event(f"main {cluster.main.install.version}: preStop + SIGTERM (Recreate)")
                    _stop(cluster.main, r.prestop_s, r.grace_s)
                    event("old main exited; new main starting")
                    cluster.main = cluster._start_process("main", "main-new", install=new)
                    cluster.main.wait_ready(timeout=plan.ready_timeout_s)
                    main_ready_at.append(time.monotonic())
                    event(f"new main {new.version} ready (migrated)")
                elif r.role == "webhook":
                    old = cluster.webhook
                    cluster.webhook = cluster._start_process("webhook", "webhook-new", install=new)
                    cluster.webhook.wait_ready(timeout=900)
                    front.endpoints([cluster.webhook.http_port])
                    event(f"new webhook processor {new.version} ready, the only endpoint; old one stopping")
                    _stop(old, r.prestop_s, r.grace_s)
                    event("old webhook processor exited")
                elif r.role == "worker":
                    olds = [w for w in cluster.workers if w.process.alive()]
                    fresh: Worker = cluster.start_worker(f"worker-new-{len(cluster.workers)}", install=new)
                    new_workers_at.append(time.monotonic())
                    fresh.process.wait_ready(timeout=900)
                    event(f"new worker {new.version} ready; old worker draining")
                    for w in olds:
                        code = _stop(w.process, r.prestop_s, r.grace_s)
                        w.runner.stop()  # the native sidecar stops after n8n has exited
                        event(f"old worker exited ({'code ' + str(code) if code is not None else 'killed'})")
                else:
                    raise ValueError(f"unknown role {r.role!r}")

            try:
                with ThreadPoolExecutor(len(wave)) as rollers:
                    list(rollers.map(roll, wave))
            except (RuntimeError, TimeoutError) as e:  # a process that never turns ready: its rollout fails
                failed = f"{'/'.join(r.role for r in wave)}: {str(e).splitlines()[0]}"
                event(f"rollout failed, the update stops here ({failed})")
                break
        else:
            event("upgrade done")
        result: LoadResult = pending.result()
        event("last call answered")
    answered_at = time.monotonic()
    settled_s = None
    rows: list[dict[str, Any]] = []
    while True:
        rows = [e for e in cluster.executions() if e["id"] not in before]
        if all(e["status"] in FINAL for e in rows):
            settled_s = time.monotonic() - answered_at
            break
        if time.monotonic() - answered_at > settle_bound_s():
            break
        time.sleep(2)
    ids = ",".join(f"'{i}'" for i in finished_before_upgrade) or "NULL"
    readable = _count(cluster, f'SELECT count(*) FROM {DB_SCHEMA}.execution_data WHERE "executionId" IN ({ids}) '
                               "AND length(data) > 0")
    label = f"upgrade {cluster.install.version} -> {new.version}" + (", a migration refused" if sabotage else "")
    accounting = Accounting(label, plan.requests,
                            Counter(r.status for r in result.responses), Counter(e["status"] for e in rows),
                            settled_s, told_done(cluster, rows, result))
    return UpgradeRun(
        accounting=accounting, timeline=timeline,
        migrations=(migrations_before, _count(cluster, f"SELECT count(*) FROM {DB_SCHEMA}.migrations")),
        before_readable=(len(finished_before_upgrade), readable),
        new_workers_started_after_main_ready=bool(main_ready_at) and all(t > main_ready_at[0]
                                                                         for t in new_workers_at),
        unanswered=Counter((r.error or "").split(":")[0] for r in result.responses if r.status == 0),
        failed=failed, new_workers=len(new_workers_at),
        old_alive=tuple(p.name for p in old_processes if p.alive()))


def upgrade_cluster(old: Install, plan: UpgradePlan = UpgradePlan(), stack: str = "dev",
                    **extra: Any) -> QueueModeCluster:
    """The old version's cluster, with ``stack``'s graceful shutdown (the grace periods of :func:`rollout_plan`
    follow from it) and the fault tests' durable PostgreSQL and Redis."""
    from n8n_platform.settings import from_config
    from tools import offline

    settings = from_config(offline.load_stack_config(stack)[0])
    return QueueModeCluster(old, worker_concurrency=plan.worker_concurrency, delay_ms=plan.code_delay_ms,
                            graceful_shutdown_seconds=settings.n8n.graceful_shutdown_seconds, **CLUSTER_OPTIONS,
                            **extra)


def main() -> None:
    from . import install as n8n_install

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="old", default=n8n_install.OLDER_VERSION, help="the version upgraded from")
    parser.add_argument("--refused-migration", action="store_true", help="make the new version's migration fail")
    args = parser.parse_args()
    old, new = n8n_install.ensure(version=args.old), n8n_install.ensure()
    waves = rollout_plan()
    print("rollout waves:", [[(r.role, r.strategy, r.prestop_s, r.grace_s) for r in w] for w in waves], flush=True)
    plan = UpgradePlan(ready_timeout_s=120) if args.refused_migration else UpgradePlan()
    with upgrade_cluster(old, plan) as cluster:
        run = upgrade_under_load(cluster, new, plan, waves, REFUSED_MIGRATION if args.refused_migration else None)
    for at, text in run.timeline:
        print(f"{at:7.1f} s  {text}")
    print(f"migrations table rows: {run.migrations[0]} -> {run.migrations[1]}")
    print(f"executions finished before the upgrade: {run.before_readable[0]}, data read after: "
          f"{run.before_readable[1]}")
    print(f"new workers started only after the new main was ready: {run.new_workers_started_after_main_ready}")
    print(f"calls with no answer, by client error: {dict(run.unanswered)}")
    print(f"failed rollout: {run.failed}; new workers started: {run.new_workers}; old processes alive at the end: "
          f"{run.old_alive}")
    print(Accounting.HEADER)
    print(run.accounting.row())


if __name__ == "__main__":
    main()
