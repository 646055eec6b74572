"""The route table as every edge receives it, pinned entry by entry (family names are object and rule names: a changed
one renames what the edges create), and the table checks' messages."""

from __future__ import annotations

import re

import pytest

from n8n_platform.edge.routes import Route, check, routes

TABLE = [
    # family, path, match, backend (with webhook processors), scope, websocket
    ("metrics", "/metrics", "prefix", "refused", "refused", False),
    ("login-login", "/rest/login", "exact", "main", "login", False),
    ("login-forgot-password", "/rest/forgot-password", "exact", "main", "login", False),
    ("login-resolve-password-token", "/rest/resolve-password-token", "exact", "main", "login", False),
    ("login-change-password", "/rest/change-password", "exact", "main", "login", False),
    ("push", "/rest/push", "exact", "main", "editor", True),
    ("rest", "/rest", "prefix", "main", "editor", False),
    ("public-api", "/api", "prefix", "main", "api", False),
    ("mcp-server", "/mcp-server", "prefix", "main", "api", False),
    ("mcp-oauth", "/mcp-oauth", "prefix", "main", "api", False),
    ("well-known", "/.well-known", "prefix", "main", "api", False),
    ("webhook", "/webhook", "prefix", "webhook", "webhook", False),
    ("webhook-waiting", "/webhook-waiting", "prefix", "webhook", "webhook", False),
    ("webhook-waiting-slack", "/webhook-waiting-slack", "prefix", "webhook", "webhook", False),
    ("webhook-waiting-telegram", "/webhook-waiting-telegram", "prefix", "webhook", "webhook", False),
    ("form", "/form", "prefix", "webhook", "webhook", False),
    ("form-waiting", "/form-waiting", "prefix", "webhook", "webhook", False),
    ("mcp", "/mcp", "prefix", "webhook", "webhook", False),
    ("webhook-test", "/webhook-test", "prefix", "main", "webhook", False),
    ("form-test", "/form-test", "prefix", "main", "webhook", False),
    ("mcp-test", "/mcp-test", "prefix", "main", "webhook", False),
    ("static", "/static", "prefix", "main", "webhook", False),
    ("chat", "/chat", "prefix", "main", "webhook", True),
    ("editor", "/", "prefix", "main", "editor", False),
]


def as_rows(table: tuple[Route, ...]) -> list[tuple]:
    return [(r.family, r.path, r.match, r.backend, r.scope, r.websocket) for r in table]


def test_the_table_entry_by_entry():
    assert as_rows(routes()) == TABLE


def test_without_webhook_processors_only_the_backends_of_the_production_families_change():
    moved = {"webhook", "webhook-waiting", "webhook-waiting-slack", "webhook-waiting-telegram", "form", "form-waiting",
             "mcp"}
    assert as_rows(routes(webhook_processors=False)) == [
        (*row[:3], "main" if row[0] in moved else row[3], *row[4:]) for row in TABLE]


def route(family: str, path: str, match: str = "prefix") -> Route:
    return Route(family=family, path=path, match=match, backend="main", scope="editor")


CATCH_ALL = route("editor", "/")


def test_a_shared_path_is_named_once_per_route_that_has_it():
    table = [route("a", "/a"), route("b", "/a"), route("c", "/c"), CATCH_ALL]
    with pytest.raises(ValueError, match=re.escape("two routes share a path: [('/a', 'prefix'), ('/a', 'prefix')]")):
        check(table)
    check([route("a", "/a"), route("b", "/a", "exact"), CATCH_ALL])  # the same path matched two ways is fine


def test_a_shared_family_is_refused():
    with pytest.raises(ValueError, match=r"^two routes share a family name$"):
        check([route("a", "/a"), route("a", "/b"), CATCH_ALL])


@pytest.mark.parametrize("path", ["a", "/a/", "/a//b"])
def test_a_path_no_edge_can_match_is_refused(path):
    with pytest.raises(ValueError, match=rf"^route a: path '{re.escape(path)}' must start with / and not end with /$"):
        check([route("a", path), CATCH_ALL])


def test_the_last_route_must_be_the_catch_all_prefix():
    message = r"^the last route must be the catch-all prefix /$"
    with pytest.raises(ValueError, match=message):
        check([route("a", "/a"), route("editor", "/", "exact")])
    with pytest.raises(ValueError, match=message):
        check([CATCH_ALL, route("a", "/a")])
