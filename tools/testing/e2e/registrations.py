"""What n8n itself registers: the path families each role serves, read from the installed n8n's dist.

:func:`registrations` reads n8n 2.40.7's own code, not its docs, with a role's environment (``n8n_env``):

- ``abstract-server.js`` ``start()``: every ``this.app.all(`...`)`` of the ``if (this.webhooksEnabled)`` and
  ``if (this.testWebhooksEnabled)`` blocks, their ``${this.endpoint*}`` segments resolved through ``@n8n/config``
  (``EndpointsConfig``: the ``N8N_ENDPOINT_*`` variable and default of each) and their ``${n8n_core_1.*}``
  constants through n8n-core's dist; which role enables which block comes from the assignments in ``server.js``
  (main) and ``webhooks/webhook-server.js`` (webhook processors), evaluated with the role's environment
  (``!this.globalConfig.endpoints.disableProductionWebhooksOnMainProcess`` is ``N8N_DISABLE_PRODUCTION_MAIN_PROCESS``).
- ``chat/chat-server.js``: ``app.use('/chat')``, on the roles whose server calls ``ChatServer).setup(``.
- ``metrics/prometheus/prometheus.service.js``: ``app.get('/metrics')``, on the roles whose ``configure()`` starts
  it, when ``N8N_METRICS`` is on.
- ``abstract-server.js`` ``setupHealthCheck()``: ``endpoints.health`` (``N8N_ENDPOINT_HEALTH``) on every role.
- root-level controllers (``RootLevelController`` in ``modules/``): their routes and static routers; main only (the
  ``ControllerRegistry`` is activated by ``server.js`` alone), as are the REST API, its push channel, the public API,
  the static assets and the editor's history fallback (each anchored on the line of ``server.js`` that registers it).

Anything it cannot read (a block, a constant, an assignment it does not understand) raises: an n8n upgrade that
moves a registration fails here instead of silently shrinking the list. Workers are not behind the edge (their
server only has health and metrics), so the roles are ``main`` and ``webhook``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROLES = ("main", "webhook")
SERVER_FILES = {"main": "server.js", "webhook": "webhooks/webhook-server.js"}
"""The express server of each role behind the edge (``n8n start``, ``n8n webhook``)."""


@dataclass(frozen=True)
class Registration:
    """One path family and the roles that register it."""

    family: str
    """What it is (for messages): the block or file it comes from and its pattern."""
    pattern: str
    """Express path as registered, segments resolved (``/webhook/*path``, ``/webhook-waiting-slack``)."""
    roles: frozenset[str]
    """Roles (``main``, ``webhook``) that serve it with their environment; empty: nobody does."""
    method: str = "POST"
    """A method the registration answers (``app.all``/``app.use``: any; POST never meets the editor's SPA fallback)."""
    accept: str = "application/json"
    """The Accept header of a probe (only the editor's history fallback answers ``text/html``)."""

    @property
    def probe(self) -> str:
        """A concrete path the pattern matches (parameters and wildcards filled in, optional groups dropped)."""
        path = re.sub(r"\{[^}]*\}", "", self.pattern)
        path = re.sub(r"[*:][A-Za-z_]\w*", "probe", path)
        return path


def _package(n8n_pkg: Path, name: str) -> Path:
    """A dependency of n8n, nested or hoisted (npm puts it either side)."""
    for candidate in (n8n_pkg / "node_modules" / name, n8n_pkg.parent / name):
        if (candidate / "package.json").exists():
            return candidate
    raise FileNotFoundError(f"{name} is neither under {n8n_pkg}/node_modules nor beside it")


def _read(path: Path) -> str:
    if not path.exists():
        raise FileNotFoundError(f"{path}: expected in n8n's dist")
    return path.read_text()


def config_fields(config_js: str, cls: str) -> dict[str, tuple[str, str]]:
    """``{field: (env variable, default)}`` of one ``@n8n/config`` class (its ``@Env`` decorators and constructor)."""
    envs = {}
    for chunk, owner, field in re.findall(r"__decorate\(\[((?:(?!__decorate\(\[).)*?)\], (\w+)\.prototype, \"(\w+)\"",
                                          config_js, re.S):
        env = re.search(r"decorators_1\.Env\)\('(\w+)'", chunk)
        if owner == cls and env:
            envs[field] = env.group(1)
    body = re.search(r"class " + cls + r" \{\s*constructor\(\) \{(.*?)\n    \}", config_js, re.S)
    if body is None:
        raise ValueError(f"no constructor of {cls} in @n8n/config")
    defaults = dict(re.findall(r"this\.(\w+) = ([^;]+);", body.group(1)))
    return {f: (e, defaults.get(f, "").strip("'")) for f, e in envs.items()}


def _block(source: str, condition: str) -> str:
    """The body of ``if (<condition>) { ... }`` (balanced braces)."""
    head = f"if ({condition}) {{"
    start = source.find(head)
    if start < 0:
        raise ValueError(f"abstract-server.js: no `{head}` block")
    depth = 0
    for end in range(start + len(head) - 1, len(source)):
        depth += {"{": 1, "}": -1}.get(source[end], 0)
        if depth == 0:
            return source[start + len(head):end]
    raise ValueError(f"abstract-server.js: `{head}` is never closed")


def _flag(server: str, name: str, default: bool, env: Mapping[str, str], endpoints: dict[str, tuple[str, str]],
          file: str) -> bool:
    """The value of ``this.<name>`` a server's constructor assigns (``true``, ``false`` or ``!this.globalConfig.
    endpoints.<field>``), else the AbstractServer default."""
    found = re.findall(rf"this\.{name} = ([^;]+);", server)
    if not found:
        return default
    if len(found) > 1:
        raise ValueError(f"{file}: this.{name} is assigned {len(found)} times")
    expr = found[0].strip()
    if expr in ("true", "false"):
        return expr == "true"
    m = re.fullmatch(r"!this\.globalConfig\.endpoints\.(\w+)", expr)
    if m is None or m.group(1) not in endpoints:
        raise ValueError(f"{file}: cannot evaluate this.{name} = {expr}")
    var, fallback = endpoints[m.group(1)]
    return env.get(var, fallback).lower() != "true"


def _bool_env(env: Mapping[str, str], var: str, fallback: str) -> bool:
    return env.get(var, fallback).lower() == "true"


def registrations(n8n_pkg: Path, envs: Mapping[str, Mapping[str, str]]) -> list[Registration]:
    """Every path family the roles of ``envs`` (``main``, ``webhook`` -> that role's environment) register."""
    if "main" not in envs or set(envs) - set(ROLES):
        raise ValueError(f"envs: roles {sorted(envs)}; give 'main' and optionally 'webhook'")
    dist = n8n_pkg / "dist"
    config = _package(n8n_pkg, "@n8n/config") / "dist" / "configs"
    endpoints_js = _read(config / "endpoints.config.js")
    endpoints = config_fields(endpoints_js, "EndpointsConfig")
    metrics_cfg = config_fields(endpoints_js, "PrometheusMetricsConfig")
    public_api = config_fields(_read(config / "public-api.config.js"), "PublicApiConfig")
    core = _package(n8n_pkg, "n8n-core") / "dist"
    abstract = _read(dist / "abstract-server.js")
    servers = {role: _read(dist / f) for role, f in SERVER_FILES.items()}

    def segment(role: str, field: str, fields: dict[str, tuple[str, str]] = endpoints) -> str:
        var, default = fields[field]
        return envs[role].get(var, default)

    attrs = dict(re.findall(r"this\.(\w+) = endpoints\.(\w+);", abstract))
    constants: dict[str, str] = {}

    def constant(name: str) -> str:
        if name not in constants:
            hits = {v for p in core.rglob("*.js")
                    for v in re.findall(rf"exports\.{name} = '([^']*)';", p.read_text(errors="replace"))}
            if len(hits) != 1:
                raise ValueError(f"n8n-core: {name} has {len(hits) or 'no'} definition(s)")
            constants[name] = hits.pop()
        return constants[name]

    def resolve(role: str, template: str) -> str:
        def one(m: re.Match) -> str:
            ref = m.group(1)
            if ref.startswith("this."):
                attr = ref[len("this."):]
                if attr not in attrs:
                    raise ValueError(f"abstract-server.js: {attr} is not read from the endpoints config")
                return segment(role, attrs[attr])
            if ref.startswith("n8n_core_1."):
                return constant(ref[len("n8n_core_1."):])
            raise ValueError(f"abstract-server.js: cannot resolve ${{{ref}}}")
        return re.sub(r"\$\{([^}]+)\}", one, template)

    defaults = dict(re.findall(r"this\.(webhooksEnabled|testWebhooksEnabled) = (true|false);", abstract))
    out: list[Registration] = []
    for flag in ("webhooksEnabled", "testWebhooksEnabled"):
        block = _block(abstract, f"this.{flag}")
        templates = re.findall(r"this\.app\.all\(`([^`]+)`", block)
        if not templates:
            raise ValueError(f"abstract-server.js: no app.all() under this.{flag}")
        by_pattern: dict[str, set[str]] = {}
        for role in envs:
            if _flag(servers[role], flag, defaults[flag] == "true", envs[role], endpoints, SERVER_FILES[role]):
                for t in templates:
                    by_pattern.setdefault(resolve(role, t), set()).add(role)
            else:
                for t in templates:
                    by_pattern.setdefault(resolve(role, t), set())
        out += [Registration(f"{flag}: {p}", p, frozenset(r)) for p, r in by_pattern.items()]

    chat = re.findall(r"app\.use\('([^']+)'", _read(dist / "chat" / "chat-server.js"))
    if chat != ["/chat"]:
        raise ValueError(f"chat/chat-server.js: expected app.use('/chat'), found {chat}")
    out.append(Registration("chat-server.js: websocket", chat[0],
                            frozenset(r for r in envs if "ChatServer).setup(" in servers[r])))

    prometheus = _read(dist / "metrics" / "prometheus" / "prometheus.service.js")
    metrics = re.findall(r"app\.get\('([^']+)'", prometheus)
    if metrics != ["/metrics"]:
        raise ValueError(f"prometheus.service.js: expected app.get('/metrics'), found {metrics}")
    var, fallback = metrics_cfg["enable"]
    out.append(Registration("prometheus.service.js", metrics[0], frozenset(
        r for r in envs if "PrometheusMetricsService).init(this.app)" in servers[r]
        and _bool_env(envs[r], var, fallback)), method="GET"))

    main_only = frozenset(r for r in envs if "ControllerRegistry).activate(app)" in servers[r])
    if set(main_only) - {"main"}:
        raise ValueError(f"controllers registered on {sorted(main_only)}: the edge assumes main only")
    for path, method in sorted(_root_level_paths(dist).items()):
        out.append(Registration("root-level controller", path, main_only, method=method))
    if "this.app.get(healthPath" not in abstract or "this.endpointHealth = (0, health_endpoint_util_1." not in abstract:
        raise ValueError("abstract-server.js no longer registers the health check on endpoints.health")
    for role in envs:  # setupHealthCheck() runs in every server's init(); the path is one config value for all
        if segment(role, "health") != segment("main", "health"):
            raise ValueError("N8N_ENDPOINT_HEALTH differs between the roles")
    out.append(Registration("abstract-server.js: health check", segment("main", "health"), frozenset(envs),
                            method="GET"))
    main_server = servers["main"]
    anchors = {
        "REST API (rest controllers)": ("/{rest}/settings", "GET", "this.app.get(`/${this.restEndpoint}/settings`"),
        "push channel": ("/{rest}/push", "GET", "push.setupPushHandler(restEndpoint, app)"),
        "public API": ("/{api}/v1/workflows", "GET", "loadPublicApiVersions)(publicApiEndpoint)"),
        "static assets": ("/static/n8n-logo.png", "GET", "express_1.default.static(constants_2.EDITOR_UI_DIST_DIR"),
        "editor SPA (history fallback)": ("/workflow/new", "GET", "historyApiHandler = async"),
    }
    for family, (template, method, anchor) in anchors.items():
        if anchor not in main_server:
            raise ValueError(f"server.js no longer has `{anchor}` ({family})")
        path = template.format(rest=segment("main", "rest"), api=segment("main", "path", public_api))
        accept = "text/html" if "history fallback" in family else "application/json"
        out.append(Registration(f"server.js: {family}", path, main_only, method=method, accept=accept))
    return out


METHOD_PREFERENCE = ("Post", "Get", "Put", "Patch", "Delete", "Head", "Options")


def _root_level_paths(dist: Path) -> dict[str, str]:
    """``{path: method}`` of every ``RootLevelController`` route (base path + each decorated route, one method it
    answers) and static router (the MCP SDK's OAuth handlers: POST)."""
    out: dict[str, str] = {}
    for path in (dist / "modules").rglob("*.controller.js"):
        text = path.read_text(errors="replace")
        bases = re.findall(r"RootLevelController\)\('([^']*)'\)", text)
        if not bases:
            continue
        base = bases[0].rstrip("/")
        routes = re.findall(r"decorators_1\.(Get|Post|Put|Patch|Delete|Head|Options)\)\('([^']+)'", text)
        for method, route in sorted(routes, key=lambda r: METHOD_PREFERENCE.index(r[0])):
            out.setdefault(base + route, method.upper())
        routers = re.findall(r"sharedEndpointRouters\('([^']+)'\)", text)
        suffixes = re.findall(r"path: `\$\{basePath\}(/[^`]+)`", text)
        out.update({prefix + s: "POST" for prefix in routers for s in suffixes})
        if not routes and not routers:
            raise ValueError(f"{path}: a root-level controller with no route this reader understands")
    return out


def served(status: int, body: str, method: str, path: str) -> bool:
    """Did a process serve ``path``? Everything but express's own 404 for a path no handler took
    (``Cannot <METHOD> <path>``) counts: n8n's 404 for an unknown webhook is the family being served."""
    return not (status == 404 and f"Cannot {method} {path}" in body)
