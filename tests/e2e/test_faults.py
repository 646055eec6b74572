"""No execution left hanging: real n8n 2.40.7 in queue mode, reaching PostgreSQL through PgBouncer as deployed, under
load through PostgreSQL immediate restarts (three, each failing at most what was in flight), a Redis kill and
restart (AOF), and a worker SIGKILL, with every webhook call accounted for (tools/testing/e2e/faults.py has
the load, the timings and the bound: FaultPlan). Also the pieces the platform adds for such faults: the worker's
liveness probe (n8n_platform.n8n.probes) against the real worker and Redis, and the Read/Write Files node writing
where the pods mount a bounded volume.

The accounting table is printed at the end of the run (section "n8n e2e report").
"""

from __future__ import annotations

import math
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from n8n_platform.n8n.probes import WORKER_LIVENESS_JS
from tools.testing.e2e.cluster import QueueModeCluster
from tools.testing.e2e.faults import NO_DATA_ANSWER, PLAN, Accounting, cluster_for, run_fault
from tools.testing.e2e.files import FILES_WEBHOOK_PATH, file_text, files_workflow
from tools.testing.e2e.load import post_json

from .conftest import REPORT, TIMINGS

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("n8n-e2e")]
"""Same xdist group as test_queue_mode: one worker runs both modules, one cluster at a time on 2 cores."""


@pytest.fixture(scope="module")
def cluster(install, tmp_path_factory):
    started = time.monotonic()
    workdir = tmp_path_factory.mktemp("n8n-faults")
    with cluster_for(install, PLAN, extra_workflows=[files_workflow(workdir / "home")], workdir=workdir) as c:
        TIMINGS["fault cluster start s"] = time.monotonic() - started
        yield c


def live_worker(cluster: QueueModeCluster):
    (worker,) = [w for w in cluster.workers if w.process.alive()]
    return worker


def probe(cluster: QueueModeCluster, env: dict[str, str]) -> tuple[int, str]:
    """Run the worker liveness probe as the kubelet would (``node -e``) in the worker's environment."""
    done = subprocess.run([str(cluster.install.node), "-e", WORKER_LIVENESS_JS], env=env, capture_output=True,
                          text=True, timeout=30)
    return done.returncode, (done.stdout + done.stderr).strip()


def test_read_write_files_node_writes_under_n8n_files(cluster):
    url = cluster.webhook.url(f"/webhook/{FILES_WEBHOOK_PATH}")
    result = post_json(url, 3, 3, start_index=7)
    assert result.statuses() == {200: 3}, [r.body[:300] for r in result.failed]
    for r in result.ok:
        assert r.body.decode() == file_text(r.index)
        assert (cluster.home / ".n8n-files" / f"e2e-{r.index}.txt").read_text() == file_text(r.index)


def test_worker_liveness_probe_sees_a_broken_worker_and_a_stalled_queue(cluster):
    worker = live_worker(cluster)
    assert probe(cluster, worker.process.env) == (0, "ok: 0 waiting, 0 active")
    # A worker that does not answer its readiness (frozen here; in production: DB or Redis connection broken).
    worker.process.signal(signal.SIGSTOP)
    try:
        code, out = probe(cluster, worker.process.env)
    finally:
        worker.process.signal(signal.SIGCONT)
    assert code == 1 and out.startswith("worker not ready"), out
    # Jobs waiting and none active: nobody consumes the queue. (A frozen worker would not do: Redis still hands
    # its pending blocking pop a job, which then sits in `active`.) So: no consumer at all, and the readiness half
    # answered by a healthy process, as inside a worker whose queue consumer died while its server lives on.
    queue_only = {**worker.process.env, "QUEUE_HEALTH_CHECK_PORT": str(cluster.main.http_port)}
    worker.process.signal(signal.SIGTERM)
    assert worker.process.wait_exit(60) == 0, worker.process.log_tail()
    worker.runner.stop()
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(post_json, cluster.webhook_url, 3, 3, timeout=180, start_index=900)
        deadline = time.monotonic() + 30
        while cluster.queue_counts()["wait"] < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert probe(cluster, queue_only) == (1, "queue stalled: 3 jobs waiting, none active")
        replacement = cluster.start_worker(f"worker-{len(cluster.workers) + 1}")
        replacement.process.wait_ready()
        assert pending.result(timeout=180).statuses() == {200: 3}
    assert probe(cluster, replacement.process.env) == (0, "ok: 0 waiting, 0 active")


def account(cluster: QueueModeCluster, fault: str, start_index: int) -> Accounting:
    acc = run_fault(cluster, fault, PLAN, start_index=start_index)
    if not REPORT:
        REPORT.append(Accounting.HEADER)
    REPORT.append(acc.row())
    TIMINGS[f"{fault}: all final after s"] = acc.settled_s if acc.settled_s is not None else float("nan")
    # Nothing left hanging, within the bound...
    assert acc.settled_s is not None and acc.in_progress == 0, acc.row()
    # ...and no caller was told "done" for work that did not succeed: no 2xx without an execution, none carrying a
    # result of a run that failed. Except n8n 2.40.7's own answer when the fault broke the worker's final save: it
    # reads the unsaved execution back and says "executed successfully" without data (counted as crashed: bounded).
    assert all(t.execution is not None and NO_DATA_ANSWER in t.body for t in acc.told_done), acc.told_done
    return acc


POSTGRES_RESTARTS = 3
"""The PostgreSQL restart is repeated on the same cluster: where in a query each restart strikes differs run to run."""
NOTICED_S = 2.0
"""Until every process has noticed the restart: a failed ping (every 0.5 s through PgBouncer, which fails queries
at once while the server refuses logins) and the switch to n8n's recovery, where queries wait."""


def in_flight_bound(plan=PLAN) -> int:
    """What a restart may break: the executions a worker runs at once, and the calls that arrive before n8n noticed."""
    return plan.worker_concurrency + math.ceil(plan.rate * NOTICED_S)


def test_postgres_immediate_restart_under_load_through_the_pooler(cluster):
    runs = [account(cluster, "postgres-restart", 10_000 + 1_000 * i) for i in range(POSTGRES_RESTARTS)]
    rows = "\n".join(acc.row() for acc in runs)
    # Through the pooler nothing is lost or left hanging (account), and only what was in flight when the server went
    # away fails: n8n retries nothing, and PgBouncer holds no query while the server refuses logins.
    for acc in runs:
        assert acc.statuses["crashed"] + acc.statuses["error"] <= in_flight_bound(), rows
    TIMINGS["postgres-restart: failed share of accepted"] = sum(
        a.statuses["crashed"] + a.statuses["error"] for a in runs) / max(1, sum(a.accepted for a in runs))


def test_redis_restart_under_load(cluster):
    acc = account(cluster, "redis-restart", 20_000)
    assert acc.statuses["crashed"] == 0 and acc.accepted == acc.calls, acc.row()


def test_worker_sigkill_under_load(cluster):
    acc = account(cluster, "worker-sigkill", 30_000)
    # A killed worker's running executions are lost (n8n 2.x never retries a job): at most its concurrency.
    assert acc.statuses["crashed"] <= PLAN.worker_concurrency, acc.row()
