"""The n8n environment contract, proven on real n8n 2.40.7 in queue mode.

PostgreSQL 15 and Redis on 127.0.0.1; main, one webhook processor and workers as separate `n8n` processes whose
environments come from `n8n_platform.n8n.env` (see tools/testing/e2e/cluster.py); a Webhook -> Code workflow answers
when the Code node (run by the worker's external task runner) finishes. Run with `make e2e`
(`.venv/bin/pytest tests/e2e -m e2e`); the first run installs n8n from npm (minutes), later runs reuse the cache.
"""

from __future__ import annotations

import json
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from n8n_platform import names
from n8n_platform.n8n.env import HEALTH_PATH, READINESS_PATH, n8n_args
from tools.testing.e2e.cluster import QueueModeCluster, logged_executions
from tools.testing.e2e.load import post_json
from tools.testing.e2e.processes import N8nProcess, http_get
from tools.testing.e2e.servers import free_port

from .conftest import TIMINGS

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("n8n-e2e")]
"""One xdist worker runs the whole module: its tests share one cluster."""

REQUESTS = 500
CONCURRENCY = 20
WORKER_CONCURRENCY = 10
GRACEFUL_SHUTDOWN = 30
CODE_DELAY_MS = 100
"""The Code node sleeps this long, so executions are really in flight when a worker is stopped."""


@pytest.fixture(scope="module")
def cluster(install):
    started = time.monotonic()
    with QueueModeCluster(install, worker_concurrency=WORKER_CONCURRENCY, graceful_shutdown_seconds=GRACEFUL_SHUTDOWN,
                          delay_ms=CODE_DELAY_MS) as c:
        TIMINGS["cluster start s"] = time.monotonic() - started
        for key, value in c.timings.items():
            TIMINGS[f"  {key}"] = value
        yield c


def live_worker(cluster: QueueModeCluster):
    alive = [w for w in cluster.workers if w.process.alive()]
    assert len(alive) == 1, [w.process.name for w in cluster.workers]
    return alive[0]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def check_bodies(result) -> None:
    for r in result.ok:
        body = json.loads(r.body)
        assert body == {"n": r.index, "doubled": 2 * r.index}, body


def test_each_role_runs_as_the_contract_says(cluster):
    main, webhook, worker = cluster.main, cluster.webhook, live_worker(cluster)
    # The probe paths answer on every role (workers: the QUEUE_HEALTH_CHECK_ACTIVE server on its port).
    for process in (main, webhook, worker.process):
        assert http_get(process.url(HEALTH_PATH))[0] == 200, process.name
        assert http_get(process.url(READINESS_PATH))[0] == 200, process.name
    # Only the worker runs a task broker, and the external runner registered with it; main offloads and has none.
    worker_log = worker.process.log_text()
    assert "n8n Task Broker ready on 127.0.0.1" in worker_log
    wait_for(lambda: "Registered runner" in worker.process.log_text(), 30, "the runner to register")
    assert "Task Broker" not in main.log_text()
    assert "Task Broker" not in webhook.log_text()
    # The encryption key came from N8N_ENCRYPTION_KEY_FILE, the same on every role: n8n records the key it uses in
    # <N8N_USER_FOLDER>/.n8n/config. Nobody fell back to internal runners.
    key = cluster.secret(names.ENCRYPTION_KEY)
    for process in (main, webhook, worker.process):
        settings = json.loads((Path(process.env["N8N_USER_FOLDER"]) / ".n8n" / "config").read_text())
        assert settings["encryptionKey"] == key, process.name
        assert "Internal task runner mode is deprecated" not in process.log_text(), process.name
    # Queue metrics: main only.
    metrics = cluster.metrics(main)
    for name in ("waiting", "active", "completed", "failed"):
        assert f"n8n_scaling_mode_queue_jobs_{name}" in metrics
    assert not any(k.startswith("n8n_queue_length") for k in metrics)
    assert not any(k.startswith("n8n_scaling_mode_queue_jobs") for k in cluster.metrics(worker.process))


def test_webhook_load_runs_every_execution_on_workers(cluster):
    before = {e["id"] for e in cluster.executions()}
    result = post_json(cluster.webhook_url, REQUESTS, CONCURRENCY, timeout=120)
    TIMINGS[f"{REQUESTS} webhook requests s"] = result.wall_seconds
    TIMINGS["  executions/s"] = result.rate
    TIMINGS["  p50 latency s"] = result.percentile(50)
    TIMINGS["  p95 latency s"] = result.percentile(95)
    assert result.statuses() == {200: REQUESTS}, [r.error or r.body[:200] for r in result.failed][:5]
    check_bodies(result)

    new = [e for e in cluster.executions() if e["id"] not in before]
    assert len(new) == REQUESTS
    assert {e["status"] for e in new} == {"success"}
    assert {e["mode"] for e in new} == {"webhook"}
    assert all(e["finished"] and e["stoppedAt"] is not None for e in new)
    # Who ran them: every execution in the database was logged as finished by a worker...
    by_workers = cluster.finished_by_workers()
    assert {str(e["id"]) for e in new} <= by_workers
    # ...and main ran none (it has no task runner, so it could not have run the Code node anyway).
    main_log = cluster.main.log_text()
    assert "Worker started execution" not in main_log
    assert "Worker finished execution" not in main_log
    # Main's queue counters catch up within its metrics interval (20 s).
    wait_for(lambda: cluster.metrics(cluster.main).get("n8n_scaling_mode_queue_jobs_completed", 0) >= REQUESTS,
             45, "n8n_scaling_mode_queue_jobs_completed to count the load")
    assert cluster.metrics(cluster.main)["n8n_scaling_mode_queue_jobs_failed"] == 0


def test_without_workers_requests_queue_up_and_a_new_worker_drains_them(cluster):
    worker = live_worker(cluster)
    worker.process.signal(signal.SIGTERM)
    assert worker.process.wait_exit(GRACEFUL_SHUTDOWN + 15) == 0, worker.process.log_tail()
    worker.runner.stop()

    backlog = 20
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(post_json, cluster.webhook_url, backlog, backlog, timeout=240, start_index=10_000)
        wait_for(lambda: cluster.queue_counts()["wait"] >= backlog, 60, f"{backlog} jobs in bull:jobs:wait")
        wait_for(lambda: cluster.metrics(cluster.main).get("n8n_scaling_mode_queue_jobs_waiting", 0) >= backlog,
                 45, "n8n_scaling_mode_queue_jobs_waiting to show the backlog")
        started = time.monotonic()
        cluster.start_worker("worker-2").process.wait_ready()
        result = pending.result(timeout=240)
        TIMINGS["backlog drained by a new worker s"] = time.monotonic() - started
    assert result.statuses() == {200: backlog}
    check_bodies(result)
    assert cluster.queue_counts() == {"wait": 0, "active": 0}


def test_sigterm_mid_load_finishes_running_executions(cluster):
    worker = live_worker(cluster)
    started_before = len(logged_executions(worker.process, "started"))
    stalled_jobs_before, stall_failed_before = set(cluster.stalled_jobs()), cluster.stall_failed_executions()
    before = {e["id"] for e in cluster.executions()}
    total = 200
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(post_json, cluster.webhook_url, total, CONCURRENCY, timeout=300, start_index=20_000)
        # Stop the worker while it is busy: at least 30 new executions started, some of them still running.
        wait_for(lambda: len(logged_executions(worker.process, "started")) >= started_before + 30, 120,
                 "the worker to be busy")
        stop_at = time.monotonic()
        worker.process.signal(signal.SIGTERM)
        code = worker.process.wait_exit(GRACEFUL_SHUTDOWN + 15)
        TIMINGS["worker SIGTERM -> exit s"] = time.monotonic() - stop_at
        worker.runner.stop()
        assert code == 0, worker.process.log_tail()
        log = worker.process.log_text()
        assert "active executions to finish" in log  # it was stopped with executions in flight...
        assert "Drain timeout reached" not in log  # ...and drained them inside the graceful window
        assert "Cancelled" not in log
        # Everything this worker started, it finished (no lost or failed runs).
        started = logged_executions(worker.process, "started")
        assert started and started == logged_executions(worker.process, "finished")
        # A replacement worker picks up what was still queued.
        cluster.start_worker("worker-3").process.wait_ready()
        result = pending.result(timeout=400)
    # This stop's stalled jobs, not earlier ones: in Redis while they last, for good as n8n failed their executions.
    stalled_jobs = [job for job in cluster.stalled_jobs() if job not in stalled_jobs_before]
    stall_failed = sorted(cluster.stall_failed_executions() - stall_failed_before)
    stalled = max(len(stalled_jobs), len(stall_failed))
    # The race's webhook call gets no answer, or n8n's "Error in workflow" when the stalled job's failure reaches
    # the webhook process before the call times out.
    raced = [r for r in result.failed if r.status == 0 or (r.status == 500 and b"Error in workflow" in r.body)]
    if stalled and result.failed and raced == result.failed and len(result.failed) <= stalled:
        # Not ours to fix, and not a silent loss: the job is visible as stalled (alerts on failed jobs see it).
        pytest.xfail(f"n8n 2.40.7 / Bull shutdown race hit: {stalled} job(s) fetched while the stopping worker paused "
                     f"its queue stalled (jobs {stalled_jobs}, executions {stall_failed}); their webhook calls failed "
                     f"({sorted(r.status for r in raced)}). See docs/operations.md, 'Spot interruption'.")
    assert result.statuses() == {200: total}, [r.error or r.body[:200] for r in result.failed][:5]
    check_bodies(result)
    new = [e for e in cluster.executions() if e["id"] not in before]
    assert len(new) == total
    assert {e["status"] for e in new} == {"success"}
    everything = cluster.executions()
    assert {e["status"] for e in everything} == {"success"}
    assert {str(e["id"]) for e in everything} <= cluster.finished_by_workers()


CERTIFICATE_ERRORS = ("unable to verify the first certificate", "self-signed certificate in certificate chain")
"""Node's words for an untrusted chain (PostgreSQL sends the leaf only; redis-server sends its CA too)."""


def test_tls_is_verified_against_the_mounted_ca_bundles(cluster):
    """Every process above talked TLS to PostgreSQL and Redis (private CAs, verification on); without the bundle
    the contract mounts, the same process refuses both servers."""
    assert cluster.tls and cluster.inputs.db.ssl and cluster.inputs.redis.tls
    env = cluster.env("worker", "probe", 0)
    assert env["DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED"] == "true"
    assert Path(env["DB_POSTGRESDB_SSL_CA_FILE"]).is_file() and Path(env["NODE_EXTRA_CA_CERTS"]).is_file()
    probes = []
    try:
        for without in ("DB_POSTGRESDB_SSL_CA_FILE", "NODE_EXTRA_CA_CERTS"):
            port, broker = free_port(), free_port()
            env = cluster.env("worker", f"no-{without.lower()}", port, broker)
            del env[without]
            probes.append(N8nProcess(f"worker without {without}", cluster.install, n8n_args("worker", cluster.inputs),
                                     env, cluster.workdir / "logs" / f"no-{without.lower()}.log", port).start())
        for probe in probes:
            wait_for(lambda p=probe: any(error in p.log_text() for error in CERTIFICATE_ERRORS), 60,
                     f"{probe.name} to reject the server certificate")
            assert http_get(probe.url("/healthz/readiness"))[0] != 200, probe.name
    finally:
        for probe in probes:
            probe.stop()
