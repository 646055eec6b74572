"""Edge (``n8n:index:Edge``): how users reach n8n. A thin component over :mod:`.routes`, :mod:`.alb` and
:mod:`.gateway`: it registers their objects, the AWS side of the ALB edge (WAFv2 web ACL and its logging, an ACM
certificate and Route 53 records when a zone is given), and the network policy that admits exactly the edge's
traffic to n8n's port.
"""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads the Args annotations at run time.
import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from .. import k8s, names
from ..arguments import (
    cidr,
    dns_label,
    flag,
    hostname,
    known,
    member,
    object_name,
    one_of,
    plain,
    refuse,
    required,
    string,
    structured,
    waits_for,
    whole,
)
from ..namespace import components_selector, ip_block
from . import alb, gateway
from .routes import Endpoints, public_url, routes
from .spec import EdgeController, EdgeControllerArg, EdgeOidc, EdgeRateLimits, alb_certificate_problem

EDGE_PODS = ("main", "webhook")
"""n8n components the edge forwards to."""
WAF_LOG_RETENTION_DAYS = 90
CHECKOV_SKIPS = {
    ("aws:route53/record:Record#-alias-a", "CKV2_AWS_23"): "the alias targets the ALB that the AWS Load Balancer "
    "Controller creates from the edge's Ingress: a real load balancer, only not a resource of this program",
}
"""checkov Terraform checks the edge's DNS record fails by design (edge.zoneId), with why (tools/ci/tfplan.py)."""
PLAIN = ("namespace", "hostname", "controller", "services", "webhook_processors", "editor_allowed_cidrs",
         "idle_timeout_seconds", "deregistration_delay_seconds", "waf", "zone_id", "source_cidrs", "subnet_ids",
         "gateway_name", "region", "partition", "protect")
"""Args the edge names objects with or computes with: an Output there fails at once, naming the argument."""


def network_policy(namespace: str, peers: list[dict[str, Any]]) -> dict[str, Any]:
    """Admit ``peers`` (the ALB's subnets, or the gateway's proxy pods) to main and webhook on n8n's port only."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": k8s.metadata("edge-ingress", namespace, "network-policy"),
            "spec": {"podSelector": components_selector(EDGE_PODS), "policyTypes": ["Ingress"],
                     "ingress": [{"from": peers, "ports": [{"protocol": "TCP", "port": names.N8N_PORT}]}]}}


def alb_peers(cidrs: Sequence[str]) -> list[dict[str, Any]]:
    """ipBlocks of the ALB's subnets (IP targets: the ALB's nodes connect to pod IPs from there)."""
    for c in cidrs:
        ipaddress.ip_network(c)
    return [ip_block(c) for c in cidrs]


class EdgeArgs(TypedDict):
    """What the front door is built from (plain values from the settings, Service names from N8nApp).

    Needs first: the controller (AWS Load Balancer Controller, or Envoy Gateway and cert-manager) and the n8n
    Services. Pass those resources in ``opts.depends_on``: every Kubernetes object of the edge waits for them.
    """

    namespace: str
    """Namespace of n8n's Services; the Ingresses, routes and policies go there."""
    hostname: str
    """Public hostname of the editor and webhooks."""
    controller: EdgeControllerArg
    """``alb`` (AWS Load Balancer Controller + WAF) or ``gateway`` (Gateway API, Envoy Gateway)."""
    services: dict[str, str]
    """Service per backend: ``main`` and, with webhook processors, ``webhook``."""
    webhook_processors: bool
    """Webhook processors run: production webhook families go to them, else to main."""
    rate_limits: EdgeRateLimits
    """Requests per client IP and minute, per path family."""
    editor_allowed_cidrs: list[str]
    """CIDRs allowed to the editor, REST and API (empty: everyone); webhook families stay open."""
    idle_timeout_seconds: int
    """Load balancer idle timeout."""
    deregistration_delay_seconds: int
    """ALB target deregistration delay (see ``alb.deregistration_delay``)."""
    endpoints: NotRequired[Endpoints]
    """n8n's path segments when overridden (``N8N_ENDPOINT_*``); default n8n's."""
    waf: NotRequired[bool]
    """``alb``: create and associate the WAFv2 web ACL (rate limits, managed rules, allow-list)."""
    certificate_arn: NotRequired[pulumi.Input[str] | None]
    """``alb``: ACM certificate; None with ``zone_id`` to request one."""
    zone_id: NotRequired[str | None]
    """``alb``: Route 53 zone for certificate validation and the alias record."""
    oidc: NotRequired[EdgeOidc | None]
    """``alb``: the OpenID Connect provider guarding the editor Ingress; omitted or None: none."""
    oidc_client_secret: NotRequired[pulumi.Input[str] | None]
    """Client secret of ``oidc`` (kept secret)."""
    source_cidrs: NotRequired[list[str]]
    """``alb``: CIDRs of the ALB's subnets, the only sources admitted to n8n's port."""
    subnet_ids: NotRequired[list[str]]
    """``alb``: ALB subnets (empty: the controller's discovery)."""
    gateway_name: NotRequired[str]
    """``gateway``: name of the Gateway (the ACME solver attaches to it)."""
    region: NotRequired[str]
    """``alb``: AWS region (WAF log key policy)."""
    partition: NotRequired[str]
    """``alb``: AWS partition."""
    tags: NotRequired[dict[str, str]]
    """AWS tags of the ALB, web ACL and log group."""
    protect: NotRequired[bool]
    """Deletion protection on the ALB and protection of the WAF log key."""


def edge_args(given: EdgeArgs) -> EdgeArgs:
    """``given`` with every argument checked where it enters (each error naming Edge, the argument, the value and
    what is allowed), the controller as its enum member and the structured ones as their dataclasses."""
    where = "Edge"
    known(where, given, EdgeArgs)
    args: dict[str, Any] = dict(given)
    for key in EdgeArgs.__required_keys__:
        required(where, args, key)
    for key in PLAIN:
        plain(where, key, args.get(key))
    args["controller"] = member(where, "controller", args["controller"], EdgeController)
    dns_label(where, "namespace", args["namespace"])
    hostname(where, "hostname", args["hostname"])
    for key in ("webhook_processors", "waf", "protect"):
        if args.get(key) is not None:
            flag(where, key, args[key])
    services = args["services"]
    if not isinstance(services, Mapping):
        raise refuse(where, "services", services, "a mapping of role (main, webhook) to Service name", TypeError)
    for role, service in services.items():
        object_name(where, f"services.{role}", service)
    missing = ({"main", "webhook"} if args["webhook_processors"] else {"main"}) - set(services)
    if missing:
        raise refuse(where, "services", dict(services), f"a mapping with the Service names for {sorted(missing)} too")
    for key in ("editor_allowed_cidrs", "source_cidrs"):
        values = args.get(key) or []
        if not isinstance(values, (list, tuple)):
            raise refuse(where, key, values, "a list of CIDRs", TypeError)
        for i, c in enumerate(values):
            cidr(where, f"{key}[{i}]", c)
    whole(where, "idle_timeout_seconds", args["idle_timeout_seconds"], 1, 4000)
    whole(where, "deregistration_delay_seconds", args["deregistration_delay_seconds"], 0, 3600)
    if args.get("gateway_name") is not None:
        dns_label(where, "gateway_name", args["gateway_name"])
    if args.get("region"):
        string(where, "region", args["region"], r"[a-z]{2}(-[a-z]+)+-[0-9]+", "an AWS region such as eu-west-1")
    if args.get("partition") is not None:
        one_of(where, "partition", args["partition"], ("aws", "aws-cn", "aws-us-gov"))
    if args.get("zone_id"):
        string(where, "zone_id", args["zone_id"], r"Z[A-Z0-9]{1,31}",
               "a Route 53 hosted zone id such as Z0123456789ABC")
    subnets = args.get("subnet_ids") or []
    if not isinstance(subnets, (list, tuple)):
        raise refuse(where, "subnet_ids", subnets, "a list of subnet ids", TypeError)
    tags = args.get("tags")
    if tags is not None and (not isinstance(tags, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in tags.items())):
        raise refuse(where, "tags", tags, "a mapping of strings to strings", TypeError)
    why = alb_certificate_problem(args.get("certificate_arn"), args.get("zone_id"))
    if args["controller"] == "alb" and why:
        raise ValueError(f"{where}: controller 'alb': {why}: set certificate_arn, or zone_id to have one requested")
    args["rate_limits"] = structured(where, "rate_limits", EdgeRateLimits, args["rate_limits"])
    if args.get("oidc") is not None:
        args["oidc"] = structured(where, "oidc", EdgeOidc, args["oidc"])
    if args.get("endpoints") is not None:
        args["endpoints"] = structured(where, "endpoints", Endpoints, args["endpoints"])
    return args  # type: ignore[return-value]


class Edge(pulumi.ComponentResource):
    """The front door of n8n: TLS, per-path routing from one route table, per-client-IP rate limits answering 429,
    the editor behind an allow-list and optional OIDC, ``/metrics`` refused, and the network policy admitting the
    edge's traffic to main and webhook processors."""

    url: pulumi.Output[str]
    """Public URL of n8n."""
    address: pulumi.Output[str]
    """DNS name of the ALB, or the Gateway's address (empty until the controller reports it)."""
    web_acl_arn: pulumi.Output[str] | None
    """ARN of the WAFv2 web ACL (``alb`` with ``waf``), else None."""

    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("n8n:index:Edge", name, None, opts)
        args = edge_args(args)
        controller = args["controller"]
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)
        # The component's own depends_on reaches every Kubernetes object (children do not inherit it).
        self._after = pulumi.ResourceOptions(parent=self, depends_on=waits_for("Edge", opts))
        table = routes(args.get("endpoints") or Endpoints(), args["webhook_processors"])
        self.web_acl_arn = None
        if controller == "alb":
            self.address = self._alb(args, table)
        else:
            self.address = self._gateway(args, table)
        self.url = pulumi.Output.from_input(public_url(args["hostname"]))
        self.register_outputs({"url": self.url, "address": self.address, "web_acl_arn": self.web_acl_arn})

    # --- alb --------------------------------------------------------------------------------------------------------

    def _alb(self, args: EdgeArgs, table: Any) -> pulumi.Output[str]:
        name, ns = self._name, args["namespace"]
        if not args.get("source_cidrs"):
            raise ValueError("Edge controller 'alb' needs source_cidrs (the ALB subnets' CIDRs) for its network policy")
        certificate = args.get("certificate_arn") or None
        if certificate is None:
            certificate = self._certificate(args)
        if args.get("waf", True):
            self.web_acl_arn = self._web_acl(args, table)
        oidc_secret = None
        if args.get("oidc") is not None:
            secret = args.get("oidc_client_secret")
            if secret is None:
                raise ValueError("Edge OIDC needs oidc_client_secret")
            oidc_secret = "n8n-edge-oidc"
            # The provider marks the whole stringData secret: place both values as secrets so no plan file shows one.
            k8s.apply(name, alb.oidc_secret(oidc_secret, ns, pulumi.Output.secret(args["oidc"].client_id),
                                            pulumi.Output.secret(secret)), self._after)
        spec = alb.AlbSpec(
            namespace=ns, hostname=args["hostname"], group=f"n8n-{ns}"[:63], services=args["services"],
            certificate_arn=certificate, idle_timeout_seconds=args["idle_timeout_seconds"],
            deregistration_delay_seconds=args["deregistration_delay_seconds"], web_acl_arn=self.web_acl_arn,
            oidc_secret=oidc_secret, oidc=args.get("oidc"), subnet_ids=tuple(args.get("subnet_ids") or ()),
            deletion_protection=bool(args.get("protect")), tags=args.get("tags") or None)
        created = k8s.apply_all(name, alb.ingresses(table, spec), self._after)
        k8s.apply(name, network_policy(ns, alb_peers(args["source_cidrs"])), self._child)
        address = created[-1].status.apply(_load_balancer_hostname)
        if args.get("zone_id"):
            self._alias(args, address)
        return address

    def _certificate(self, args: EdgeArgs) -> pulumi.Output[str]:

        cert = aws.acm.Certificate(f"{self._name}-certificate", domain_name=args["hostname"],
                                   validation_method="DNS", tags=args.get("tags") or None, opts=self._child)
        option = cert.domain_validation_options[0]
        record = aws.route53.Record(f"{self._name}-certificate-validation", zone_id=args["zone_id"],
                                    name=option.resource_record_name, type=option.resource_record_type,
                                    records=[option.resource_record_value], ttl=300, allow_overwrite=True,
                                    opts=self._child)
        validation = aws.acm.CertificateValidation(f"{self._name}-certificate-validated",
                                                   certificate_arn=cert.arn, validation_record_fqdns=[record.fqdn],
                                                   opts=self._child)
        return validation.certificate_arn

    def _alias(self, args: EdgeArgs, address: pulumi.Output[str]) -> None:

        zone = aws.lb.get_hosted_zone_id_output(region=args.get("region"), load_balancer_type="application",
                                                 opts=pulumi.InvokeOutputOptions(parent=self))
        aws.route53.Record(f"{self._name}-alias-a", zone_id=args["zone_id"], name=args["hostname"], type="A",
                           allow_overwrite=False,
                           aliases=[{"name": address, "zone_id": zone.id, "evaluate_target_health": True}],
                           opts=self._child)

    def _web_acl(self, args: EdgeArgs, table: Any) -> pulumi.Output[str]:

        name, tags = self._name, args.get("tags") or None
        v4, v6 = alb.split_cidrs(args["editor_allowed_cidrs"])
        sets = []
        for version, cidrs in (("IPV4", v4), ("IPV6", v6)):
            if cidrs:
                sets.append(aws.wafv2.IpSet(f"{name}-editor-{version.lower()}", scope="REGIONAL",
                                            ip_address_version=version, addresses=cidrs, tags=tags,
                                            description="Sources allowed to the n8n editor, REST and API",
                                            opts=self._child).arn)
        rules = alb.web_acl_rules(table, args["rate_limits"], sets)
        acl = aws.wafv2.WebAcl(
            f"{name}-web-acl", scope="REGIONAL", description=f"n8n edge for {args['hostname']}",
            default_action={"allow": {}},
            rule_json=pulumi.Output.json_dumps(rules),
            custom_response_bodies=[{"key": k, "content_type": v["ContentType"], "content": v["Content"]}
                                    for k, v in alb.custom_response_bodies().items()],
            visibility_config={"cloudwatch_metrics_enabled": True, "metric_name": f"{name}-web-acl",
                               "sampled_requests_enabled": True},
            tags=tags, opts=self._child)
        self._waf_logging(args, acl)
        return acl.arn

    def _waf_logging(self, args: EdgeArgs, acl: Any) -> None:

        name, region, partition = self._name, args.get("region") or "", args.get("partition") or "aws"
        if not region:
            raise ValueError("Edge WAF logging needs region")
        log_name = f"{alb.WAF_LOG_PREFIX}{pulumi.get_project()}-{pulumi.get_stack()}-{name}"
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        pattern = pulumi.Output.concat(f"arn:{partition}:logs:{region}:", account, f":log-group:{log_name}")
        key = aws.kms.Key(f"{name}-waf-logs-key", description=f"WAF logs of {args['hostname']}",
                          enable_key_rotation=True, deletion_window_in_days=30,
                          policy=pulumi.Output.json_dumps(alb.log_key_policy(account, region, partition, pattern)),
                          tags=args.get("tags") or None,
                          opts=pulumi.ResourceOptions(parent=self, protect=bool(args.get("protect")),
                                                      retain_on_delete=True))
        group = aws.cloudwatch.LogGroup(f"{name}-waf-logs", name=log_name, kms_key_id=key.arn,
                                        retention_in_days=WAF_LOG_RETENTION_DAYS, tags=args.get("tags") or None,
                                        opts=self._child)
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-waf-logging", resource_arn=acl.arn, log_destination_configs=[group.arn],
            redacted_fields=[{"single_header": {"name": h}} for h in alb.REDACTED_HEADERS], opts=self._child)

    # --- gateway ----------------------------------------------------------------------------------------------------

    def _gateway(self, args: EdgeArgs, table: Any) -> pulumi.Output[str]:
        name, ns = self._name, args["namespace"]
        spec = gateway.GatewaySpec(namespace=ns, name=args.get("gateway_name") or "n8n",
                                   gateway_class=f"n8n-{ns}", hostname=args["hostname"], services=args["services"],
                                   idle_timeout_seconds=args["idle_timeout_seconds"])
        rendered = gateway.manifests(table, spec, args["rate_limits"], args["editor_allowed_cidrs"])
        created = k8s.apply_all(name, rendered, self._after)
        gw = next((r for m, r in zip(rendered, created, strict=True) if m["kind"] == "Gateway"), None)
        k8s.apply(name, network_policy(ns, [gateway.proxy_selector(spec)]), self._child)
        return pulumi.Output.from_input(getattr(gw, "status", None)).apply(_gateway_address)


def _load_balancer_hostname(status: Any) -> str:
    """The ALB's DNS name from the Ingress status ('' until the controller has provisioned it)."""
    if status is None:
        return ""
    balancer = status.get("loadBalancer") if isinstance(status, dict) else getattr(status, "load_balancer", None)
    entries = (balancer.get("ingress") if isinstance(balancer, dict) else getattr(balancer, "ingress", None)) or []
    if not entries:
        return ""
    first = entries[0]
    return (first.get("hostname") if isinstance(first, dict) else getattr(first, "hostname", None)) or ""


def _gateway_address(status: Any) -> str:
    """The Gateway's first address ('' until the implementation reports one)."""
    addresses = (status or {}).get("addresses") if isinstance(status, dict) else None
    return (addresses[0].get("value") or "") if addresses else ""


__all__ = ["Edge", "EdgeArgs"]
