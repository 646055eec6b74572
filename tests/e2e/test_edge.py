"""The front door proven on real n8n 2.40.7: nginx configured from the route table in front of main and a webhook
processor (queue mode, tools/testing/e2e/cluster.py).

Each path family reaches the process the table names (the proxy reports the upstream that answered); a real form
and a real waiting execution (resumed through its signed ``/webhook-waiting/`` URL) are served by the webhook
processor; ``/metrics`` is refused at the edge; unknown webhook-family paths are answered by n8n's 404 and never
by the editor's SPA; the editor's websocket push upgrades through the proxy and stays open past a minute of idling;
and n8n takes the client address from ``X-Forwarded-For`` with the contract's ``N8N_PROXY_HOPS`` (its per-IP rate
limiter on ``/rest/resolve-password-token`` counts the real client, not the proxy, and ignores a spoofed header).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import time
import urllib.parse
import uuid

import pytest

from n8n_platform.edge import routes as edge_routes
from n8n_platform.edge.spec import EdgeSettings
from tools.testing.e2e.cluster import DB_NAME, DB_SCHEMA, WEBHOOK_PATH, QueueModeCluster
from tools.testing.e2e.proxy import NginxEdge

from .conftest import TIMINGS

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("n8n-e2e")]

IDLE_TIMEOUT = EdgeSettings.__dataclass_fields__["idle_timeout_seconds"].default
"""The edge's default idle timeout (seconds), which the proxy applies like the ALB."""
PUSH_IDLE_SECONDS = 75
"""Longer than a minute, and longer than n8n's 60 s push ping interval."""
OWNER = {"email": "owner@example.com", "firstName": "Edge", "lastName": "Test", "password": "Edge-Test-Passw0rd"}


@pytest.fixture(scope="module")
def table():
    return edge_routes.routes()


@pytest.fixture(scope="module")
def stack(install, table):
    started = time.monotonic()
    with QueueModeCluster(install, worker_concurrency=5) as cluster:
        upstreams = {"main": cluster.main.http_port, "webhook": cluster.webhook.http_port}
        with NginxEdge(table, upstreams, IDLE_TIMEOUT) as proxy:
            TIMINGS["edge stack start s"] = time.monotonic() - started
            yield cluster, proxy


def request(proxy: NginxEdge, method: str, path: str, *, body: dict | None = None, headers: dict | None = None,
            source: str = "127.0.0.1") -> tuple[int, dict[str, str], str]:
    """One request through the proxy from client address ``source`` (any 127/8 address is local)."""
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=60, source_address=(source, 0))
    try:
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, path, body=data, headers={**hdrs, **(headers or {})})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode(errors="replace")
    finally:
        conn.close()


def answered_by(cluster: QueueModeCluster, headers: dict[str, str]) -> str:
    """Which n8n process answered, from the proxy's X-Edge-Upstream (127.0.0.1:<port>)."""
    upstream = headers.get("x-edge-upstream", "")
    ports = {cluster.main.http_port: "main", cluster.webhook.http_port: "webhook"}
    return ports.get(int(upstream.rsplit(":", 1)[1]), upstream) if ":" in upstream else "edge"


# Every path family, with a probe path and what the table says must answer it.
PROBES = [
    ("POST", f"/webhook/{WEBHOOK_PATH}", "webhook"),
    ("GET", "/webhook/no-such-hook", "webhook"),
    ("GET", "/webhook-waiting/123", "webhook"),
    ("GET", "/form/no-such-form", "webhook"),
    ("GET", "/form-waiting/123", "webhook"),
    ("POST", "/mcp/no-such-server", "webhook"),
    ("GET", "/webhook-test/no-such-hook", "main"),
    ("GET", "/form-test/no-such-form", "main"),
    ("POST", "/mcp-test/no-such-server", "main"),
    ("GET", "/rest/settings", "main"),
    ("POST", "/rest/login", "main"),
    ("GET", "/rest/oauth2-credential/callback", "main"),
    ("GET", "/api/v1/workflows", "main"),
    ("GET", "/mcp-server/http", "main"),
    ("GET", "/.well-known/oauth-authorization-server", "main"),
    ("GET", "/static/n8n-logo.png", "main"),
    ("GET", "/", "main"),
    ("GET", "/workflow/new", "main"),
]


@pytest.mark.parametrize(("method", "path", "process"), PROBES, ids=[p[1] for p in PROBES])
def test_each_family_reaches_the_process_the_table_names(stack, table, method, path, process):
    cluster, proxy = stack
    route = edge_routes.resolve(table, path)
    assert route.backend == process, f"the table itself sends {path} to {route.backend}"
    body = {"n": 21} if path.startswith("/webhook/") and method == "POST" else ({} if method == "POST" else None)
    status, headers, text = request(proxy, method, path, body=body, headers={"Accept": "text/html,*/*"})
    assert headers.get("x-edge-family") == route.family
    assert answered_by(cluster, headers) == process, (path, status, headers, text[:300])
    assert status != 502, f"{path}: the proxy could not reach {process}"


def test_production_webhook_runs_through_the_edge(stack):
    cluster, proxy = stack
    status, headers, text = request(proxy, "POST", f"/webhook/{WEBHOOK_PATH}", body={"n": 21})
    assert status == 200, text[:300]
    assert json.loads(text)["doubled"] == 42
    assert answered_by(cluster, headers) == "webhook"


@pytest.mark.parametrize("path", ["/webhook/no-such-hook", "/webhook-waiting/123", "/form/no-such-form",
                                  "/form-waiting/123", "/mcp/no-such-server", "/webhook-test/no-such-hook",
                                  "/webhook", "/form"])
def test_unknown_webhook_family_paths_never_fall_through_to_the_spa(stack, path):
    _, proxy = stack
    status, headers, text = request(proxy, "GET", path, headers={"Accept": "text/html"})
    assert status in (404, 405), f"{path} answered {status} ({headers.get('x-edge-family')}): {text[:200]}"
    assert headers.get("x-edge-upstream"), "answered by n8n (its own 404), not by the edge"


def test_the_spa_still_answers_editor_routes(stack):
    cluster, proxy = stack
    status, headers, text = request(proxy, "GET", "/home/workflows", headers={"Accept": "text/html"})
    assert status == 200 and "<html" in text.lower()
    assert answered_by(cluster, headers) == "main"


@pytest.mark.parametrize("path", ["/metrics", "/metrics/", "/metrics?x=1"])
def test_metrics_are_refused_at_the_edge(stack, path):
    cluster, proxy = stack
    direct = cluster.metrics(cluster.main)  # main does serve them, on its own port (for Prometheus)
    assert direct, "main serves /metrics directly"
    status, headers, text = request(proxy, "GET", path)
    assert status == 404
    assert "x-edge-upstream" not in headers, "no n8n process was asked"
    assert "n8n_" not in text


def _owner_cookie(proxy: NginxEdge) -> str:
    status, headers, text = request(proxy, "POST", "/rest/owner/setup", body=OWNER)
    if status != 200:  # already set up by an earlier test: log in instead
        status, headers, text = request(proxy, "POST", "/rest/login",
                                        body={"emailOrLdapLoginId": OWNER["email"], "password": OWNER["password"]})
    assert status == 200, text[:300]
    cookie = headers.get("set-cookie", "")
    assert cookie.startswith("n8n-auth="), cookie
    return cookie.split(";", 1)[0]


def test_editor_push_upgrades_through_the_edge_and_survives_idle(stack):
    import websockets

    _, proxy = stack
    cookie = _owner_cookie(proxy)
    origin = f"http://127.0.0.1:{proxy.port}"

    async def idle_then_check() -> tuple[float, int]:
        uri = f"ws://127.0.0.1:{proxy.port}/rest/push?pushRef=edge-e2e"
        async with websockets.connect(uri, origin=origin, additional_headers={"Cookie": cookie},
                                      ping_interval=None) as ws:
            upgraded = ws.response.status_code
            started = time.monotonic()
            with pytest.raises(TimeoutError):  # nothing to say for the whole idle period, but open
                await asyncio.wait_for(ws.recv(), timeout=PUSH_IDLE_SECONDS)
            idle = time.monotonic() - started
            await ws.ping()  # the connection is still alive end to end after the idle period
            assert ws.state is websockets.protocol.State.OPEN
            return idle, upgraded

    idle, status = asyncio.run(idle_then_check())
    TIMINGS["push idle survived s"] = idle
    assert status == 101
    assert idle >= PUSH_IDLE_SECONDS - 1


def _limited(proxy: NginxEdge, source: str, spoof: str | None = None) -> int:
    headers = {"X-Forwarded-For": spoof} if spoof else {}
    status, _, _ = request(proxy, "GET", "/rest/resolve-password-token?token=x&userId=y", headers=headers,
                           source=source)
    return status


def test_n8n_sees_the_client_ip_through_x_forwarded_for(stack):
    """n8n limits GET /rest/resolve-password-token to 5 requests per 5 minutes per client IP (``ipRateLimit``,
    express-rate-limit keyed on ``req.ip``). Behind the proxy, only N8N_PROXY_HOPS=1 makes that key the real client:
    with 0 every client would share the proxy's address; with 2 a client could pick its own key by sending
    X-Forwarded-For."""
    _, proxy = stack
    first = [_limited(proxy, "127.0.0.2") for _ in range(5)]
    assert 429 not in first, first
    assert _limited(proxy, "127.0.0.2") == 429, "the sixth request from one client is limited"
    assert _limited(proxy, "127.0.0.3") != 429, "another client has its own budget: n8n sees distinct IPs"
    assert _limited(proxy, "127.0.0.2", spoof="198.51.100.7") == 429, "a spoofed X-Forwarded-For changes nothing"


def _workflow(name: str, nodes: list[dict], connections: dict) -> dict:
    for i, node in enumerate(nodes):
        node.setdefault("id", str(uuid.uuid4()))
        node.setdefault("position", [240 * i, 0])
    return {"name": name, "nodes": nodes, "connections": connections, "settings": {"executionOrder": "v1"},
            "active": False}


def _publish(proxy: NginxEdge, cookie: str, workflow: dict) -> str:
    """Create and activate a workflow through the edge's REST family (as the editor does); returns its id."""
    status, _, text = request(proxy, "POST", "/rest/workflows", body=workflow, headers={"Cookie": cookie})
    assert status == 200, text[:300]
    data = json.loads(text)["data"]
    status, _, text = request(proxy, "POST", f"/rest/workflows/{data['id']}/activate",
                              body={"versionId": data["versionId"]}, headers={"Cookie": cookie})
    assert status == 200, text[:300]
    return data["id"]


def _until(probe, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def test_a_real_form_and_a_real_waiting_execution_are_served_by_the_webhook_processor(stack):
    """Production form page and resuming a waiting execution: real workflows, answered through the edge by the
    webhook processor (the families peers most often send to the editor's SPA)."""
    cluster, proxy = stack
    cookie = _owner_cookie(proxy)
    form_id = str(uuid.uuid4())  # a production form is served at /form/<webhookId>
    _publish(proxy, cookie, _workflow("edge form", [
        {"name": "Form", "type": "n8n-nodes-base.formTrigger", "typeVersion": 2.2, "webhookId": form_id,
         "parameters": {"formTitle": "Edge form", "responseMode": "onReceived",
                        "formFields": {"values": [{"fieldLabel": "name"}]}, "options": {}}}], {}))
    _publish(proxy, cookie, _workflow("edge wait", [
        {"name": "Hook", "type": "n8n-nodes-base.webhook", "typeVersion": 2, "webhookId": str(uuid.uuid4()),
         "parameters": {"httpMethod": "POST", "path": "edge-wait", "responseMode": "responseNode", "options": {}}},
        {"name": "Respond", "type": "n8n-nodes-base.respondToWebhook", "typeVersion": 1.1,
         "parameters": {"respondWith": "json", "responseBody": '={{ { "resumeUrl": $execution.resumeUrl } }}',
                        "options": {}}},
        {"name": "Wait", "type": "n8n-nodes-base.wait", "typeVersion": 1.1, "webhookId": str(uuid.uuid4()),
         "parameters": {"resume": "webhook", "httpMethod": "POST", "options": {}}}],
        {"Hook": {"main": [[{"node": "Respond", "type": "main", "index": 0}]]},
         "Respond": {"main": [[{"node": "Wait", "type": "main", "index": 0}]]}}))

    form = _until(lambda: (r := request(proxy, "GET", f"/form/{form_id}", headers={"Accept": "text/html"}))[0] == 200
                  and r)
    assert form, "the form page never answered 200 through the edge"
    assert "Edge form" in form[2] and answered_by(cluster, form[1]) == "webhook"

    started = _until(lambda: (r := request(proxy, "POST", "/webhook/edge-wait", body={"go": 1}))[0] == 200 and r)
    assert started, "the waiting workflow's webhook never answered 200"
    resume = urllib.parse.urlsplit(json.loads(started[2])["resumeUrl"])  # signed, built from N8N_WEBHOOK_URL
    assert resume.path.startswith("/webhook-waiting/") and "signature=" in resume.query
    execution = resume.path.rsplit("/", 1)[1]

    def status_of() -> str | None:
        with cluster.pg.connect(DB_NAME) as conn:
            row = conn.execute(f"SELECT status FROM {DB_SCHEMA}.execution_entity WHERE id = %s",
                               (int(execution),)).fetchone()
        return row[0] if row else None

    assert _until(lambda: status_of() == "waiting"), f"the execution never waited: {status_of()}"
    status, headers, text = request(proxy, "POST", f"{resume.path}?{resume.query}", body={"resume": True})
    assert status == 200, text[:300]
    assert answered_by(cluster, headers) == "webhook"
    assert _until(lambda: status_of() == "success"), f"the resumed execution did not finish: {status_of()}"
