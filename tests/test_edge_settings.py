"""Edge settings: every edge.* key is validated, with the cross-field rules of the front door."""

from __future__ import annotations

import pytest

from tests.test_settings import problems, settings_for

OIDC = {"issuer": "https://idp.example.com", "authorizationEndpoint": "https://idp.example.com/authorize",
        "tokenEndpoint": "https://idp.example.com/token", "userInfoEndpoint": "https://idp.example.com/userinfo",
        "clientId": "n8n"}

INVALID = [
    ("limits-out-of-order", {"edge": {"rateLimits": {"loginPerMinute": 700}}}, "n8n:edge.rateLimits",
     "loginPerMinute <= apiPerMinute <= webhookPerMinute"),
    ("limit-below-waf-minimum", {"edge": {"rateLimits": {"loginPerMinute": 5}}},
     "n8n:edge.rateLimits.loginPerMinute", "at least 10"),
    ("cidr-with-host-bits", {"edge": {"editorAllowedCidrs": ["10.0.0.1/8"]}}, "n8n:edge.editorAllowedCidrs",
     "zero host bits"),
    ("cidr-without-prefix", {"edge": {"editorAllowedCidrs": ["10.0.0.1"]}}, "n8n:edge.editorAllowedCidrs",
     "prefix length"),
    ("allow-list-without-waf", {"edge": {"editorAllowedCidrs": ["203.0.113.0/24"]}}, "n8n:edge.editorAllowedCidrs",
     "set edge.waf true"),
    ("oidc-on-gateway", {"edge": {"controller": "gateway", "oidc": OIDC}, "oidcClientSecret": "s3cret-value"},
     "n8n:edge.oidc", "needs edge.controller 'alb'"),
    ("oidc-without-secret", {"edge": {"oidc": OIDC}}, "n8n:oidcClientSecret", "needs its client secret"),
    ("secret-without-oidc", {"oidcClientSecret": "s3cret-value"}, "n8n:oidcClientSecret", "only valid together"),
    ("oidc-plain-http", {"edge": {"oidc": {**OIDC, "issuer": "http://idp.example.com"}},
                         "oidcClientSecret": "s3cret-value"}, "n8n:edge.oidc.issuer", "https://"),
    ("zone-on-gateway", {"edge": {"controller": "gateway", "zoneId": "Z0123456789ABC"}}, "n8n:edge.zoneId",
     "only with edge.controller 'alb'"),
    ("bad-zone-id", {"edge": {"zoneId": "zone-1"}}, "n8n:edge.zoneId", "hosted zone id"),
    ("idle-timeout-below-push-ping", {"edge": {"idleTimeoutSeconds": 60}}, "n8n:edge.idleTimeoutSeconds",
     "between 61 and 4000"),
    ("no-source-for-the-alb", {"cluster": {"vpcCidr": None, "vpcId": None}, "database": {"engine": "patroni"}},
     "n8n:edge.subnetCidrs", "network policy"),
]


@pytest.mark.parametrize(("overrides", "key", "allowed"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_edge_config_names_the_key_and_what_is_allowed(overrides, key, allowed):
    message = problems("dev", overrides)
    line = next((line for line in message.splitlines() if line.strip().startswith(f"- {key} =")), None)
    assert line is not None, f"no problem names {key}:\n{message}"
    assert allowed in line


def test_prod_needs_the_waf():
    assert "n8n:edge.waf" in problems("prod", {"edge": {"waf": False, "editorAllowedCidrs": []}})


def test_a_zone_replaces_the_certificate_and_oidc_with_its_secret_is_accepted():
    s = settings_for("prod", {"edge": {"certificateArn": None, "zoneId": "Z0123456789ABC", "oidc": OIDC},
                              "oidcClientSecret": "s3cret-value"})
    assert s.edge.zone_id == "Z0123456789ABC" and s.edge.oidc.client_id == "n8n"
    assert s.edge.oidc.scope == "openid email"


def test_stack_files_choose_the_documented_edges():
    dev, prod = settings_for("dev"), settings_for("prod")
    assert (dev.edge.controller, dev.edge.waf) == ("alb", False)
    assert (prod.edge.controller, prod.edge.waf) == ("alb", True) and prod.edge.editor_allowed_cidrs


def test_the_plan_warns_when_the_editor_is_open_to_the_internet():
    from tools.plan import warnings

    open_editor = [w for w in warnings(settings_for("dev")) if "open to the internet" in w]
    assert open_editor, "dev has neither an allow-list nor OIDC"
    assert not [w for w in warnings(settings_for("prod")) if "open to the internet" in w]
