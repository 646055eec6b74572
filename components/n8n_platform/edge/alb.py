"""Edge controller ``alb``: pure builders for the AWS Load Balancer Controller's Ingresses and the AWS WAFv2 web ACL.

**Ingress, not the controller's Gateway API.** The controller (chart 3.5.0) serves both, but every feature this edge
needs is a documented, generally available Ingress annotation: the WAFv2 association (``wafv2-acl-arn``, so the
stack never needs the ARN of an ALB the controller creates), ``authenticate-oidc`` per Ingress, fixed responses
(``actions.*``), one ALB shared by several Ingresses with an explicit rule order (``group.name``/``group.order``).
Its Gateway API support for ALBs sits behind feature gates and extra CRDs; the portable Gateway API edge is the
``gateway`` controller (:mod:`.gateway`).

Two Ingresses in one IngressGroup (one ALB): ``public`` (order 10: webhooks, forms, waiting and its Slack/Telegram
callbacks, MCP, test webhooks, the Chat Trigger's websocket, public API, instance MCP, the refused ``/metrics``) and
``editor`` (order 20: login, REST, push, the SPA catch-all ``/``), because the OIDC annotations apply per Ingress and
must never cover webhook paths. Paths are listed in the
route table's order (exact before prefix, the catch-all last).

Every annotation is checked by the tests against :data:`ANNOTATIONS`, the controller's documented names and value
shapes: a misspelt annotation is silently ignored by the controller.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pulumi

from .. import k8s, names
from .routes import Route, by_scope

PREFIX = "alb.ingress.kubernetes.io/"
ANNOTATIONS_SOURCE = ("kubernetes-sigs/aws-load-balancer-controller docs/guide/ingress/annotations.md "
                      "@ 00175c1e2943de94d08ee39fa33b112706573b26")
"""Where the names and value shapes of :data:`ANNOTATIONS` come from."""

_INT = r"[0-9]+"
_ARN = r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:.+"
_MAP = r"[A-Za-z0-9_.:/-]+=[^,]*(,[A-Za-z0-9_.:/-]+=[^,]*)*"
_LIST = r"[^,\s]+(,\s*[^,\s]+)*"

ANNOTATIONS: dict[str, str] = {
    "load-balancer-name": r"[A-Za-z0-9-]{1,32}",
    "group.name": r"[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?",
    "group.order": r"([1-9][0-9]{0,2}|1000)",
    "tags": _MAP,
    "ip-address-type": r"ipv4|dualstack",
    "scheme": r"internal|internet-facing",
    "subnets": _LIST,
    "load-balancer-attributes": _MAP,
    "wafv2-acl-arn": r"arn:aws[a-z-]*:wafv2:[a-z0-9-]+:[0-9]{12}:regional/webacl/.+",
    "listen-ports": r"json",
    "ssl-redirect": _INT,
    "certificate-arn": rf"{_ARN}(,{_ARN})*",
    "ssl-policy": r"ELBSecurityPolicy-[A-Za-z0-9-]+",
    "target-type": r"instance|ip",
    "backend-protocol": r"HTTP|HTTPS",
    "target-group-attributes": _MAP,
    "healthcheck-port": r"traffic-port|[0-9]+|[a-z][-a-z0-9]*",
    "healthcheck-protocol": r"HTTP|HTTPS",
    "healthcheck-path": r"/\S*",
    "healthcheck-interval-seconds": _INT,
    "healthcheck-timeout-seconds": _INT,
    "healthy-threshold-count": _INT,
    "unhealthy-threshold-count": _INT,
    "success-codes": r"[0-9]{3}([-,][0-9]{3})*",
    "auth-type": r"none|oidc|cognito",
    "auth-idp-oidc": r"json",
    "auth-on-unauthenticated-request": r"authenticate|allow|deny",
    "auth-scope": r"[a-z.]+( [a-z.]+)*",
    "auth-session-cookie": r"[A-Za-z0-9_-]+",
    "auth-session-timeout": _INT,
    "actions.*": r"json",
}
"""Every annotation this edge may write (name after :data:`PREFIX` -> value shape: a regular expression, or
``json`` for a JSON document), from the controller's documentation (:data:`ANNOTATIONS_SOURCE`)."""

OIDC_KEYS = frozenset({"issuer", "authorizationEndpoint", "tokenEndpoint", "userInfoEndpoint", "secretName",
                       "authenticationRequestExtraParams"})
"""Fields of the ``auth-idp-oidc`` JSON the controller documents."""

SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
"""TLS 1.3 with TLS 1.2 for older webhook callers; no TLS 1.0/1.1 (the AWS-recommended policy)."""
INGRESS_CLASS = "alb"
"""IngressClass the chart creates for the controller."""
REFUSE_ACTION = "refuse"
"""Annotation-defined action answering 404 at the ALB (``/metrics``)."""
HEALTH_CHECK = {"path": "/healthz/readiness", "interval": 10, "timeout": 5, "healthy": 2, "unhealthy": 3}
"""Target health: n8n's readiness (DB connected and migrated), every 10 s, 3 misses to drain a target."""
MAX_DEREGISTRATION_SECONDS = 3600


def annotation_problems(annotations: dict[str, str]) -> list[str]:
    """Names not in :data:`ANNOTATIONS` or values not of their documented shape (empty when all are fine)."""
    problems = []
    for key, value in annotations.items():
        if not key.startswith(PREFIX):
            continue
        name = key[len(PREFIX):]
        shape = ANNOTATIONS.get("actions.*" if name.startswith("actions.") else name)
        if shape is None:
            problems.append(f"{key}: not an annotation the controller documents")
        elif not isinstance(value, str):
            problems.append(f"{key}: value must be a string, got {type(value).__name__}")
        elif shape == "json":
            try:
                json.loads(value)
            except ValueError:
                problems.append(f"{key}: value is not JSON: {value!r}")
        elif not re.fullmatch(shape, value):
            problems.append(f"{key}: value {value!r} does not match {shape}")
    return problems


def deregistration_delay(prestop_seconds: int, graceful_shutdown_seconds: int) -> int:
    """Seconds the ALB lets in-flight requests finish on a deregistered target: as long as the pod still serves
    (its preStop sleep plus n8n's graceful shutdown), never longer."""
    return min(prestop_seconds + graceful_shutdown_seconds, MAX_DEREGISTRATION_SECONDS)


def _map(values: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in values.items())


@dataclass(frozen=True, kw_only=True)
class AlbSpec:
    """Plain inputs of the ALB Ingresses."""

    namespace: str
    """Namespace of n8n's Services (the Ingresses live there)."""
    hostname: str
    """Public hostname (the only host the rules answer)."""
    group: str
    """IngressGroup name: one ALB for both Ingresses."""
    services: dict[str, str]
    """Service name per backend (``main``, ``webhook``)."""
    certificate_arn: pulumi.Input[str]
    """ACM certificate of the HTTPS listener (placed as-is)."""
    idle_timeout_seconds: int
    """ALB idle timeout (the editor's websocket, slow synchronous webhooks)."""
    deregistration_delay_seconds: int
    """Target group deregistration delay (see :func:`deregistration_delay`)."""
    web_acl_arn: pulumi.Input[str] | None = None
    """WAFv2 web ACL associated with the ALB, or None."""
    oidc_secret: str | None = None
    """Name of the Secret with clientID/clientSecret, when OIDC guards the editor."""
    oidc: Any = None
    """settings.EdgeOidc, with ``oidc_secret``."""
    subnet_ids: tuple[str, ...] = ()
    """ALB subnets; empty: the controller's discovery."""
    deletion_protection: bool = False
    """Refuse to delete the ALB (prod)."""
    tags: dict[str, str] | None = None
    """AWS tags of the ALB and target groups."""


def load_balancer_annotations(spec: AlbSpec) -> dict[str, pulumi.Input[str]]:
    """Annotations shared by both Ingresses (identical values, as the controller asks of exclusive ones)."""
    out: dict[str, pulumi.Input[str]] = {
        "group.name": spec.group,
        "scheme": "internet-facing",
        "target-type": "ip",
        "ip-address-type": "ipv4",
        "listen-ports": json.dumps([{"HTTP": 80}, {"HTTPS": 443}]),
        "ssl-redirect": "443",
        "certificate-arn": spec.certificate_arn,
        "ssl-policy": SSL_POLICY,
        "load-balancer-attributes": _map({
            "idle_timeout.timeout_seconds": spec.idle_timeout_seconds,
            "routing.http.drop_invalid_header_fields.enabled": "true",
            "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "true",
            "deletion_protection.enabled": str(spec.deletion_protection).lower(),
        }),
        "target-group-attributes": _map({
            "deregistration_delay.timeout_seconds": spec.deregistration_delay_seconds,
        }),
        "backend-protocol": "HTTP",
        "healthcheck-protocol": "HTTP",
        "healthcheck-port": "traffic-port",
        "healthcheck-path": HEALTH_CHECK["path"],
        "healthcheck-interval-seconds": str(HEALTH_CHECK["interval"]),
        "healthcheck-timeout-seconds": str(HEALTH_CHECK["timeout"]),
        "healthy-threshold-count": str(HEALTH_CHECK["healthy"]),
        "unhealthy-threshold-count": str(HEALTH_CHECK["unhealthy"]),
        "success-codes": "200",
    }
    if spec.web_acl_arn is not None:
        out["wafv2-acl-arn"] = spec.web_acl_arn
    if spec.subnet_ids:
        out["subnets"] = ",".join(spec.subnet_ids)
    if spec.tags:
        out["tags"] = _map(spec.tags)
    return {PREFIX + k: v for k, v in out.items()}


def oidc_annotations(spec: AlbSpec) -> dict[str, str]:
    """authenticate-oidc on the editor Ingress (an unauthenticated browser is sent to the provider)."""
    o = spec.oidc
    return {PREFIX + k: v for k, v in {
        "auth-type": "oidc",
        "auth-idp-oidc": json.dumps({"issuer": o.issuer, "authorizationEndpoint": o.authorization_endpoint,
                                     "tokenEndpoint": o.token_endpoint, "userInfoEndpoint": o.user_info_endpoint,
                                     "secretName": spec.oidc_secret}),
        "auth-on-unauthenticated-request": "authenticate",
        "auth-scope": o.scope,
        "auth-session-cookie": "n8n-edge-auth",
        "auth-session-timeout": str(o.session_timeout_seconds),
    }.items()}


def _path(route: Route, spec: AlbSpec) -> dict[str, Any]:
    if route.backend == "refused":
        backend = {"service": {"name": REFUSE_ACTION, "port": {"name": "use-annotation"}}}
    else:
        backend = {"service": {"name": spec.services[route.backend], "port": {"number": names.N8N_PORT}}}
    return {"path": route.path, "pathType": "Exact" if route.match == "exact" else "Prefix", "backend": backend}


PUBLIC_SCOPES = ("refused", "webhook", "api")
EDITOR_SCOPES = ("login", "editor")


def ingresses(table: tuple[Route, ...], spec: AlbSpec) -> list[dict[str, Any]]:
    """The ``public`` and ``editor`` Ingresses of one ALB, from the route table."""
    shared = load_balancer_annotations(spec)
    out = []
    for name, order, scopes in (("public", 10, PUBLIC_SCOPES), ("editor", 20, EDITOR_SCOPES)):
        routes = [r for r in table if r.scope in scopes]
        annotations = {**shared, PREFIX + "group.order": str(order)}
        if any(r.backend == "refused" for r in routes):
            annotations[PREFIX + f"actions.{REFUSE_ACTION}"] = json.dumps({
                "type": "fixed-response",
                "fixedResponseConfig": {"contentType": "text/plain", "statusCode": "404",
                                        "messageBody": "not found"}})
        if name == "editor" and spec.oidc is not None:
            annotations.update(oidc_annotations(spec))
        out.append({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": k8s.metadata(f"n8n-{name}", spec.namespace, "edge", annotations=annotations),
            "spec": {"ingressClassName": INGRESS_CLASS, "rules": [{
                "host": spec.hostname, "http": {"paths": [_path(r, spec) for r in routes]}}]},
        })
    return out


def oidc_secret(name: str, namespace: str, client_id: pulumi.Input[str],
                client_secret: pulumi.Input[str]) -> dict[str, Any]:
    """The Secret the controller reads the OIDC client from (``clientID``/``clientSecret``)."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": k8s.metadata(name, namespace, "edge"),
            "stringData": {"clientID": client_id, "clientSecret": client_secret}}


# --- AWS WAFv2 --------------------------------------------------------------------------------------------------------

WINDOW_SECONDS = 60
"""Evaluation window of every rate-based rule: limits are per client IP per minute."""
WAF_MIN_LIMIT = 10
"""The smallest limit AWS WAF accepts in a rate-based rule."""
RATE_LIMITED = "rate-limited"
"""Custom response body key answered with status 429."""

MANAGED_RULE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("AWSManagedRulesAmazonIpReputationList", ()),
    ("AWSManagedRulesKnownBadInputsRuleSet", ()),
    ("AWSManagedRulesCommonRuleSet", (
        "SizeRestrictions_BODY",        # webhooks and workflow saves carry bodies far above its 8 KB
        "CrossSiteScripting_BODY",      # workflows, Code nodes and HTML templates are saved through /rest
        "GenericLFI_BODY", "GenericRFI_BODY", "EC2MetaDataSSRF_BODY",  # URLs and paths in workflow JSON
        "NoUserAgent_HEADER",           # many webhook senders send no User-Agent
    )),
)
"""AWS managed rule groups (vendor AWS) and the rules of each overridden to COUNT (logged, never blocking)."""


def _visibility(metric: str) -> dict[str, Any]:
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": metric}


def _path_match(route: Route) -> list[dict[str, Any]]:
    """Byte-match statements for one route (a prefix matches the path itself and everything under it)."""
    def match(text: str, constraint: str) -> dict[str, Any]:
        return {"ByteMatchStatement": {"SearchString": text, "FieldToMatch": {"UriPath": {}},
                                       "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                                       "PositionalConstraint": constraint}}

    if route.match == "exact":
        return [match(route.path, "EXACTLY")]
    return [match(route.path, "EXACTLY"), match(route.path + "/", "STARTS_WITH")]


def _any(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return statements[0] if len(statements) == 1 else {"OrStatement": {"Statements": statements}}


def paths_statement(routes: tuple[Route, ...]) -> dict[str, Any]:
    """A statement true for requests to any of ``routes``."""
    return _any([s for r in routes for s in _path_match(r)])


def _block_429() -> dict[str, Any]:
    return {"Block": {"CustomResponse": {"ResponseCode": 429, "CustomResponseBodyKey": RATE_LIMITED,
                                         "ResponseHeaders": [{"Name": "retry-after", "Value": str(WINDOW_SECONDS)}]}}}


@dataclass(frozen=True)
class RateRule:
    """One per-client-IP rate limit scoped to a set of paths."""

    name: str
    limit: int
    """Requests per :data:`WINDOW_SECONDS` from one IP before it is answered 429."""
    scope: dict[str, Any]
    """Scope-down statement selecting the requests counted."""


def rate_rules(table: tuple[Route, ...], limits: Any) -> list[RateRule]:
    """The three rate limits of ``edge.rateLimits``: login and password reset (strict), webhooks, forms and MCP
    (loose), everything else (editor, REST, public API; medium). Raises when a limit is below WAF's minimum."""
    public = by_scope(table, "webhook")
    rules = [
        RateRule("rate-login", limits.login_per_minute, paths_statement(by_scope(table, "login"))),
        RateRule("rate-api", limits.api_per_minute, {"NotStatement": {"Statement": paths_statement(public)}}),
        RateRule("rate-webhook", limits.webhook_per_minute, paths_statement(public)),
    ]
    for r in rules:
        if r.limit * WINDOW_SECONDS // 60 < WAF_MIN_LIMIT:
            raise ValueError(f"{r.name}: {r.limit}/min is below AWS WAF's minimum of {WAF_MIN_LIMIT}")
    return rules


def web_acl_rules(table: tuple[Route, ...], limits: Any, allow_list_arns: list[pulumi.Input[str]]) -> list[dict]:
    """Rules of the web ACL in the WAFv2 API's JSON shape (what ``rule_json`` takes), in priority order:

    0. IP reputation (AWS managed); 1. the editor allow-list: requests from outside ``allow_list_arns`` (IP sets)
    to anything but the public families (webhooks, forms, waiting, MCP, test webhooks, ``/static``) are blocked,
    so new paths are protected by default; 2-4. rate limits answering 429; 5-6. known bad inputs and the common
    rule set with body rules counted (see :data:`MANAGED_RULE_GROUPS`).
    """
    rules: list[dict[str, Any]] = []

    def managed(name: str, counted: tuple[str, ...]) -> dict[str, Any]:
        group: dict[str, Any] = {"VendorName": "AWS", "Name": name}
        if counted:
            group["RuleActionOverrides"] = [{"Name": n, "ActionToUse": {"Count": {}}} for n in counted]
        return {"Name": name, "Priority": len(rules), "OverrideAction": {"None": {}},
                "Statement": {"ManagedRuleGroupStatement": group}, "VisibilityConfig": _visibility(name)}

    reputation, bad_inputs, common = MANAGED_RULE_GROUPS
    rules.append(managed(*reputation))
    if allow_list_arns:
        allowed = _any([{"IPSetReferenceStatement": {"ARN": arn}} for arn in allow_list_arns])
        rules.append({
            "Name": "editor-allow-list", "Priority": len(rules), "Action": {"Block": {}},
            "Statement": {"AndStatement": {"Statements": [
                {"NotStatement": {"Statement": allowed}},
                {"NotStatement": {"Statement": paths_statement(by_scope(table, "webhook"))}}]}},
            "VisibilityConfig": _visibility("editor-allow-list")})
    for r in rate_rules(table, limits):
        rules.append({
            "Name": r.name, "Priority": len(rules), "Action": _block_429(),
            "Statement": {"RateBasedStatement": {"Limit": r.limit * WINDOW_SECONDS // 60,
                                                 "EvaluationWindowSec": WINDOW_SECONDS,
                                                 "AggregateKeyType": "IP", "ScopeDownStatement": r.scope}},
            "VisibilityConfig": _visibility(r.name)})
    rules.append(managed(*bad_inputs))
    rules.append(managed(*common))
    return rules


def custom_response_bodies() -> dict[str, dict[str, str]]:
    """The 429 body the rate rules answer with (WAFv2 ``CustomResponseBodies``)."""
    return {RATE_LIMITED: {"ContentType": "TEXT_PLAIN", "Content": "rate limit exceeded, retry later"}}


REDACTED_HEADERS = ("authorization", "cookie")
"""Headers WAF logs never contain (n8n sessions, API keys in basic auth, OAuth bearer tokens)."""
WAF_LOG_PREFIX = "aws-waf-logs-"
"""WAF only logs to CloudWatch log groups whose name starts with this."""


def split_cidrs(cidrs: list[str]) -> tuple[list[str], list[str]]:
    """(IPv4, IPv6) CIDRs: a WAF IP set holds one address family."""
    v6 = [c for c in cidrs if ":" in c]
    return [c for c in cidrs if ":" not in c], v6


def log_key_policy(account_id: pulumi.Input[str], region: str, partition: str,
                   log_group_arn_pattern: pulumi.Input[str]) -> dict[str, Any]:
    """Key policy letting CloudWatch Logs encrypt the WAF log group (and only it) with the key."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "AccountAdmin", "Effect": "Allow",
         "Principal": {"AWS": pulumi.Output.concat(f"arn:{partition}:iam::", account_id, ":root")},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "CloudWatchLogs", "Effect": "Allow", "Principal": {"Service": f"logs.{region}.amazonaws.com"},
         "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
         "Resource": "*",
         "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_group_arn_pattern}}},
    ]}
