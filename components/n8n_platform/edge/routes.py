"""The route table of n8n 2.x: which process answers each path family, and how the edge treats it.

A pure builder (rule 1 of DESIGN.md): plain values in, a tuple of :class:`Route` out. It is the single source of
every edge (the ALB Ingress, the Gateway API HTTPRoutes, the WAF scopes) and of the nginx proxy the real-n8n e2e
test puts in front of main and a webhook processor.

Checked against n8n 2.40.7's own route registration (``n8n/dist``), not only its docs:

- ``abstract-server.js`` ``start()``: with production webhooks enabled the process registers
  ``/{form}/*path``, ``/{webhook}/*path``, ``/{form-waiting}/:path{/:suffix}``, ``/{webhook-waiting}/:path{/:suffix}``,
  the human-in-the-loop callbacks of Slack and Telegram at ``/{webhook-waiting}-slack`` and
  ``/{webhook-waiting}-telegram`` (n8n-core's ``*_HITL_WEBHOOK_SUFFIX``: a path of its own, not under
  ``/{webhook-waiting}/``) and ``/{mcp}/*path``; with test webhooks enabled (main only) ``/{form-test}/*path``,
  ``/{webhook-test}/*path`` and ``/{mcp-test}/*path``. Segment names come from ``@n8n/config`` ``EndpointsConfig``
  (``N8N_ENDPOINT_*``; defaults below). :data:`PRODUCTION_ENDPOINTS`, :data:`HITL_SUFFIXES` and
  :data:`TEST_ENDPOINTS` are these registrations, and the only source of the webhook families.
- ``server.js`` (main only): the REST API under ``/{rest}`` (``N8N_ENDPOINT_REST``), the editor's push channel at
  ``/{rest}/push`` (``push/index.js``: websocket upgrade or SSE), the OAuth callbacks at
  ``/{rest}/oauth1-credential/callback`` and ``/{rest}/oauth2-credential/callback``, the public API under
  ``/{api}`` (``N8N_PUBLIC_API_ENDPOINT``), ``/static`` assets (form pages load ``/static/n8n-logo.png``), and
  the SPA's history fallback for every other GET that accepts HTML (so an unknown path answers 200 *on main*).
- Root-level controllers on main: ``/mcp-server`` (instance-level MCP, ``modules/mcp``), ``/mcp-oauth`` and
  ``/.well-known/oauth-*`` (``modules/oauth-server``; its ``/oauth`` twin serves the editor's first-party flow and
  stays behind the editor's protection with the catch-all).
- ``chat/chat-server.js``: the Chat Trigger's websocket at ``/chat``, set up by main *and* the webhook processors
  whatever the production switch; hosted public chats (served on ``/{webhook}/``) open it from the internet, so it is
  public like the forms, and routed to main like the editor's own chat (n8n-hosting's routing).
- Login and password reset (``controllers/auth.controller.js``, ``password-reset.controller.js``):
  ``/{rest}/login``, ``/{rest}/forgot-password``, ``/{rest}/resolve-password-token``, ``/{rest}/change-password``.
- ``/metrics`` (``N8N_METRICS``) is served on the same port by every role: the edge must refuse it.

Matching follows Kubernetes Ingress ``pathType: Prefix`` (element-wise: ``/webhook`` matches ``/webhook`` and
``/webhook/x``, never ``/webhooks``) and ``Exact``; the longest match wins, which every edge here implements.
Because every webhook-family prefix is routed to a process that registers it, an unknown webhook path is answered
by that process's 404 and never falls through to the editor's SPA.
"""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads Endpoints' annotations at run time.
from dataclasses import dataclass, fields
from typing import Literal

import pulumi

from ..arguments import text

Backend = Literal["main", "webhook", "refused"]
"""Which process answers: main (`n8n start`), the webhook processors (`n8n webhook`), or nobody (the edge answers
404 itself)."""

Scope = Literal["login", "editor", "api", "webhook", "refused"]
"""How the edge treats a family: ``login`` strictest rate limit; ``editor`` (SPA, REST, push) behind the editor
allow-list and optional OIDC; ``api`` (public API, instance MCP, its OAuth) behind the allow-list but never OIDC
(machine clients); ``webhook`` open to the internet with the loosest limit; ``refused`` never forwarded."""

Match = Literal["prefix", "exact"]


@dataclass(frozen=True, kw_only=True)
class Endpoints:
    """Path segments n8n serves (``N8N_ENDPOINT_*`` and ``N8N_PUBLIC_API_ENDPOINT``); defaults are n8n 2.40.7's."""

    rest: str = "rest"
    """``N8N_ENDPOINT_REST``: REST API, push channel, login, OAuth callbacks."""
    api: str = "api"
    """``N8N_PUBLIC_API_ENDPOINT``: the public API (API keys)."""
    webhook: str = "webhook"
    """``N8N_ENDPOINT_WEBHOOK``: production webhooks."""
    webhook_test: str = "webhook-test"
    """``N8N_ENDPOINT_WEBHOOK_TEST``: test webhooks (main only)."""
    webhook_waiting: str = "webhook-waiting"
    """``N8N_ENDPOINT_WEBHOOK_WAIT``: resuming waiting executions (HITL)."""
    form: str = "form"
    """``N8N_ENDPOINT_FORM``: production forms."""
    form_test: str = "form-test"
    """``N8N_ENDPOINT_FORM_TEST``: test forms (main only)."""
    form_waiting: str = "form-waiting"
    """``N8N_ENDPOINT_FORM_WAIT``: forms of waiting executions."""
    mcp: str = "mcp"
    """``N8N_ENDPOINT_MCP``: production MCP server triggers."""
    mcp_test: str = "mcp-test"
    """``N8N_ENDPOINT_MCP_TEST``: test MCP triggers (main only)."""


ENV_NAMES: dict[str, str] = {
    "rest": "N8N_ENDPOINT_REST", "api": "N8N_PUBLIC_API_ENDPOINT", "webhook": "N8N_ENDPOINT_WEBHOOK",
    "webhook_test": "N8N_ENDPOINT_WEBHOOK_TEST", "webhook_waiting": "N8N_ENDPOINT_WEBHOOK_WAIT",
    "form": "N8N_ENDPOINT_FORM", "form_test": "N8N_ENDPOINT_FORM_TEST", "form_waiting": "N8N_ENDPOINT_FORM_WAIT",
    "mcp": "N8N_ENDPOINT_MCP", "mcp_test": "N8N_ENDPOINT_MCP_TEST",
}
"""The n8n variable behind each :class:`Endpoints` field."""


def endpoint_env(endpoints: Endpoints) -> dict[str, str]:
    """The ``N8N_ENDPOINT_*`` variables that differ from n8n's defaults (every role must get the same ones)."""
    default = Endpoints()
    return {ENV_NAMES[f.name]: getattr(endpoints, f.name) for f in fields(Endpoints)
            if getattr(endpoints, f.name) != getattr(default, f.name)}


@dataclass(frozen=True, kw_only=True)
class Route:
    """One path family and how the edge serves it."""

    family: str
    """Stable name of the family (used in object and rule names)."""
    path: str
    """Path the edge matches, starting with ``/``."""
    match: Match
    """``prefix`` (element-wise, like Ingress ``Prefix``) or ``exact``."""
    backend: Backend
    """Who answers."""
    scope: Scope
    """Rate-limit and protection scope."""
    websocket: bool = False
    """The family carries a websocket upgrade (the editor's push channel, the Chat Trigger's chat)."""


LOGIN_PATHS = ("login", "forgot-password", "resolve-password-token", "change-password")
"""REST paths that take or reset a password: the strict per-IP limit applies (credential brute-forcing)."""

METRICS_PATH = "/metrics"

PROXY_HOPS = 1
"""Reverse proxies in front of n8n on every edge: the ALB, or Envoy (one hop each, both appending the client address
to X-Forwarded-For). n8n's ``N8N_PROXY_HOPS`` must equal it: fewer and n8n sees the proxy's address, more and a
client chooses its own address by sending X-Forwarded-For (tests/e2e/test_edge.py proves both on real n8n)."""

PUSH_BACKEND = "websocket"
"""The editor's push channel: both edges carry websockets (ALB natively, Envoy Gateway by default), and only
websockets give n8n's collaboration features (SSE is one-way)."""


PRODUCTION_ENDPOINTS = ("webhook", "webhook_waiting", "form", "form_waiting", "mcp")
"""The :class:`Endpoints` n8n registers only where production webhooks are enabled (``abstract-server.js``
``if (this.webhooksEnabled)``): the webhook processors, or main when there are none
(``N8N_DISABLE_PRODUCTION_MAIN_PROCESS`` turns them off on main)."""
HITL_SUFFIXES = {"webhook_waiting": ("-slack", "-telegram")}
"""Paths registered in the same block as ``/{endpoint}{suffix}`` (n8n-core ``SLACK_HITL_WEBHOOK_SUFFIX``,
``TELEGRAM_HITL_WEBHOOK_SUFFIX``): where Slack and Telegram send the button presses that resume waiting
executions. Element-wise, ``/webhook-waiting`` never matches them: each is a family of its own."""
TEST_ENDPOINTS = ("webhook_test", "form_test", "mcp_test")
"""The :class:`Endpoints` n8n registers only where test webhooks are enabled: main (``server.js``)."""
CHAT_PATH = "/chat"
"""The Chat Trigger's websocket (``chat/chat-server.js``), on main and the webhook processors."""


def _family(field: str) -> str:
    return field.replace("_", "-")


def production_paths(endpoints: Endpoints) -> tuple[tuple[str, str], ...]:
    """(family, path) of every production webhook family, in table order: each of :data:`PRODUCTION_ENDPOINTS`,
    followed by its :data:`HITL_SUFFIXES` paths."""
    out = []
    for f in PRODUCTION_ENDPOINTS:
        segment = getattr(endpoints, f)
        out.append((_family(f), f"/{segment}"))
        out.extend((f"{_family(f)}{suffix}", f"/{segment}{suffix}") for suffix in HITL_SUFFIXES.get(f, ()))
    return tuple(out)


def routes(endpoints: Endpoints = Endpoints(), webhook_processors: bool = True) -> tuple[Route, ...]:
    """The route table, most specific first; the last route is the catch-all ``/`` (the editor on main).

    Without webhook processors (a single-role stack) every family goes to main, which then serves production
    webhooks itself.
    """
    e = endpoints
    hook: Backend = "webhook" if webhook_processors else "main"
    table = [
        Route(family="metrics", path=METRICS_PATH, match="prefix", backend="refused", scope="refused"),
        *(Route(family=f"login-{p}", path=f"/{e.rest}/{p}", match="exact", backend="main", scope="login")
          for p in LOGIN_PATHS),
        Route(family="push", path=f"/{e.rest}/push", match="exact", backend="main", scope="editor", websocket=True),
        Route(family="rest", path=f"/{e.rest}", match="prefix", backend="main", scope="editor"),
        Route(family="public-api", path=f"/{e.api}", match="prefix", backend="main", scope="api"),
        Route(family="mcp-server", path="/mcp-server", match="prefix", backend="main", scope="api"),
        Route(family="mcp-oauth", path="/mcp-oauth", match="prefix", backend="main", scope="api"),
        Route(family="well-known", path="/.well-known", match="prefix", backend="main", scope="api"),
        *(Route(family=family, path=path, match="prefix", backend=hook, scope="webhook")
          for family, path in production_paths(e)),
        *(Route(family=_family(f), path=f"/{getattr(e, f)}", match="prefix", backend="main", scope="webhook")
          for f in TEST_ENDPOINTS),
        Route(family="static", path="/static", match="prefix", backend="main", scope="webhook"),
        Route(family="chat", path=CHAT_PATH, match="prefix", backend="main", scope="webhook", websocket=True),
        Route(family="editor", path="/", match="prefix", backend="main", scope="editor"),
    ]
    check(table)
    return tuple(table)


def check(table: list[Route] | tuple[Route, ...]) -> None:
    """Refuse tables no edge can serve: duplicate paths or families, a missing catch-all, bad paths."""
    paths = [(r.path, r.match) for r in table]
    if len(set(paths)) != len(paths):
        raise ValueError(f"two routes share a path: {sorted(p for p in paths if paths.count(p) > 1)}")
    families = [r.family for r in table]
    if len(set(families)) != len(families):
        raise ValueError("two routes share a family name")
    for r in table:
        if not r.path.startswith("/") or (r.path != "/" and r.path.endswith("/")) or "//" in r.path:
            raise ValueError(f"route {r.family}: path {r.path!r} must start with / and not end with /")
    if table[-1].path != "/" or table[-1].match != "prefix":
        raise ValueError("the last route must be the catch-all prefix /")


def matches(route: Route, path: str) -> bool:
    """Does ``path`` (no query string) match ``route`` with Ingress semantics?"""
    if route.match == "exact":
        return path == route.path
    if route.path == "/":
        return path.startswith("/")
    return path == route.path or path.startswith(route.path + "/")


def resolve(table: tuple[Route, ...], path: str) -> Route:
    """The route that serves ``path``: exact matches first, then the longest matching prefix."""
    exact = [r for r in table if r.match == "exact" and matches(r, path)]
    if exact:
        return exact[0]
    return max((r for r in table if r.match == "prefix" and matches(r, path)), key=lambda r: len(r.path))


def by_scope(table: tuple[Route, ...], scope: Scope) -> tuple[Route, ...]:
    """The routes of one scope, in table order."""
    return tuple(r for r in table if r.scope == scope)


def public_url(hostname: pulumi.Input[str], protocol: str = "https") -> pulumi.Input[str]:
    """Public URL of n8n with the trailing slash n8n documents for ``N8N_WEBHOOK_URL`` (the one place it is built):
    https unless clients reach n8n without the edge's TLS; an Output when the hostname is one."""
    return text(protocol, "://", hostname, "/")
