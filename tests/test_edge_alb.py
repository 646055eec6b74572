"""ALB edge builders: Ingress annotations against the controller's documented table, WAF rules against the real
WAFv2 API model (botocore), and the numbers the rate limits and timeouts are pinned to."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from n8n_platform.edge import alb
from n8n_platform.edge.routes import by_scope, routes
from n8n_platform.edge.spec import EdgeOidc, EdgeRateLimits

ACL = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/n8n/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
OIDC = EdgeOidc(issuer="https://idp.example.com", authorization_endpoint="https://idp.example.com/auth",
                    token_endpoint="https://idp.example.com/token", user_info_endpoint="https://idp.example.com/me",
                    client_id="n8n")


def spec(**kw):
    base = dict(namespace="n8n", hostname="n8n.example.com", group="n8n-n8n",
                services={"main": "n8n-main", "webhook": "n8n-webhook"}, certificate_arn=CERT,
                idle_timeout_seconds=300, deregistration_delay_seconds=70, web_acl_arn=ACL,
                subnet_ids=("subnet-0a1b2c3d4e5f60711", "subnet-0a1b2c3d4e5f60722"), tags={"env": "prod"})
    return alb.AlbSpec(**{**base, **kw})


def test_every_annotation_is_documented_and_well_formed():
    for s in (spec(), spec(oidc=OIDC, oidc_secret="n8n-edge-oidc"), spec(web_acl_arn=None, subnet_ids=())):
        for ingress in alb.ingresses(routes(), s):
            annotations = ingress["metadata"]["annotations"]
            assert alb.annotation_problems(annotations) == []
            assert all(k.startswith(alb.PREFIX) or k.startswith("checkov") for k in annotations)


@pytest.mark.parametrize(("key", "value"), [
    ("alb.ingress.kubernetes.io/wafv2-acl", ACL),                     # misspelt name: silently ignored
    ("alb.ingress.kubernetes.io/ssl-redirect", "yes"),                 # integer expected
    ("alb.ingress.kubernetes.io/target-type", "pod"),
    ("alb.ingress.kubernetes.io/listen-ports", "[{HTTP: 80}]"),       # not JSON
    ("alb.ingress.kubernetes.io/load-balancer-attributes", "idle_timeout.timeout_seconds"),
    ("alb.ingress.kubernetes.io/wafv2-acl-arn", "arn:aws:waf::123456789012:webacl/x"),  # classic WAF ARN
])
def test_the_annotation_check_catches_typos_and_bad_values(key, value):
    assert alb.annotation_problems({key: value})


def test_the_table_records_its_source():
    assert "annotations.md" in alb.ANNOTATIONS_SOURCE and "aws-load-balancer-controller" in alb.ANNOTATIONS_SOURCE


def test_two_ingresses_one_alb_public_first_editor_last():
    public, editor = alb.ingresses(routes(), spec(oidc=OIDC, oidc_secret="s"))
    a_pub, a_ed = public["metadata"]["annotations"], editor["metadata"]["annotations"]
    assert a_pub[alb.PREFIX + "group.name"] == a_ed[alb.PREFIX + "group.name"]
    assert int(a_pub[alb.PREFIX + "group.order"]) < int(a_ed[alb.PREFIX + "group.order"])
    paths = {p["path"] for p in public["spec"]["rules"][0]["http"]["paths"]}
    assert {"/webhook", "/form", "/mcp", "/webhook-waiting", "/metrics", "/api"} <= paths
    assert "/" not in paths and "/rest" not in paths
    editor_paths = [p["path"] for p in editor["spec"]["rules"][0]["http"]["paths"]]
    assert editor_paths[-1] == "/" and "/rest/push" in editor_paths
    assert alb.PREFIX + "auth-type" in a_ed and alb.PREFIX + "auth-type" not in a_pub, "OIDC never on webhooks"
    oidc = json.loads(a_ed[alb.PREFIX + "auth-idp-oidc"])
    assert set(oidc) <= alb.OIDC_KEYS and oidc["secretName"] == "s"


def test_metrics_get_a_fixed_404_and_the_backends_the_right_services():
    public, _ = alb.ingresses(routes(), spec())
    by_path = {p["path"]: p["backend"]["service"] for p in public["spec"]["rules"][0]["http"]["paths"]}
    assert by_path["/metrics"] == {"name": alb.REFUSE_ACTION, "port": {"name": "use-annotation"}}
    action = json.loads(public["metadata"]["annotations"][alb.PREFIX + f"actions.{alb.REFUSE_ACTION}"])
    assert action["fixedResponseConfig"]["statusCode"] == "404"
    assert by_path["/webhook"]["name"] == "n8n-webhook" and by_path["/webhook-test"]["name"] == "n8n-main"


def test_tls_health_and_timeouts_are_pinned():
    a = alb.load_balancer_annotations(spec())
    assert a[alb.PREFIX + "ssl-policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert a[alb.PREFIX + "ssl-redirect"] == "443"
    assert "idle_timeout.timeout_seconds=300" in a[alb.PREFIX + "load-balancer-attributes"]
    assert a[alb.PREFIX + "target-group-attributes"] == "deregistration_delay.timeout_seconds=70"
    assert a[alb.PREFIX + "healthcheck-path"] == "/healthz/readiness"
    assert a[alb.PREFIX + "target-type"] == "ip" and a[alb.PREFIX + "scheme"] == "internet-facing"


def test_deregistration_delay_is_the_time_a_pod_still_serves():
    assert alb.deregistration_delay(10, 60) == 70
    assert alb.deregistration_delay(10, 5000) == 3600


# --- WAF ----------------------------------------------------------------------------------------------------------


DEFAULT_LIMITS = EdgeRateLimits()


def _rules(cidrs=("arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/editor/abc",), limits=DEFAULT_LIMITS):
    return alb.web_acl_rules(routes(), limits, list(cidrs))


def test_rate_limits_are_the_settings_numbers_per_minute_answering_429():
    limits = EdgeRateLimits(login_per_minute=10, api_per_minute=600, webhook_per_minute=1200)
    rules = {r["Name"]: r for r in _rules(limits=limits)}
    for name, limit in (("rate-login", 10), ("rate-api", 600), ("rate-webhook", 1200)):
        rb = rules[name]["Statement"]["RateBasedStatement"]
        assert (rb["Limit"], rb["EvaluationWindowSec"], rb["AggregateKeyType"]) == (limit, 60, "IP")
        assert rules[name]["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429


def test_defaults_are_the_documented_limits():
    r = EdgeRateLimits()
    assert (r.login_per_minute, r.api_per_minute, r.webhook_per_minute) == (10, 600, 1200)


def test_rate_rule_scopes():
    table = routes()
    login, api, webhook = alb.rate_rules(table, EdgeRateLimits())
    login_paths = {s["ByteMatchStatement"]["SearchString"] for s in login.scope["OrStatement"]["Statements"]}
    assert login_paths == {r.path for r in by_scope(table, "login")}
    assert api.scope["NotStatement"]["Statement"] == webhook.scope
    hooks = {s["ByteMatchStatement"]["SearchString"] for s in webhook.scope["OrStatement"]["Statements"]}
    assert {"/webhook/", "/webhook", "/form/", "/mcp/", "/webhook-waiting/", "/form-waiting/"} <= hooks
    assert "/rest/" not in hooks and "/" not in hooks


def test_allow_list_blocks_everything_but_the_public_families_from_outside():
    rule = next(r for r in _rules() if r["Name"] == "editor-allow-list")
    outside, not_public = rule["Statement"]["AndStatement"]["Statements"]
    assert outside["NotStatement"]["Statement"]["IPSetReferenceStatement"]["ARN"].endswith("/abc")
    assert not_public["NotStatement"]["Statement"] == alb.paths_statement(by_scope(routes(), "webhook"))
    assert rule["Action"] == {"Block": {}}
    assert "editor-allow-list" not in [r["Name"] for r in _rules(cidrs=())]


def test_managed_groups_count_body_rules_so_large_webhooks_pass():
    common = next(r for r in _rules() if r["Name"] == "AWSManagedRulesCommonRuleSet")
    overrides = {o["Name"]: o["ActionToUse"] for o in
                 common["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"]}
    assert overrides["SizeRestrictions_BODY"] == {"Count": {}}
    names = [r["Name"] for r in _rules()]
    assert {"AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesKnownBadInputsRuleSet"} <= set(names)
    assert [r["Priority"] for r in _rules()] == list(range(len(names)))


def test_limits_below_the_waf_minimum_are_refused():
    too_low = SimpleNamespace(login_per_minute=5, api_per_minute=600, webhook_per_minute=1200)
    with pytest.raises(ValueError, match="minimum"):
        alb.rate_rules(routes(), too_low)


def test_web_acl_request_is_valid_for_the_real_wafv2_api_model():
    """The CreateWebACL request these rules make, validated by botocore against AWS's own service model."""
    botocore = pytest.importorskip("botocore.session")
    from botocore.validate import ParamValidator

    model = botocore.get_session().get_service_model("wafv2").operation_model("CreateWebACL")
    for cidrs in ((), ("arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/a/1",
                       "arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/b/2")):
        params = {"Name": "n8n", "Scope": "REGIONAL", "DefaultAction": {"Allow": {}}, "Rules": _rules(cidrs),
                  "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                                       "MetricName": "n8n"},
                  "CustomResponseBodies": alb.custom_response_bodies()}
        report = ParamValidator().validate(params, model.input_shape)
        assert not report.has_errors(), report.generate_report()


def test_waf_logs_redact_credentials_and_use_the_log_prefix():
    assert set(alb.REDACTED_HEADERS) == {"authorization", "cookie"}
    assert alb.WAF_LOG_PREFIX == "aws-waf-logs-"
    assert alb.split_cidrs(["10.0.0.0/8", "2001:db8::/32"]) == (["10.0.0.0/8"], ["2001:db8::/32"])
