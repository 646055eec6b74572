"""docs/dashboard.png: the shipped dashboard's panels as they look under load and through a fault, drawn from a real
Prometheus scraping real n8n 2.40.7 in queue mode and the real exporters (``make dashboard``).

The run: webhook load (some of it to a workflow that fails, plus editor API calls on main), Redis killed part-way
and back on its AOF a few seconds later (the shaded span), then a quiet tail. Exits 1, writing nothing, when a
panel's queries return no series over the run: a user would see that panel empty.

``python -m tools.testing.e2e.dashboard_preview [PNG]``
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from n8n_platform.observability.dashboard import panels

from .cluster import QueueModeCluster
from .load import post_json
from .picture import EmptyPanels, Span, draw
from .prometheus import observe

FAIL_PATH = "e2e-fail"


def failing_workflow() -> dict:
    """Webhook -> Code node that throws: an execution that fails on the worker."""
    return {
        "id": "e2eFailWorkflow1", "name": "e2e failing", "active": False, "pinData": {},
        "nodes": [
            {"id": str(uuid.uuid4()), "name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2,
             "position": [0, 0], "webhookId": str(uuid.uuid4()),
             "parameters": {"httpMethod": "POST", "path": FAIL_PATH, "responseMode": "lastNode", "options": {}}},
            {"id": str(uuid.uuid4()), "name": "Code", "type": "n8n-nodes-base.code", "typeVersion": 2,
             "position": [240, 0], "parameters": {"jsCode": "throw new Error('e2e: this execution fails');"}},
        ],
        "connections": {"Webhook": {"main": [[{"node": "Code", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"},
    }


@dataclass(frozen=True)
class PreviewRun:
    """The load and the fault of the preview."""

    calls: int = 1200
    rate: float = 4.0
    """Calls per second (open loop): 5 minutes of load, so the panels' 2-minute rates settle before the fault."""
    failing_calls: int = 60
    fault_after_s: float = 160.0
    redis_down_s: float = 5.0
    tail_s: float = 150.0
    """Quiet after the load, so the rates are seen falling back."""


def record(cluster: QueueModeCluster, run: PreviewRun = PreviewRun()) -> tuple[float, float, Span]:
    """Drive the load and the fault at ``cluster``; returns (start, end, the fault's span) in epoch seconds."""
    start = time.time()
    with ThreadPoolExecutor(2) as pool:
        ok = pool.submit(post_json, cluster.webhook_url, run.calls, 16, timeout=120, rate=run.rate)
        failing = pool.submit(post_json, cluster.webhook.url(f"/webhook/{FAIL_PATH}"), run.failing_calls, 2,
                              timeout=120, rate=run.failing_calls / (run.calls / run.rate))
        time.sleep(run.fault_after_s)
        down = time.time()
        cluster.redis.restart_killed(run.redis_down_s)
        fault = Span(f"Redis killed, back on its AOF {run.redis_down_s:.0f} s later", down, time.time())
        ok.result(), failing.result()
    time.sleep(run.tail_s)
    return start, time.time(), fault


def main() -> None:
    from . import install as n8n_install

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("png", nargs="?", type=Path, default=Path("docs/dashboard.png"))
    args = parser.parse_args()
    specs = panels(redis_in_cluster=True, patroni=True)
    with QueueModeCluster(n8n_install.ensure(), delay_ms=100, extra_workflows=(failing_workflow(),)) as cluster, \
            observe(cluster, []) as (prom, _):
        start, end, fault = record(cluster)
        try:
            drawn = draw(prom, specs, start, end, args.png, spans=(fault,),
                         title="The n8n dashboard under webhook load (4/s) with Redis killed part-way: real n8n "
                               "2.40.7 in queue mode, real exporters, real Prometheus")
        except EmptyPanels as e:
            sys.exit(f"dashboard preview: {e}")
    print(f"{args.png}: {len(drawn)} panels, {sum(drawn.values())} lines")


if __name__ == "__main__":
    main()
