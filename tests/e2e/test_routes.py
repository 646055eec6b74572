"""Which real n8n 2.40.7 process serves each path family, asked of the processes themselves: main (``n8n start`` with
``N8N_DISABLE_PRODUCTION_MAIN_PROCESS=true``, as the contract renders it beside webhook processors) and a webhook
processor (``n8n webhook``), in queue mode against real PostgreSQL and Redis (tools/testing/e2e/cluster.py).

For every family the installed dist registers (tools/testing/e2e/registrations.py), a request goes to each process
directly; a process serves it unless express answers its own ``Cannot <METHOD> <path>`` 404 (n8n's 404 for an unknown
webhook is the family being served). The processes must agree with the dist reader, and the rendered edge of the dev
stack (ALB Ingresses and Gateway HTTPRoutes of the offline plan) must send every family to a process that served it,
and ``/metrics`` (served by both) to nobody. The e2e's own edge (nginx from the route table,
tools/testing/e2e/proxy.py) does the same with real requests, and carries the Chat Trigger's websocket to n8n's chat
service.
"""

from __future__ import annotations

import asyncio
import http.client
import time

import pytest

from n8n_platform.edge.routes import routes
from n8n_platform.edge.spec import EdgeSettings
from tools.testing.e2e.cluster import QueueModeCluster
from tools.testing.e2e.processes import N8nProcess
from tools.testing.e2e.proxy import NginxEdge
from tools.testing.e2e.registrations import Registration, registrations, served
from tools.testing.edge_reach import GATEWAY_OVERRIDES, REFUSED, RenderedEdge

from .conftest import REPORT, TIMINGS

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("n8n-e2e")]


@pytest.fixture(scope="module")
def cluster(install):
    started = time.monotonic()
    with QueueModeCluster(install, worker_concurrency=2) as c:
        TIMINGS["routes cluster start s"] = time.monotonic() - started
        yield c


@pytest.fixture(scope="module")
def processes(cluster) -> dict[str, N8nProcess]:
    return {"main": cluster.main, "webhook": cluster.webhook}


@pytest.fixture(scope="module")
def found(install, processes) -> list[Registration]:
    return registrations(install.n8n_pkg, {role: p.env for role, p in processes.items()})


def ask(port: int, reg: Registration) -> tuple[int, str, dict[str, str]]:
    """Status, body and headers of the registration's probe sent to 127.0.0.1:``port``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        body = b"{}" if reg.method == "POST" else None
        headers = {"Accept": reg.accept, **({"Content-Type": "application/json"} if body else {})}
        conn.request(reg.method, reg.probe, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read().decode(errors="replace"), {k.lower(): v for k, v in r.getheaders()}
    finally:
        conn.close()


@pytest.fixture(scope="module")
def measured(processes, found) -> dict[str, tuple[frozenset[str], dict[str, int]]]:
    """probe path -> (roles whose process served it, status per role)."""
    out = {}
    for reg in found:
        answers = {role: ask(p.http_port, reg)[:2] for role, p in processes.items()}
        roles = frozenset(r for r, (status, body) in answers.items() if served(status, body, reg.method, reg.probe))
        out[reg.probe] = (roles, {r: status for r, (status, _) in answers.items()})
    REPORT.append("path family (probe)                              served by        status main/webhook")
    REPORT.extend(f"{probe:48s} {','.join(sorted(roles)) or '-':16s} {statuses['main']}/{statuses['webhook']}"
                  for probe, (roles, statuses) in out.items())
    return out


def test_main_runs_with_production_webhooks_off(processes):
    assert processes["main"].env["N8N_DISABLE_PRODUCTION_MAIN_PROCESS"] == "true"
    assert "N8N_DISABLE_PRODUCTION_MAIN_PROCESS" not in processes["webhook"].env


def test_the_processes_serve_what_the_dist_reader_says(found, measured):
    assert len(found) >= 25
    wrong = [(r.probe, sorted(r.roles), sorted(measured[r.probe][0]), measured[r.probe][1]) for r in found
             if measured[r.probe][0] != r.roles]
    assert wrong == [], "probe, roles the dist names, roles that served it, statuses"


def test_the_hitl_callbacks_are_served_by_the_webhook_processor_alone(measured):
    for probe in ("/webhook-waiting-slack", "/webhook-waiting-telegram"):
        roles, statuses = measured[probe]
        assert roles == {"webhook"}, (probe, statuses)
        assert statuses["main"] == 404


@pytest.mark.parametrize("overrides", [{}, GATEWAY_OVERRIDES], ids=["alb", "gateway"])
def test_the_rendered_edge_sends_every_family_to_a_process_that_served_it(found, measured, overrides):
    edge = RenderedEdge("dev", overrides)
    wrong = []
    for reg in found:
        roles, statuses = measured[reg.probe]
        got = edge.reach(reg.probe)
        if reg.pattern == "/metrics":
            assert roles == {"main", "webhook"}
            ok = got == REFUSED
        else:
            ok = got in roles
        if not ok:
            wrong.append((reg.probe, sorted(roles), statuses, got))
    assert wrong == [], "probe, processes that served it, statuses, role the edge sends it to"


@pytest.fixture(scope="module")
def proxy(processes):
    upstreams = {role: p.http_port for role, p in processes.items()}
    idle = EdgeSettings.__dataclass_fields__["idle_timeout_seconds"].default
    with NginxEdge(routes(), upstreams, idle) as edge:
        yield edge


def test_the_e2e_edge_sends_every_family_to_a_process_that_served_it(processes, found, measured, proxy):
    ports = {str(p.http_port): role for role, p in processes.items()}
    wrong = []
    for reg in found:
        roles, _ = measured[reg.probe]
        status, _, headers = ask(proxy.port, reg)
        upstream = headers.get("x-edge-upstream", "")
        got = ports.get(upstream.rsplit(":", 1)[-1], upstream or REFUSED)
        ok = (got == REFUSED and status == 404) if reg.pattern == "/metrics" else (got in roles and status != 502)
        if not ok:
            wrong.append((reg.probe, sorted(roles), got, status))
    assert wrong == [], "probe, processes that served it, what answered through the edge, status"


def test_the_chat_websocket_reaches_n8n_through_the_edge(proxy):
    """The upgrade goes through and n8n's chat service answers it: an unknown execution is rejected by n8n itself
    (message, then close code 1008), not by the edge."""
    import websockets

    async def chat() -> tuple[int, str, int | None]:
        uri = f"ws://127.0.0.1:{proxy.port}/chat?sessionId=edge-e2e&executionId=999999999&isPublic=true"
        async with websockets.connect(uri, ping_interval=None, open_timeout=30) as ws:
            status = ws.response.status_code
            message = await asyncio.wait_for(ws.recv(), timeout=30)
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), timeout=30)
            return status, message, ws.close_code

    status, message, code = asyncio.run(chat())
    assert (status, message, code) == (101, "Connection rejected", 1008)
