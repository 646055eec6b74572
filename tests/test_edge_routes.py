"""The route table: every n8n 2.x path family goes where n8n registers it; the table is well-formed."""

from __future__ import annotations

import re
from pathlib import Path

import pulumi
import pytest

from n8n_platform.edge.routes import (
    Endpoints,
    Route,
    by_scope,
    check,
    endpoint_env,
    matches,
    public_url,
    resolve,
    routes,
)

EXPECTED = {
    # path -> (backend with webhook processors, scope)
    "/webhook/abc": ("webhook", "webhook"),
    "/webhook": ("webhook", "webhook"),
    "/webhook-waiting/42": ("webhook", "webhook"),
    "/webhook-waiting/42/slack": ("webhook", "webhook"),
    "/webhook-waiting-slack": ("webhook", "webhook"),
    "/webhook-waiting-telegram": ("webhook", "webhook"),
    "/form/abc": ("webhook", "webhook"),
    "/form-waiting/42": ("webhook", "webhook"),
    "/mcp/abc": ("webhook", "webhook"),
    "/webhook-test/abc": ("main", "webhook"),
    "/form-test/abc": ("main", "webhook"),
    "/mcp-test/abc": ("main", "webhook"),
    "/rest/login": ("main", "login"),
    "/rest/forgot-password": ("main", "login"),
    "/rest/resolve-password-token": ("main", "login"),
    "/rest/change-password": ("main", "login"),
    "/rest/push": ("main", "editor"),
    "/rest/oauth2-credential/callback": ("main", "editor"),
    "/rest/oauth1-credential/callback": ("main", "editor"),
    "/rest/workflows": ("main", "editor"),
    "/api/v1/workflows": ("main", "api"),
    "/mcp-server/http": ("main", "api"),
    "/mcp-oauth/token": ("main", "api"),
    "/.well-known/oauth-authorization-server": ("main", "api"),
    "/static/n8n-logo.png": ("main", "webhook"),
    "/chat": ("main", "webhook"),
    "/": ("main", "editor"),
    "/workflow/123": ("main", "editor"),
    "/webhooks": ("main", "editor"),  # element-wise prefix: not a webhook path
    "/metrics": ("refused", "refused"),
    "/metrics/": ("refused", "refused"),
}


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_each_path_family_goes_where_n8n_serves_it(path):
    route = resolve(routes(), path)
    assert (route.backend, route.scope) == EXPECTED[path]


def test_without_webhook_processors_main_serves_everything_but_metrics():
    table = routes(webhook_processors=False)
    backends = {resolve(table, p).backend for p in EXPECTED if not p.startswith("/metrics")}
    assert backends == {"main"}
    assert resolve(table, "/metrics").backend == "refused"


def test_login_paths_are_exact_and_do_not_capture_neighbours():
    table = routes()
    assert resolve(table, "/rest/login/extra").family == "rest"
    assert resolve(table, "/rest/loginx").family == "rest"
    assert all(r.match == "exact" for r in by_scope(table, "login"))


def test_only_push_and_chat_upgrade_websockets():
    assert [r.family for r in routes() if r.websocket] == ["push", "chat"]


def test_endpoint_overrides_move_the_families_and_become_n8n_variables():
    e = Endpoints(webhook="hooks", rest="api-internal", mcp_test="mcp-try")
    table = routes(e)
    assert resolve(table, "/hooks/abc").backend == "webhook"
    assert resolve(table, "/webhook/abc").family == "editor"
    assert resolve(table, "/api-internal/login").scope == "login"
    assert resolve(table, "/mcp-try/x").family == "mcp-test"
    assert resolve(table, "/webhook-waiting-slack").backend == "webhook"  # the waiting segment did not move
    assert resolve(routes(Endpoints(webhook_waiting="wait")), "/wait-telegram").family == "webhook-waiting-telegram"
    assert endpoint_env(e) == {"N8N_ENDPOINT_WEBHOOK": "hooks", "N8N_ENDPOINT_REST": "api-internal",
                               "N8N_ENDPOINT_MCP_TEST": "mcp-try"}
    assert endpoint_env(Endpoints()) == {}


def test_matching_is_element_wise():
    r = Route(family="x", path="/form", match="prefix", backend="webhook", scope="webhook")
    assert matches(r, "/form") and matches(r, "/form/a")
    assert not matches(r, "/form-test/a") and not matches(r, "/formx")


@pytest.mark.parametrize(("table", "message"), [
    ([Route(family="a", path="/a", match="prefix", backend="main", scope="editor")], "catch-all"),
    ([Route(family="a", path="/a/", match="prefix", backend="main", scope="editor")], "must start"),
    ([Route(family="a", path="/", match="prefix", backend="main", scope="editor"),
      Route(family="b", path="/", match="prefix", backend="main", scope="editor")], "share a path"),
])
def test_malformed_tables_are_refused(table, message):
    with pytest.raises(ValueError, match=message):
        check(table)


def _n8n_dist() -> Path | None:
    root = Path.home() / ".cache" / "n8n-e2e"
    found = sorted(root.glob("n8n-2.40.7-*/node_modules/n8n/dist"))
    return found[0] if found else None


@pytest.mark.skipif(_n8n_dist() is None, reason="n8n 2.40.7 is not installed here (make e2e installs it)")
def test_table_matches_n8n_2_40_7_route_registration():
    """The segments n8n registers (abstract-server.js) and their defaults (@n8n/config) are the table's."""
    dist = _n8n_dist()
    server = (dist / "abstract-server.js").read_text()
    live = set(re.findall(r"this\.app\.all\(`/\$\{this\.(endpoint\w+)\}", server))
    assert {"endpointForm", "endpointWebhook", "endpointFormWaiting", "endpointWebhookWaiting", "endpointMcp",
            "endpointFormTest", "endpointWebhookTest", "endpointMcpTest"} <= live
    config = next(dist.parent.parent.glob("@n8n/config/dist/configs/endpoints.config.js")).read_text()
    defaults = dict(re.findall(r"this\.(\w+) = '([^']*)';", config))
    e = Endpoints()
    for field in ("rest", "webhook", "webhook_test", "webhook_waiting", "form", "form_test", "form_waiting", "mcp",
                  "mcp_test"):
        camel = re.sub(r"_(\w)", lambda m: m.group(1).upper(), field)
        assert defaults[camel] == getattr(e, field), field
    push = (dist / "push" / "index.js").read_text()
    assert "`/${restEndpoint}/push`" in push
    auth = (dist / "controllers" / "auth.controller.js").read_text()
    reset = (dist / "controllers" / "password-reset.controller.js").read_text()
    for path in ("/login",):
        assert f"Post)('{path}'" in auth
    for path in ("/forgot-password", "/resolve-password-token", "/change-password"):
        assert f")('{path}'" in reset
    assert "RootLevelController)('/mcp-server')" in (dist / "modules" / "mcp" / "mcp.controller.js").read_text()


def test_the_public_url_is_the_hostname_under_the_protocol_with_n8ns_trailing_slash():
    assert public_url("n8n.example.com") == "https://n8n.example.com/"
    assert public_url("n8n.internal", "http") == "http://n8n.internal/"
    assert isinstance(public_url(pulumi.Output.from_input("n8n.example.com")), pulumi.Output)
