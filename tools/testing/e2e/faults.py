"""Faults under load on real n8n queue mode, and the accounting of every webhook call they hit.

One :class:`FaultPlan` holds the load, the fault's timing and the bound the tests assert; :func:`run_fault` drives
open-loop webhook load at a :class:`~tools.testing.e2e.cluster.QueueModeCluster`, injects one fault part-way through
(:data:`FAULTS`: PostgreSQL immediate restart, Redis killed and restarted from its AOF, a worker SIGKILLed and
restarted like a kubelet restarts a container), then waits until every execution the webhook processor created is
final and returns an :class:`Accounting`: what the callers were told, what the database says, how long it took.

Run it alone for a report: ``python -m tools.testing.e2e.faults [--bound SECONDS] [fault ...]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

from n8n_platform.n8n.env import LOCK_DURATION_MS, QUEUE_RECOVERY_MINUTES, STALLED_INTERVAL_MS

from .cluster import QueueModeCluster, wait_webhook_registered
from .load import LoadResult, post_json

FINAL = frozenset({"success", "error", "crashed", "canceled"})
"""Execution statuses nothing changes any more; `new`, `running` and `waiting` are in progress."""


def settle_bound_s() -> float:
    """The longest path to a final state the env contract allows: a dead worker's job lock expires, Bull's stalled
    check fails the job, n8n's next queue-recovery pass marks its execution crashed; plus 30 s for a loaded CI."""
    return (LOCK_DURATION_MS + STALLED_INTERVAL_MS) / 1000 + QUEUE_RECOVERY_MINUTES * 60 + 30


@dataclass(frozen=True)
class FaultPlan:
    """The load, the fault's timing and the bound, in one place (the e2e test and the report use the same)."""

    requests: int = 120
    """Webhook calls per fault."""
    rate: float = 4.0
    """Calls per second, open loop (a call is sent when due, whatever the server does): 30 s of load."""
    fault_after_s: float = 8.0
    """When the fault starts, counted from the first call: the queue is busy by then."""
    down_s: float = 5.0
    """How long PostgreSQL or Redis is away, or how long a killed worker stays down (a kubelet's restart)."""
    call_timeout_s: float = 60.0
    """How long a caller waits for its answer (the webhook answers when the workflow's last node finishes; an ALB
    gives up after 60 s by default)."""
    settle_bound_s: float = field(default_factory=settle_bound_s)
    """Every execution the webhook created is final at most this long after the last call was answered."""
    worker_concurrency: int = 10
    code_delay_ms: int = 200
    """The workflow's Code node sleeps this long, so executions are in flight when the fault strikes."""


PLAN = FaultPlan()


class ToldDone(NamedTuple):
    """A call answered 2xx whose execution did not succeed (or that has none)."""

    call: int
    execution: str | None
    """The execution's final status; None when the call created none."""
    body: bytes


NO_DATA_ANSWER = b"Workflow executed successfully but the last node did not return any data"
"""What n8n 2.40.7's webhook answers (200) when it reads back an execution whose run was never saved: the fault
broke the worker's final save, the job still reported finished (webhooks/webhook-helpers.js)."""


@dataclass(frozen=True)
class Accounting:
    """Every call of one fault run: what the callers were told and what became of the executions."""

    fault: str
    calls: int
    answered: Counter
    """HTTP status -> calls (0: no answer: connection refused, reset or timed out)."""
    statuses: Counter
    """Execution status -> executions the webhook created during the run (at the end of the wait)."""
    settled_s: float | None
    """Seconds from the last answer until every execution was final; None when the bound passed first."""
    told_done: tuple[ToldDone, ...] = ()
    """The 2xx answers for work that did not succeed (each call joined to its execution by the body's ``n``)."""

    @property
    def accepted(self) -> int:
        """Calls n8n accepted: an execution exists for them."""
        return sum(self.statuses.values())

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.answered.items() if 200 <= status < 300)

    @property
    def in_progress(self) -> int:
        return sum(n for status, n in self.statuses.items() if status not in FINAL)

    def row(self) -> str:
        settled = "never" if self.settled_s is None else f"{self.settled_s:.0f} s"
        other = {s: n for s, n in self.statuses.items() if s not in FINAL}
        left = ", ".join(f"{n} {s}" for s, n in sorted(other.items())) or "0"
        refused = {status or "none": n for status, n in self.answered.items() if not 200 <= status < 300}
        otherwise = f"{self.calls - self.ok}" + (f" ({', '.join(f'{s}: {n}' for s, n in refused.items())})"
                                                 if refused else "")
        return (f"| {self.fault} | {self.calls} | {self.ok} | {len(self.told_done)} | {otherwise} | {self.accepted} | "
                f"{self.statuses['success']} | {self.statuses['error']} | {self.statuses['crashed']} | {left} | "
                f"{settled} |")

    HEADER = ("| fault | calls | answered 2xx | of those, not success | answered otherwise | accepted (executions) | "
              "success | error | crashed | left new/running | all final after the load |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|")


def restart_postgres(cluster: QueueModeCluster, plan: FaultPlan) -> None:
    """Immediate shutdown (every connection cut, crash recovery on start), down for ``plan.down_s``."""
    cluster.pg.restart_immediate(plan.down_s)


def restart_redis(cluster: QueueModeCluster, plan: FaultPlan) -> None:
    """SIGKILL, down for ``plan.down_s``, started again on its AOF."""
    cluster.redis.restart_killed(plan.down_s)


def kill_worker(cluster: QueueModeCluster, plan: FaultPlan) -> None:
    """SIGKILL the busy worker (no graceful shutdown), then a fresh worker ``plan.down_s`` later, as a kubelet
    restarts the container (the runner sidecar of the dead worker goes with it)."""
    for worker in [w for w in cluster.workers if w.process.alive()]:
        os.killpg(worker.process.proc.pid, signal.SIGKILL)
        worker.process.wait_exit(10)
        worker.runner.stop()
    time.sleep(plan.down_s)
    cluster.start_worker(f"worker-{len(cluster.workers) + 1}").process.wait_ready()


FAULTS: dict[str, Callable[[QueueModeCluster, FaultPlan], None]] = {
    "postgres-restart": restart_postgres,
    "redis-restart": restart_redis,
    "worker-sigkill": kill_worker,
}
"""Each fault by name; it returns once the faulty part is back (or replaced)."""


def new_executions(cluster: QueueModeCluster, before: set) -> list[dict]:
    return [e for e in cluster.executions() if e["id"] not in before]


def run_fault(cluster: QueueModeCluster, fault: str, plan: FaultPlan = PLAN, start_index: int = 0) -> Accounting:
    """Load the webhook, inject ``fault`` part-way, wait (up to the bound) until every new execution is final."""
    wait_webhook_registered(cluster.webhook, cluster.main)  # the cluster is whole before the fault
    before = {e["id"] for e in cluster.executions()}
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(post_json, cluster.webhook_url, plan.requests, plan.requests,
                              timeout=plan.call_timeout_s, start_index=start_index, rate=plan.rate)
        time.sleep(plan.fault_after_s)
        FAULTS[fault](cluster, plan)
        result: LoadResult = pending.result()
    answered_at = time.monotonic()
    settled_s = None
    while True:
        rows = new_executions(cluster, before)
        if all(e["status"] in FINAL for e in rows):
            settled_s = time.monotonic() - answered_at
            break
        if time.monotonic() - answered_at > plan.settle_bound_s:
            break
        time.sleep(2)
    return Accounting(fault, plan.requests, Counter(r.status for r in result.responses),
                      Counter(e["status"] for e in rows), settled_s, told_done(cluster, rows, result))


def told_done(cluster: QueueModeCluster, rows: list[dict], result: LoadResult) -> tuple[ToldDone, ...]:
    """The calls answered 2xx whose execution (found by the call's ``n`` in its data) is not a success."""
    calls = cluster.calls_of([e["id"] for e in rows])
    status_of_call = {calls[e["id"]]: e["status"] for e in rows if calls[e["id"]] is not None}
    return tuple(ToldDone(r.index, status_of_call.get(r.index), r.body) for r in result.ok
                 if status_of_call.get(r.index) != "success")


CLUSTER_OPTIONS = {"redis_aof": True, "fast_db": False, "pooler": True}
"""How the fault cluster differs from the other e2e tests': Redis keeps its AOF and PostgreSQL its durable defaults,
as in production (with fsync and synchronous commit off, an immediate shutdown loses just-committed rows), and n8n
reaches PostgreSQL through PgBouncer configured as the operator configures its pooler (``database.pooler``)."""


def cluster_for(install, plan: FaultPlan = PLAN, **extra) -> QueueModeCluster:
    """The queue-mode cluster the faults run on (TLS, :data:`CLUSTER_OPTIONS`, overridden by ``extra``)."""
    return QueueModeCluster(install, worker_concurrency=plan.worker_concurrency, delay_ms=plan.code_delay_ms,
                            **{**CLUSTER_OPTIONS, **extra})


def main() -> None:
    from . import install as n8n_install

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("faults", nargs="*", help=f"any of {', '.join(FAULTS)} (default: all)")
    parser.add_argument("--bound", type=float, default=PLAN.settle_bound_s, help="seconds to wait for final states")
    parser.add_argument("--repeat", type=int, default=1, help="run each fault this many times")
    parser.add_argument("--direct", action="store_true", help="n8n reaches PostgreSQL directly (no pooler)")
    args = parser.parse_args()
    if unknown := set(args.faults) - set(FAULTS):
        parser.error(f"unknown fault(s) {sorted(unknown)}; choose from {', '.join(FAULTS)}")
    plan = FaultPlan(settle_bound_s=args.bound)
    rows = []
    with cluster_for(n8n_install.ensure(), plan, **({"pooler": False} if args.direct else {})) as cluster:
        for i, fault in enumerate([f for f in args.faults or FAULTS for _ in range(args.repeat)]):
            rows.append(run_fault(cluster, fault, plan, start_index=100_000 * (i + 1)).row())
            print(rows[-1], flush=True)
        print(Accounting.HEADER)
        print("\n".join(rows))


if __name__ == "__main__":
    main()
