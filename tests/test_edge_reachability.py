"""Through the rendered edge (the offline plan's ALB Ingresses and Gateway API HTTPRoutes), every path family reaches
a process that serves it: production webhooks, forms, waiting executions and their Slack/Telegram callbacks reach the
webhook processors (main answers them 404 with ``N8N_DISABLE_PRODUCTION_MAIN_PROCESS=true``), test webhooks and the
editor reach main, and ``/metrics`` reaches nobody.

"Serves" is n8n's own word: tools/testing/e2e/registrations.py reads the installed n8n 2.40.7's dist with each role's
environment as the plan renders it (tests/e2e/test_routes.py asks the real processes the same question).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from n8n_platform.edge.routes import HITL_SUFFIXES, PRODUCTION_ENDPOINTS, TEST_ENDPOINTS, Endpoints, routes
from tools.testing.e2e import install as n8n_install
from tools.testing.e2e.registrations import registrations
from tools.testing.edge_reach import GATEWAY_OVERRIDES, REFUSED, RenderedEdge

STACKS = {
    "alb": {},
    "gateway": GATEWAY_OVERRIDES,
    "alb-single-role": {"n8n": {"webhook": {"replicas": 0}}},
    "gateway-single-role": {**GATEWAY_OVERRIDES, "n8n": {"webhook": {"replicas": 0}}},
}
"""The dev stack as each edge renders it, with webhook processors and without (main then serves production)."""


@pytest.fixture(scope="module", params=list(STACKS))
def edge(request) -> RenderedEdge:
    rendered = RenderedEdge("dev", STACKS[request.param])
    rendered.name = request.param
    return rendered


def test_the_stacks_render_the_edge_and_roles_they_are_named_for(edge):
    single = edge.name.endswith("single-role")
    assert edge.controller == edge.name.split("-")[0]
    assert set(edge.envs) == ({"main"} if single else {"main", "webhook"})
    assert edge.envs["main"].get("N8N_DISABLE_PRODUCTION_MAIN_PROCESS") == (None if single else "true")


def _probes(path: str) -> list[str]:
    return [path] if path == "/" else [path, f"{path}/probe"]


def test_each_route_of_the_table_is_rendered_to_its_backend(edge):
    table = routes(webhook_processors="webhook" in edge.envs)
    wrong = {(p, r.backend, edge.reach(p)) for r in table for p in _probes(r.path)
             if r.match == "prefix" and edge.reach(p) != r.backend}
    wrong |= {(r.path, r.backend, edge.reach(r.path)) for r in table
              if r.match == "exact" and edge.reach(r.path) != r.backend}
    assert wrong == set()


def test_production_families_reach_the_role_that_serves_production(edge):
    serving = "webhook" if "webhook" in edge.envs else "main"
    e = Endpoints()
    paths = [f"/{getattr(e, f)}/probe" for f in PRODUCTION_ENDPOINTS]
    paths += [f"/{getattr(e, f)}{s}" for f, suffixes in HITL_SUFFIXES.items() for s in suffixes]
    assert "/webhook-waiting-slack" in paths and "/webhook-waiting-telegram" in paths
    assert {p: edge.reach(p) for p in paths} == dict.fromkeys(paths, serving)


@pytest.mark.parametrize("path", [*(f"/{getattr(Endpoints(), f)}/probe" for f in TEST_ENDPOINTS), "/", "/workflow/new",
                                  "/rest/settings", "/rest/login", "/rest/push", "/api/v1/workflows", "/chat",
                                  "/oauth/consent", "/webhooks", "/formx"])
def test_test_and_editor_paths_reach_main(edge, path):
    assert edge.reach(path) == "main"


@pytest.mark.parametrize("path", ["/metrics", "/metrics/", "/metrics/anything"])
def test_metrics_reaches_nobody(edge, path):
    assert edge.reach(path) == REFUSED


needs_n8n = pytest.mark.skipif(not n8n_install.is_installed(), reason="n8n 2.40.7 is not installed here "
                               "(python -m tools.testing.e2e.install; CI installs it)")


@needs_n8n
def test_every_family_n8n_registers_reaches_a_role_that_serves_it(edge):
    found = registrations(n8n_install.install_dir() / "node_modules" / "n8n", edge.envs)
    assert len(found) >= 25  # the reader found n8n's registrations, not an empty list
    wrong = []
    for reg in found:
        got = edge.reach(reg.probe)
        if reg.pattern == "/metrics":
            assert reg.roles == set(edge.envs), "every role serves /metrics: the edge must refuse it"
            if got != REFUSED:
                wrong.append((reg.family, reg.probe, sorted(reg.roles), got))
        elif got not in reg.roles:
            wrong.append((reg.family, reg.probe, sorted(reg.roles), got))
    assert wrong == [], "family, probe, roles that serve it, role the edge sends it to"


@needs_n8n
def test_production_families_are_served_by_the_webhook_processors_only(edge):
    """With webhook processors, n8n serves each production family on them and not on main: what the table's
    PRODUCTION_ENDPOINTS and HITL_SUFFIXES say."""
    if "webhook" not in edge.envs:
        pytest.skip("single-role stack")
    found = registrations(n8n_install.install_dir() / "node_modules" / "n8n", edge.envs)
    production = {r.probe for r in found if r.roles == {"webhook"}}
    e = Endpoints()
    assert production == {*(f"/{getattr(e, f)}/probe" for f in PRODUCTION_ENDPOINTS),
                          *(f"/{getattr(e, f)}{s}" for f, suffixes in HITL_SUFFIXES.items() for s in suffixes)}
    assert {r.probe for r in found if r.family.startswith("testWebhooksEnabled")} == {
        f"/{getattr(e, f)}/probe" for f in TEST_ENDPOINTS}


def test_the_reader_refuses_a_dist_it_cannot_read(tmp_path: Path):
    (tmp_path / "dist").mkdir()
    (tmp_path / "package.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="@n8n/config"):
        registrations(tmp_path, {"main": {}})
    with pytest.raises(ValueError, match="envs: roles \\['worker'\\]; give 'main' and optionally 'webhook'"):
        registrations(tmp_path, {"worker": {}})
