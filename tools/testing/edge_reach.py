"""Where a request path goes through a *rendered* edge: the ALB Ingresses or the Gateway API HTTPRoutes as the stack
would apply them, read the way their controllers do. Independent of the route table that produced them, so a test
can hold the rendered objects against what n8n registers (tools/testing/e2e/registrations.py).

- ALB (AWS Load Balancer Controller, one IngressGroup): Ingresses in ``group.order``, paths in listed order, the
  first match wins (the ALB evaluates listener rules by priority); ``Exact`` is equality, ``Prefix`` element-wise
  (the controller writes ``/p`` and ``/p/*``).
- Gateway API (HTTPRoutes on the HTTPS listener): across every route, an ``Exact`` match first, else the longest
  element-wise ``PathPrefix``.

The answer is the role of the Service the rule forwards to (its selector's ``app.kubernetes.io/component``), or
``refused`` (the edge answers itself: ALB fixed response, Envoy Gateway direct response), or ``none``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

COMPONENT = "app.kubernetes.io/component"
GROUP_ORDER = "alb.ingress.kubernetes.io/group.order"
REFUSED, NONE = "refused", "none"


def service_roles(manifests: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Service name -> the n8n role its selector picks (``main``, ``webhook``...)."""
    return {m["metadata"]["name"]: m["spec"]["selector"][COMPONENT] for m in manifests
            if m["kind"] == "Service" and COMPONENT in (m["spec"].get("selector") or {})}


def _prefix(prefix: str, path: str) -> bool:
    return prefix == "/" or path == prefix or path.startswith(prefix.rstrip("/") + "/")


def alb_backend(manifests: Iterable[dict[str, Any]], path: str, services: dict[str, str]) -> str:
    """The role the ALB sends ``path`` to."""
    ingresses = sorted((m for m in manifests if m["kind"] == "Ingress"),
                       key=lambda m: int(m["metadata"].get("annotations", {}).get(GROUP_ORDER, "0")))
    for ingress in ingresses:
        for rule in ingress["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                hit = path == p["path"] if p["pathType"] == "Exact" else _prefix(p["path"], path)
                if hit:
                    svc = p["backend"]["service"]
                    if svc["port"].get("name") == "use-annotation":
                        return REFUSED
                    return services.get(svc["name"], f"unknown service {svc['name']}")
    return NONE


def gateway_backend(manifests: Iterable[dict[str, Any]], path: str, services: dict[str, str],
                    listener: str = "https") -> str:
    """The role the Gateway's ``listener`` sends ``path`` to."""
    candidates: list[tuple[int, int, dict[str, Any]]] = []  # (exact?, prefix length, rule)
    for route in (m for m in manifests if m["kind"] == "HTTPRoute"):
        if not any(ref.get("sectionName") == listener for ref in route["spec"]["parentRefs"]):
            continue
        for rule in route["spec"]["rules"]:
            for match in rule.get("matches", [{"path": {"type": "PathPrefix", "value": "/"}}]):
                kind, value = match["path"]["type"], match["path"]["value"]
                if kind == "Exact" and path == value:
                    candidates.append((1, len(value), rule))
                elif kind == "PathPrefix" and _prefix(value, path):
                    candidates.append((0, len(value), rule))
    if not candidates:
        return NONE
    rule = max(candidates, key=lambda c: c[:2])[2]
    if any(f["type"] == "ExtensionRef" for f in rule.get("filters", [])) and not rule.get("backendRefs"):
        return REFUSED
    name = rule["backendRefs"][0]["name"]
    return services.get(name, f"unknown service {name}")


GATEWAY_OVERRIDES = {"edge": {"controller": "gateway", "certificateArn": None}}
"""Stack settings that turn the dev stack's ALB edge into the Gateway API edge."""


class RenderedEdge:
    """One stack rendered by the offline plan: its edge objects, its Services' roles and the environment of each
    n8n role's container (plain values only; Secrets are mounted files)."""

    def __init__(self, stack: str = "dev", overrides: dict[str, Any] | None = None):
        from tools.offline import run_stack

        self.manifests = run_stack(stack, overrides).manifests()
        self.controller = "alb" if any(m["kind"] == "Ingress" for m in self.manifests) else "gateway"
        self.services = service_roles(self.manifests)
        self.envs: dict[str, dict[str, str]] = {}
        for m in self.manifests:
            if m["kind"] == "Deployment":
                role = m["spec"]["template"]["metadata"]["labels"].get(COMPONENT)
                n8n = [c for c in m["spec"]["template"]["spec"]["containers"] if c["name"] == "n8n"]
                if role in ("main", "webhook") and n8n:
                    self.envs[role] = {e["name"]: e["value"] for e in n8n[0].get("env", []) if "value" in e}

    def reach(self, path: str) -> str:
        """The role (or ``refused``/``none``) the rendered edge sends ``path`` to."""
        resolve = alb_backend if self.controller == "alb" else gateway_backend
        return resolve(self.manifests, path, self.services)
