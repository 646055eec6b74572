"""Edge controller ``gateway``: pure builders for Gateway API v1 objects and the one implementation's policies.

Portable (no AWS): a Gateway with an HTTP listener (HTTP->HTTPS redirect, ACME HTTP-01 challenges) and an HTTPS
listener terminating a cert-manager certificate, and one HTTPRoute per route-table scope, so each scope's policy
targets exactly its paths. Precedence across HTTPRoutes is the Gateway API's (exact, then longest prefix), the
route table's own semantics.

**The implementation is Envoy Gateway** (:data:`IMPLEMENTATION`), kept in this module only: its
``BackendTrafficPolicy`` (local, per-client-IP rate limits answering 429), ``SecurityPolicy`` (the editor CIDR
allow-list) and ``HTTPRouteFilter`` (the 404 for ``/metrics``). Schemas are pinned: Gateway API
:data:`GATEWAY_API_VERSION` and Envoy Gateway :data:`ENVOY_GATEWAY_VERSION` (which builds on that Gateway API
release), and the tests validate every object against those releases' CRDs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import k8s, names
from .routes import Route, Scope

GATEWAY_API_VERSION = "v1.6.1"
"""Gateway API release whose CRD schemas the objects are validated against (the one Envoy Gateway pins)."""
ENVOY_GATEWAY_VERSION = "v1.9.1"
"""Envoy Gateway release (helm chart ``oci://docker.io/envoyproxy/gateway-helm``) whose policies are used."""
IMPLEMENTATION = "Envoy Gateway"
CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"
"""``GatewayClass.spec.controllerName`` Envoy Gateway reconciles."""
PROXY_NAMESPACE = "envoy-gateway-system"
"""Namespace where Envoy Gateway runs the proxy pods of every Gateway (its default deployment mode)."""
GATEWAY_API = "gateway.networking.k8s.io/v1"
ENVOY_API = "gateway.envoyproxy.io/v1alpha1"
TLS_SECRET = "n8n-edge-tls"
"""Secret cert-manager writes the public certificate into (referenced by the HTTPS listener)."""
REFUSE_FILTER = "n8n-refuse"


@dataclass(frozen=True, kw_only=True)
class GatewaySpec:
    """Plain inputs of the Gateway edge."""

    namespace: str
    """Namespace of n8n, its Services, the Gateway and its routes."""
    name: str
    """Name of the Gateway (the ACME issuer's HTTP-01 solver attaches to it)."""
    gateway_class: str
    """GatewayClass the Gateway uses (ours, reconciled by Envoy Gateway)."""
    hostname: str
    """Public hostname."""
    services: dict[str, str]
    """Service name per backend (``main``, ``webhook``)."""
    issuer: str = names.PUBLIC_ISSUER
    """cert-manager ClusterIssuer of the public certificate."""
    idle_timeout_seconds: int = 300
    """Idle timeout of requests (keeps the editor's websocket open across n8n's 60 s pings)."""


def gateway_class(spec: GatewaySpec) -> dict[str, Any]:
    """The GatewayClass Envoy Gateway reconciles."""
    return {"apiVersion": GATEWAY_API, "kind": "GatewayClass",
            "metadata": k8s.metadata(spec.gateway_class, None, "edge"),
            "spec": {"controllerName": CONTROLLER_NAME,
                     "description": f"n8n edge ({IMPLEMENTATION} {ENVOY_GATEWAY_VERSION})"}}


def gateway(spec: GatewaySpec) -> dict[str, Any]:
    """HTTP (80: redirect and ACME) and HTTPS (443: the certificate) listeners for the hostname only."""
    same_namespace = {"namespaces": {"from": "Same"}}
    return {"apiVersion": GATEWAY_API, "kind": "Gateway",
            "metadata": k8s.metadata(spec.name, spec.namespace, "edge"),
            "spec": {"gatewayClassName": spec.gateway_class, "listeners": [
                {"name": "http", "protocol": "HTTP", "port": 80, "hostname": spec.hostname,
                 "allowedRoutes": same_namespace},
                {"name": "https", "protocol": "HTTPS", "port": 443, "hostname": spec.hostname,
                 "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": TLS_SECRET}]},
                 "allowedRoutes": same_namespace},
            ]}}


def certificate(spec: GatewaySpec) -> dict[str, Any]:
    """The public certificate from the ACME ClusterIssuer (HTTP-01 through this Gateway)."""
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": k8s.metadata("n8n-edge", spec.namespace, "edge"),
            "spec": {"secretName": TLS_SECRET, "dnsNames": [spec.hostname],
                     "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": spec.issuer},
                     "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}}}


def _parent(spec: GatewaySpec, listener: str) -> dict[str, Any]:
    return {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": spec.name, "sectionName": listener}


def redirect_route(spec: GatewaySpec) -> dict[str, Any]:
    """Every plain-HTTP request is redirected to HTTPS (301); ACME's more specific challenge route still wins."""
    return {"apiVersion": GATEWAY_API, "kind": "HTTPRoute",
            "metadata": k8s.metadata("n8n-redirect", spec.namespace, "edge"),
            "spec": {"parentRefs": [_parent(spec, "http")], "hostnames": [spec.hostname], "rules": [{
                "filters": [{"type": "RequestRedirect",
                             "requestRedirect": {"scheme": "https", "statusCode": 301}}]}]}}


def route_name(scope: Scope) -> str:
    """Name of the HTTPRoute carrying one scope's families."""
    return f"n8n-{scope}"


def _match(route: Route) -> dict[str, Any]:
    return {"path": {"type": "Exact" if route.match == "exact" else "PathPrefix", "value": route.path}}


def _rule(route: Route, spec: GatewaySpec) -> dict[str, Any]:
    rule: dict[str, Any] = {"name": route.family.replace(".", ""), "matches": [_match(route)]}
    if route.backend == "refused":
        rule["filters"] = [{"type": "ExtensionRef", "extensionRef": {
            "group": "gateway.envoyproxy.io", "kind": "HTTPRouteFilter", "name": REFUSE_FILTER}}]
    else:
        rule["backendRefs"] = [{"kind": "Service", "name": spec.services[route.backend], "port": names.N8N_PORT}]
        rule["timeouts"] = {"request": "0s", "backendRequest": "0s"}  # streams and websockets: idle timeout only
    return rule


def routes(table: tuple[Route, ...], spec: GatewaySpec) -> list[dict[str, Any]]:
    """One HTTPRoute per scope present in the table (on the HTTPS listener), rules in table order."""
    out = []
    for scope in dict.fromkeys(r.scope for r in table):
        rules = [_rule(r, spec) for r in table if r.scope == scope]
        out.append({"apiVersion": GATEWAY_API, "kind": "HTTPRoute",
                    "metadata": k8s.metadata(route_name(scope), spec.namespace, "edge"),
                    "spec": {"parentRefs": [_parent(spec, "https")], "hostnames": [spec.hostname],
                             "rules": rules}})
    return out


def refuse_filter(spec: GatewaySpec) -> dict[str, Any]:
    """Envoy Gateway's direct 404 (``/metrics`` is never forwarded)."""
    return {"apiVersion": ENVOY_API, "kind": "HTTPRouteFilter",
            "metadata": k8s.metadata(REFUSE_FILTER, spec.namespace, "edge"),
            "spec": {"directResponse": {"contentType": "text/plain", "statusCode": 404,
                                        "body": {"type": "Inline", "inline": "not found"}}}}


def _targets(scopes: tuple[Scope, ...], table: tuple[Route, ...]) -> list[dict[str, Any]]:
    present = dict.fromkeys(r.scope for r in table)
    return [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": route_name(s)}
            for s in scopes if s in present]


RATE_SCOPES: dict[str, tuple[Scope, ...]] = {"login": ("login",), "api": ("editor", "api"), "webhook": ("webhook",)}
"""Which HTTPRoutes each limit of ``edge.rateLimits`` applies to."""


def rate_limit_policies(table: tuple[Route, ...], spec: GatewaySpec, limits: Any) -> list[dict[str, Any]]:
    """Local per-client-IP limits (every distinct source address counted apart) answering 429."""
    per_minute = {"login": limits.login_per_minute, "api": limits.api_per_minute,
                  "webhook": limits.webhook_per_minute}
    out = []
    for name, scopes in RATE_SCOPES.items():
        targets = _targets(scopes, table)
        if not targets:
            continue
        out.append({"apiVersion": ENVOY_API, "kind": "BackendTrafficPolicy",
                    "metadata": k8s.metadata(f"n8n-rate-{name}", spec.namespace, "edge"),
                    "spec": {"targetRefs": targets, "rateLimit": {"local": {"rules": [{
                        "clientSelectors": [{"sourceCIDR": {"type": "Distinct", "value": cidr}}
                                            for cidr in ("0.0.0.0/0",)],
                        "limit": {"requests": per_minute[name], "unit": "Minute"}}]}}}})
    return out


def allow_list_policy(table: tuple[Route, ...], spec: GatewaySpec, cidrs: list[str]) -> dict[str, Any] | None:
    """Only ``cidrs`` reach the editor, REST, login and API routes; webhooks and forms stay open. None when empty."""
    if not cidrs:
        return None
    return {"apiVersion": ENVOY_API, "kind": "SecurityPolicy",
            "metadata": k8s.metadata("n8n-editor-allow-list", spec.namespace, "edge"),
            "spec": {"targetRefs": _targets(("login", "editor", "api"), table), "authorization": {
                "defaultAction": "Deny",
                "rules": [{"name": "editor-cidrs", "action": "Allow", "principal": {"clientCIDRs": list(cidrs)}}]}}}


def client_traffic_policy(spec: GatewaySpec) -> dict[str, Any]:
    """Listener settings: idle timeout for the editor's websocket, and n8n's view of the client IP (Envoy appends
    the peer address to X-Forwarded-For, so n8n trusts exactly one hop)."""
    return {"apiVersion": ENVOY_API, "kind": "ClientTrafficPolicy",
            "metadata": k8s.metadata("n8n-edge", spec.namespace, "edge"),
            "spec": {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": spec.name}],
                     "timeout": {"http": {"idleTimeout": f"{spec.idle_timeout_seconds}s"}},
                     "tls": {"minVersion": "1.2"}}}


def proxy_selector(spec: GatewaySpec) -> dict[str, Any]:
    """NetworkPolicy peer: the Envoy proxy pods of this Gateway (Envoy Gateway's labels, its namespace)."""
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": PROXY_NAMESPACE}},
            "podSelector": {"matchLabels": {"gateway.envoyproxy.io/owning-gateway-name": spec.name,
                                            "gateway.envoyproxy.io/owning-gateway-namespace": spec.namespace}}}


ACME_SOLVER_LABELS = {"acme.cert-manager.io/http01-solver": "true"}
"""Labels of the pods cert-manager starts in the Certificate's namespace to answer HTTP-01 challenges."""
ACME_SOLVER_PORT = 8089


def acme_solver_policy(spec: GatewaySpec) -> dict[str, Any]:
    """The namespace denies all ingress by default: let the Gateway's proxies reach cert-manager's HTTP-01 solver
    pods, or the certificate is never issued."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": k8s.metadata("edge-acme-solver", spec.namespace, "network-policy"),
            "spec": {"podSelector": {"matchLabels": dict(ACME_SOLVER_LABELS)}, "policyTypes": ["Ingress"],
                     "ingress": [{"from": [proxy_selector(spec)],
                                  "ports": [{"protocol": "TCP", "port": ACME_SOLVER_PORT}]}]}}


def manifests(table: tuple[Route, ...], spec: GatewaySpec, limits: Any, cidrs: list[str]) -> list[dict[str, Any]]:
    """Every object of the Gateway edge, GatewayClass first."""
    out = [gateway_class(spec), gateway(spec), certificate(spec), redirect_route(spec), *routes(table, spec)]
    if any(r.backend == "refused" for r in table):
        out.append(refuse_filter(spec))
    out.extend(rate_limit_policies(table, spec, limits))
    allow = allow_list_policy(table, spec, cidrs)
    if allow is not None:
        out.append(allow)
    out.extend([client_traffic_policy(spec), acme_solver_policy(spec)])
    return out
