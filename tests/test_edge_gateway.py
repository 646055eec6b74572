"""Gateway edge builders, validated against the real CRD schemas of the pinned Gateway API and Envoy Gateway
releases (fetched through the Go module proxy by tools.ci.crds)."""

from __future__ import annotations

import copy
import shutil

import pytest

from n8n_platform.edge import gateway as gw
from n8n_platform.edge.routes import resolve, routes
from n8n_platform.edge.spec import EdgeRateLimits

SPEC = gw.GatewaySpec(namespace="n8n", name="n8n", gateway_class="n8n-n8n", hostname="n8n.example.com",
                      services={"main": "n8n-main", "webhook": "n8n-webhook"})


LIMITS = EdgeRateLimits(login_per_minute=10, api_per_minute=600, webhook_per_minute=1200)


def manifests(cidrs=("203.0.113.0/24",), limits=LIMITS):
    return gw.manifests(routes(), SPEC, limits, list(cidrs))


needs_go = pytest.mark.skipif(shutil.which("go") is None, reason="the Go toolchain fetches the pinned CRDs")


@pytest.fixture(scope="module")
def crds():
    from tools.ci import crds

    crds.schemas()
    return crds


@needs_go
def test_every_gateway_object_is_valid_for_its_pinned_crd(crds):
    custom = [m for m in manifests() if crds.known(m["apiVersion"], m["kind"])]
    assert {m["kind"] for m in custom} == {"GatewayClass", "Gateway", "HTTPRoute", "HTTPRouteFilter",
                                           "BackendTrafficPolicy", "SecurityPolicy", "ClientTrafficPolicy"}
    assert [e for m in custom for e in crds.crd_errors(m)] == []


@needs_go
@pytest.mark.parametrize("mutate", [
    lambda m: m["spec"].update(gatewayClass="x"),                                   # unknown field
    lambda m: m["spec"]["rules"][0]["matches"][0]["path"].update(type="Prefix"),    # not an enum value
    lambda m: m["spec"]["rules"][0]["backendRefs"][0].update(port="http"),          # wrong type
])
def test_the_crd_gate_catches_mistakes(crds, mutate):
    route = copy.deepcopy(next(m for m in manifests() if m["kind"] == "HTTPRoute"
                               and m["metadata"]["name"] == gw.route_name("webhook")))
    mutate(route)
    assert crds.crd_errors(route)


@needs_go
def test_pinned_versions_are_the_crds_used(crds):
    assert (gw.GATEWAY_API_VERSION, gw.ENVOY_GATEWAY_VERSION) == ("v1.6.1", "v1.9.1")
    assert {s.version for s in crds.SOURCES} >= {gw.GATEWAY_API_VERSION, gw.ENVOY_GATEWAY_VERSION}


def _by(kind, name=None):
    return [m for m in manifests() if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)]


def test_one_route_per_scope_and_every_family_reaches_its_service():
    table = routes()
    services = {}
    for route in _by("HTTPRoute"):
        if route["metadata"]["name"] == "n8n-redirect":
            continue
        assert route["spec"]["parentRefs"][0]["sectionName"] == "https"
        for rule in route["spec"]["rules"]:
            path = rule["matches"][0]["path"]["value"]
            services[path] = rule["backendRefs"][0]["name"] if "backendRefs" in rule else "refused"
    for route in table:
        expected = "refused" if route.backend == "refused" else SPEC.services[route.backend]
        assert services[route.path] == expected, route.family
    assert services["/webhook"] == "n8n-webhook" and services["/webhook-test"] == "n8n-main"
    assert resolve(table, "/metrics").family == "metrics" and services["/metrics"] == "refused"


def test_http_redirects_to_https():
    (redirect,) = _by("HTTPRoute", "n8n-redirect")
    assert redirect["spec"]["parentRefs"][0]["sectionName"] == "http"
    assert redirect["spec"]["rules"][0]["filters"][0]["requestRedirect"] == {"scheme": "https", "statusCode": 301}
    (gateway,) = _by("Gateway")
    https = next(listener for listener in gateway["spec"]["listeners"] if listener["name"] == "https")
    assert https["tls"]["certificateRefs"][0]["name"] == gw.TLS_SECRET
    (cert,) = _by("Certificate")
    assert cert["spec"]["secretName"] == gw.TLS_SECRET and cert["spec"]["dnsNames"] == ["n8n.example.com"]


def test_rate_limits_per_client_ip_target_their_scopes():
    policies = {p["metadata"]["name"]: p for p in _by("BackendTrafficPolicy")}
    expected = {"n8n-rate-login": (10, {"n8n-login"}), "n8n-rate-api": (600, {"n8n-editor", "n8n-api"}),
                "n8n-rate-webhook": (1200, {"n8n-webhook"})}
    for name, (limit, targets) in expected.items():
        rule = policies[name]["spec"]["rateLimit"]["local"]["rules"][0]
        assert rule["limit"] == {"requests": limit, "unit": "Minute"}
        assert rule["clientSelectors"][0]["sourceCIDR"]["type"] == "Distinct"
        assert {t["name"] for t in policies[name]["spec"]["targetRefs"]} == targets


def test_allow_list_covers_editor_and_api_never_webhooks():
    (policy,) = _by("SecurityPolicy")
    targets = {t["name"] for t in policy["spec"]["targetRefs"]}
    assert targets == {"n8n-login", "n8n-editor", "n8n-api"}
    assert policy["spec"]["authorization"]["defaultAction"] == "Deny"
    assert policy["spec"]["authorization"]["rules"][0]["principal"]["clientCIDRs"] == ["203.0.113.0/24"]
    assert not [m for m in manifests(cidrs=()) if m["kind"] == "SecurityPolicy"]


def test_the_gateway_proxies_may_reach_the_acme_solver():
    (policy,) = [m for m in _by("NetworkPolicy") if m["metadata"]["name"] == "edge-acme-solver"]
    assert policy["spec"]["podSelector"]["matchLabels"] == {"acme.cert-manager.io/http01-solver": "true"}
    assert policy["spec"]["ingress"][0]["from"] == [gw.proxy_selector(SPEC)]
    assert policy["spec"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8089}]


def test_idle_timeout_and_proxy_pods():
    (ctp,) = _by("ClientTrafficPolicy")
    assert ctp["spec"]["timeout"]["http"]["idleTimeout"] == "300s"
    peer = gw.proxy_selector(SPEC)
    assert peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == gw.PROXY_NAMESPACE
    assert peer["podSelector"]["matchLabels"]["gateway.envoyproxy.io/owning-gateway-name"] == "n8n"
