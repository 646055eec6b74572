"""The Edge component under the mock runtime: what it registers for each controller, parented to itself, and the
network policy that admits exactly the edge's traffic."""

from __future__ import annotations

import json

import pytest

from n8n_platform.edge.component import Edge, EdgeArgs, EdgeOidc, EdgeRateLimits, alb_peers, network_policy
from tests.harness import manifest, run

OIDC = EdgeOidc(issuer="https://idp.example.com", authorization_endpoint="https://idp.example.com/a",
                    token_endpoint="https://idp.example.com/t", user_info_endpoint="https://idp.example.com/u",
                    client_id="n8n")


def args(**over) -> EdgeArgs:
    base = EdgeArgs(namespace="n8n", hostname="n8n.example.com", controller="alb",
                    services={"main": "n8n-main", "webhook": "n8n-webhook"}, webhook_processors=True,
                    rate_limits=EdgeRateLimits(), editor_allowed_cidrs=["203.0.113.0/24", "2001:db8::/32"],
                    idle_timeout_seconds=300, deregistration_delay_seconds=70, waf=True,
                    certificate_arn="arn:aws:acm:eu-west-1:123456789012:certificate/abc", source_cidrs=["10.0.0.0/16"],
                    region="eu-west-1", partition="aws", tags={"env": "test"})
    base.update(over)
    return base


def kinds(rec, parent="edge"):
    """Types of the resources parented to the component (every child must be)."""
    assert all(r.parent == parent for r in rec.resources if r.type != "n8n:index:Edge"), "a child escaped"
    return sorted(r.type for r in rec.resources if r.parent == parent)


def test_alb_with_waf_registers_ingresses_acl_logging_and_policy_under_the_component():
    rec = run(lambda: Edge("edge", args()))
    assert rec.one("n8n:index:Edge", "edge")
    assert kinds(rec) == sorted([
        "aws:cloudwatch/logGroup:LogGroup", "aws:kms/key:Key", "aws:wafv2/ipSet:IpSet", "aws:wafv2/ipSet:IpSet",
        "aws:wafv2/webAcl:WebAcl", "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
        "kubernetes:networking.k8s.io/v1:Ingress", "kubernetes:networking.k8s.io/v1:Ingress",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy"])
    acl = rec.one("aws:wafv2/webAcl:WebAcl")
    rules = json.loads(acl.inputs["ruleJson"])
    assert [r["Name"] for r in rules][:2] == ["AWSManagedRulesAmazonIpReputationList", "editor-allow-list"]
    logging = rec.one("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
    assert [f["singleHeader"]["name"] for f in logging.inputs["redactedFields"]] == ["authorization", "cookie"]
    group = rec.one("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["name"].startswith("aws-waf-logs-") and group.inputs["kmsKeyId"]
    key_policy = json.loads(rec.one("aws:kms/key:Key").inputs["policy"])
    assert any(s["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"} for s in key_policy["Statement"])
    ingress = manifest(rec.find("kubernetes:networking.k8s.io/v1:Ingress")[0])
    assert ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/wafv2-acl-arn"].startswith("arn:aws:wafv2")


def test_dev_alb_without_waf_registers_no_aws_resources():
    rec = run(lambda: Edge("edge", args(waf=False, editor_allowed_cidrs=[])))
    assert not [t for t in kinds(rec) if t.startswith("aws:")]
    for r in rec.find("kubernetes:networking.k8s.io/v1:Ingress"):
        assert "alb.ingress.kubernetes.io/wafv2-acl-arn" not in manifest(r)["metadata"]["annotations"]


def test_zone_requests_a_validated_certificate_and_an_alias():
    rec = run(lambda: Edge("edge", args(certificate_arn=None, zone_id="Z0123456789ABC", waf=False,
                                        editor_allowed_cidrs=[])))
    assert rec.one("aws:acm/certificate:Certificate").inputs["validationMethod"] == "DNS"
    assert rec.one("aws:acm/certificateValidation:CertificateValidation")
    records = rec.find("aws:route53/record:Record")
    alias = next(r for r in records if r.inputs.get("aliases"))
    assert alias.inputs["name"] == "n8n.example.com" and alias.inputs["type"] == "A"
    assert alias.inputs["aliases"][0]["zoneId"] == "Z32O12XQLNTSW2"


def test_oidc_client_secret_stays_secret_and_guards_only_the_editor():
    rec = run(lambda: Edge("edge", args(oidc=OIDC, oidc_client_secret="very-secret-value")))
    secret = rec.one("kubernetes:core/v1:Secret")
    assert "very-secret-value" not in json.dumps(manifest(secret), default=str)
    by_name = {manifest(r)["metadata"]["name"]: manifest(r)["metadata"]["annotations"]
               for r in rec.find("kubernetes:networking.k8s.io/v1:Ingress")}
    assert by_name["n8n-editor"]["alb.ingress.kubernetes.io/auth-type"] == "oidc"
    assert "alb.ingress.kubernetes.io/auth-type" not in by_name["n8n-public"]


def test_gateway_registers_gateway_api_objects_and_admits_only_its_proxies():
    rec = run(lambda: Edge("edge", args(controller="gateway", certificate_arn=None, gateway_name="n8n")))
    registered = {r.type for r in rec.resources}
    assert "kubernetes:gateway.networking.k8s.io/v1:Gateway" in registered
    assert "kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy" in registered
    assert not [t for t in registered if t.startswith("aws:") or t.endswith(":Ingress")]
    policies = {manifest(r)["metadata"]["name"]: manifest(r)
                for r in rec.find("kubernetes:networking.k8s.io/v1:NetworkPolicy")}
    assert set(policies) == {"edge-ingress", "edge-acme-solver"}
    (peer,) = policies["edge-ingress"]["spec"]["ingress"][0]["from"]
    assert peer["podSelector"]["matchLabels"]["gateway.envoyproxy.io/owning-gateway-name"] == "n8n"


def test_network_policy_admits_the_alb_subnets_to_n8n_only():
    policy = network_policy("n8n", alb_peers(["10.0.0.0/24", "10.0.1.0/24"]))
    spec = policy["spec"]
    assert spec["policyTypes"] == ["Ingress"]
    assert spec["podSelector"]["matchExpressions"][0]["values"] == ["main", "webhook"]
    assert spec["ingress"] == [{"from": [{"ipBlock": {"cidr": "10.0.0.0/24"}}, {"ipBlock": {"cidr": "10.0.1.0/24"}}],
                                "ports": [{"protocol": "TCP", "port": 5678}]}]


@pytest.mark.parametrize(("over", "message"), [
    ({"controller": "nginx"}, "must be 'alb' or 'gateway'"),
    ({"services": {"main": "n8n-main"}}, "Service names for \\['webhook'\\]"),
    ({"certificate_arn": None}, "an ACM certificate: set certificate_arn, or zone_id"),
    ({"source_cidrs": []}, "source_cidrs"),
    ({"oidc": OIDC}, "oidc_client_secret"),
])
def test_misuse_fails_loudly(over, message):
    with pytest.raises(Exception, match=message):
        run(lambda: Edge("edge", args(**over)))


def test_addresses_are_read_from_the_controllers_status():
    from n8n_platform.edge.component import _gateway_address, _load_balancer_hostname

    alb_dns = "k8s-n8n-0123456789-1234567890.eu-west-1.elb.amazonaws.com"
    assert _load_balancer_hostname({"loadBalancer": {"ingress": [{"hostname": alb_dns}]}}) == alb_dns
    assert _load_balancer_hostname({"loadBalancer": {}}) == "" and _load_balancer_hostname(None) == ""
    assert _gateway_address({"addresses": [{"type": "Hostname", "value": "gw.example.net"}]}) == "gw.example.net"
    assert _gateway_address(None) == ""


def test_opts_depends_on_reaches_every_kubernetes_object_of_the_edge():
    import pulumi
    import pulumi_kubernetes as kubernetes

    def program():
        controller = kubernetes.core.v1.Namespace("controller", metadata={"name": "kube-system"})
        Edge("edge", args(controller="gateway", certificate_arn=None, gateway_name="n8n"),
             pulumi.ResourceOptions(depends_on=[controller]))

    rec = run(program)
    gateway_objects = [r for r in rec.resources if r.parent == "edge" and r.type.startswith("kubernetes:")
                       and not r.type.endswith("NetworkPolicy")]
    assert gateway_objects
    assert all("controller" in r.options["depends_on"] for r in gateway_objects)


def test_depends_on_inside_the_args_and_outputs_for_plain_values_fail_naming_them():
    import pulumi

    with pytest.raises(TypeError, match="unexpected argument 'depends_on'"):
        run(lambda: Edge("edge", args(depends_on=[])))
    with pytest.raises(TypeError, match="'hostname' must be a plain value"):
        run(lambda: Edge("edge", args(hostname=pulumi.Output.from_input("n8n.example.com"))))


def test_rate_limits_and_oidc_accept_the_mappings_other_languages_send():
    rec = run(lambda: Edge("edge", args(rate_limits={"login_per_minute": 20},
                                        oidc={**{k: getattr(OIDC, k) for k in ("issuer", "authorization_endpoint",
                                                                               "token_endpoint", "user_info_endpoint",
                                                                               "client_id")}},
                                        oidc_client_secret="very-secret-value")))
    rules = json.loads(rec.one("aws:wafv2/webAcl:WebAcl").inputs["ruleJson"])
    login = next(r for r in rules if r["Name"] == "rate-login")
    assert login["Statement"]["RateBasedStatement"]["Limit"] == 20
    editor = next(manifest(r) for r in rec.find("kubernetes:networking.k8s.io/v1:Ingress")
                  if manifest(r)["metadata"]["name"] == "n8n-editor")
    idp = json.loads(editor["metadata"]["annotations"]["alb.ingress.kubernetes.io/auth-idp-oidc"])
    assert idp["issuer"] == "https://idp.example.com"
    assert editor["metadata"]["annotations"]["alb.ingress.kubernetes.io/auth-scope"] == "openid email"
