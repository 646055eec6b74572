"""Benchmark: n8n queue mode (from the env contract) against n8n's default single process on SQLite.

`python -m tools.testing.bench [--requests 1000] [--concurrency 20] [--worker-concurrency 10] [--no-baseline]
[--no-pooler]`

Both setups run the same Webhook -> Code workflow (answer when the Code node finishes) on this machine, over
loopback only, with a bounded number of requests. Queue mode: PostgreSQL (durable defaults) and Redis, both over
verified TLS, main, one webhook processor and one worker with an external task runner. Baseline: `n8n start` with
nothing but a port, a user folder and telemetry off (SQLite, regular mode, internal runner). Queue mode runs twice,
n8n reaching PostgreSQL directly and through PgBouncer as the platform deploys it (tools/testing/e2e/pgbouncer.py),
and prints the pooler's cost (throughput ratio, p95 change). Each setup is
measured twice: saturated (closed loop, `--concurrency` connections) for executions/s, then open loop at 60% of that
rate for ~30 s, whose p50/p95 (counted from each request's due time) is the latency at a sustained rate. Prints both
setups and the throughput ratio. On one small machine this measures the queue's overhead, not scale-out.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tools.testing.e2e import install as n8n_install
from tools.testing.e2e.cluster import QueueModeCluster, import_workflow, wait_webhook_registered, webhook_url
from tools.testing.e2e.load import LoadResult, post_json
from tools.testing.e2e.processes import N8nProcess, base_env
from tools.testing.e2e.servers import free_port

WARMUP = 50
"""Requests sent before measuring (excluded from the figures; their executions are subtracted from `in DB`)."""
SUSTAINED_FRACTION = 0.6
"""The sustained phase offers this share of the saturated throughput, open loop."""


@dataclass(frozen=True)
class Figures:
    """What one setup achieved: saturated throughput, and latency at a sustained rate below it."""

    setup: str
    requests: int
    ok: int
    executions_per_s: float
    p50_ms: float
    p95_ms: float
    wall_s: float
    sustained_rate: float
    sustained_ok: int
    sustained_requests: int
    sustained_p50_ms: float
    sustained_p95_ms: float
    recorded_success: int


def figures(setup: str, runs: tuple[LoadResult, LoadResult], recorded_success: int) -> Figures:
    saturated, sustained = runs
    return Figures(setup, len(saturated.responses), len(saturated.ok), round(saturated.rate, 2),
                   round(saturated.percentile(50) * 1000, 1), round(saturated.percentile(95) * 1000, 1),
                   round(saturated.wall_seconds, 2), round(sustained.rate, 2), len(sustained.ok),
                   len(sustained.responses), round(sustained.percentile(50) * 1000, 1),
                   round(sustained.percentile(95) * 1000, 1), recorded_success)


def measure(url: str, requests: int, concurrency: int) -> tuple[LoadResult, LoadResult]:
    """Saturated throughput (closed loop), then latency at a sustained rate below it (open loop)."""
    warm = post_json(url, WARMUP, concurrency, start_index=-WARMUP)
    if warm.failed:
        raise RuntimeError(f"warm-up failed: {warm.statuses()}")
    saturated = post_json(url, requests, concurrency, timeout=120)
    rate = max(1.0, saturated.rate * SUSTAINED_FRACTION)
    sustained = post_json(url, min(requests, max(50, int(rate * 30))), concurrency * 4, timeout=120,
                          start_index=requests, rate=rate)
    return saturated, sustained


def bench_queue_mode(install: n8n_install.Install, requests: int, concurrency: int, worker_concurrency: int,
                     delay_ms: int, pooler: bool = False) -> Figures:
    with QueueModeCluster(install, worker_concurrency=worker_concurrency, delay_ms=delay_ms, fast_db=False,
                          pooler=pooler) as c:
        runs = measure(c.webhook_url, requests, concurrency)
        success = sum(1 for e in c.executions() if e["status"] == "success")
        path = "through PgBouncer" if pooler else "PG direct"
        return figures(f"queue mode (webhook + 1 worker x{worker_concurrency}, {path}, TLS)", runs,
                       success - WARMUP - 1)


def bench_single_sqlite(install: n8n_install.Install, requests: int, concurrency: int, delay_ms: int) -> Figures:
    n8n_install.build_sqlite3(install)
    workdir = Path(tempfile.mkdtemp(prefix="n8n-bench-sqlite-"))
    process = None
    try:
        (workdir / "home").mkdir()
        port = free_port()
        env = {**base_env(install, workdir / "home"), "N8N_USER_FOLDER": str(workdir / "n8n"),
               "N8N_PORT": str(port), "N8N_DIAGNOSTICS_ENABLED": "false",
               "N8N_VERSION_NOTIFICATIONS_ENABLED": "false"}
        import_workflow(install, env, workdir, delay_ms)
        process = N8nProcess("single", install, ["start"], env, workdir / "single.log", port).start()
        process.wait_ready()
        wait_webhook_registered(process, timeout=60)
        runs = measure(webhook_url(process), requests, concurrency)
        db = workdir / "n8n" / ".n8n" / "database.sqlite"
        with sqlite3.connect(db) as conn:
            success = conn.execute("SELECT count(*) FROM execution_entity WHERE status = 'success'").fetchone()[0]
        return figures("single process (n8n start, SQLite, internal runner)", runs, success - WARMUP - 1)
    finally:
        if process is not None:
            process.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="measured requests per setup (bounded)")
    parser.add_argument("--concurrency", type=int, default=20, help="concurrent client connections")
    parser.add_argument("--worker-concurrency", type=int, default=10)
    parser.add_argument("--delay-ms", type=int, default=0, help="sleep inside the Code node")
    parser.add_argument("--no-baseline", action="store_true", help="skip the single-process SQLite run")
    parser.add_argument("--no-pooler", action="store_true", help="skip queue mode through PgBouncer")
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= 20_000 or not 1 <= args.concurrency <= 200:
        parser.error("keep it bounded: 1..20000 requests, 1..200 connections")

    started = time.monotonic()
    install = n8n_install.ensure()
    runs = [bench_queue_mode(install, args.requests, args.concurrency, args.worker_concurrency, args.delay_ms)]
    if not args.no_pooler:
        runs.append(bench_queue_mode(install, args.requests, args.concurrency, args.worker_concurrency,
                                     args.delay_ms, pooler=True))
    if not args.no_baseline:
        runs.append(bench_single_sqlite(install, args.requests, args.concurrency, args.delay_ms))

    print(f"\nn8n {n8n_install.N8N_VERSION}: {args.requests} webhook requests, {args.concurrency} connections, "
          f"Code node delay {args.delay_ms} ms, loopback\n")
    print(f"{'':62s} {'saturated (closed loop)':^26s}   {'sustained (open loop)':^26s}")
    print(f"{'setup':62s} {'exec/s':>8s} {'p50 ms':>8s} {'p95 ms':>8s}   {'rate/s':>8s} {'p50 ms':>8s} "
          f"{'p95 ms':>8s} {'failed':>7s} {'in DB':>6s}")
    for f in runs:
        failed = f.requests - f.ok + f.sustained_requests - f.sustained_ok
        print(f"{f.setup:62s} {f.executions_per_s:8.1f} {f.p50_ms:8.1f} {f.p95_ms:8.1f}   {f.sustained_rate:8.1f} "
              f"{f.sustained_p50_ms:8.1f} {f.sustained_p95_ms:8.1f} {failed:7d} {f.recorded_success:6d}")
    direct, pooled = runs[0], next((f for f in runs if "PgBouncer" in f.setup), None)
    if pooled is not None and direct.executions_per_s and direct.sustained_p95_ms:
        print(f"\nthrough PgBouncer / direct: throughput {pooled.executions_per_s / direct.executions_per_s:.2f}x, "
              f"sustained p95 {100 * (pooled.sustained_p95_ms / direct.sustained_p95_ms - 1):+.0f} %")
    single = next((f for f in runs if f.setup.startswith("single")), None)
    if single is not None and single.executions_per_s:
        ratio = direct.executions_per_s / single.executions_per_s
        print(f"queue mode / single process throughput ratio: {ratio:.2f}")
    print(f"total bench time {time.monotonic() - started:.0f} s")
    print(json.dumps({"runs": [asdict(f) for f in runs]}))
    return 0 if all(f.ok == f.requests and f.sustained_ok == f.sustained_requests for f in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
