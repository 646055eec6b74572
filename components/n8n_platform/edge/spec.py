"""What the front door is asked to be: hostname, controller, TLS, rate limits, OIDC.

The ``edge`` section of the stack settings and the vocabulary of :class:`~n8n_platform.edge.component.Edge`;
its defaults are the platform's."""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads these annotations at run time
# (the components' Args use them); the settings parser reads them with typing.get_type_hints either way.
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from ..schema import Section, at_least, between, each, matches, non_empty, setting
from ..vocabulary import SUBNET_ID, cidr


@dataclass(frozen=True, kw_only=True)
class EdgeRateLimits(Section):
    """Per-client-IP request limits at the edge (AWS WAF rate-based rules, or Envoy Gateway local rate limits).

    AWS WAF counts per client IP over a one-minute window and cannot go below 10 requests in it."""

    webhook_per_minute: int = setting("Requests per minute per IP to webhooks, forms, waiting and MCP paths "
                                      "(production and test).", 1200, check=at_least(10))
    api_per_minute: int = setting("Requests per minute per IP to the editor, `/rest/`, `/api/` and the instance "
                                  "MCP server.", 600, check=at_least(10))
    login_per_minute: int = setting("Requests per minute per IP to `/rest/login` and the password-reset paths.", 10,
                                    check=at_least(10))


@dataclass(frozen=True, kw_only=True)
class EdgeOidc(Section):
    """An OpenID Connect provider the ALB authenticates editor users against (before n8n's own login); its client
    secret is the stack secret ``n8n:oidcClientSecret`` (Edge: ``oidc_client_secret``)."""

    issuer: str = setting("Issuer URL of the provider.", check=matches(r"https://\S+", "an https:// URL"))
    authorization_endpoint: str = setting("Authorization endpoint URL.", check=matches(r"https://\S+",
                                                                                        "an https:// URL"))
    token_endpoint: str = setting("Token endpoint URL.", check=matches(r"https://\S+", "an https:// URL"))
    user_info_endpoint: str = setting("User-info endpoint URL.", check=matches(r"https://\S+", "an https:// URL"))
    client_id: str = setting("Client id registered with the provider.", check=non_empty)
    scope: str = setting("Scopes requested.", "openid email", check=non_empty)
    session_timeout_seconds: int = setting("How long the ALB's session cookie stays valid.", 28800,
                                           check=between(60, 604800))


class EdgeController(StrEnum):
    """Which front door the edge builds."""

    ALB = "alb"
    """AWS Load Balancer Controller: an ALB with ACM TLS, optional WAF and OIDC."""
    GATEWAY = "gateway"
    """Gateway API (Envoy Gateway) with cert-manager certificates."""


EdgeControllerName = Literal["alb", "gateway"]
"""The values of :class:`EdgeController`, which Python callers may pass instead of the members (case-sensitive)."""
if TYPE_CHECKING:
    EdgeControllerArg = EdgeController | EdgeControllerName
else:  # Pulumi's schema analyzer supports no unions: it sees the enum
    EdgeControllerArg = EdgeController


class AcmeServer(StrEnum):
    """Let's Encrypt server of the public issuer."""

    STAGING = "staging"
    """Untrusted test certificates, generous rate limits (development)."""
    PRODUCTION = "production"
    """Trusted certificates."""


AcmeServerName = Literal["staging", "production"]
"""The values of :class:`AcmeServer`, which Python callers may pass instead of the members (case-sensitive)."""
if TYPE_CHECKING:
    AcmeServerArg = AcmeServer | AcmeServerName
else:  # Pulumi's schema analyzer supports no unions: it sees the enum
    AcmeServerArg = AcmeServer


@dataclass(frozen=True, kw_only=True)
class EdgeSettings(Section):
    """How n8n is reached: hostname, TLS and rate limits."""

    hostname: str = setting("Public hostname of n8n (editor and webhooks).", check=matches(
        r"([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}", "a fully qualified lowercase hostname"))
    controller: EdgeController = setting(
        "`alb` (AWS Load Balancer Controller, ACM, WAF) or `gateway` (Gateway API + cert-manager).", EdgeController.ALB)
    certificate_arn: str | None = setting("ACM certificate for the ALB (controller `alb`); or set `zoneId` and the "
                                          "stack requests one.", None,
                                          check=matches(r"arn:aws[a-z-]*:acm:.+", "an ACM certificate ARN"))
    zone_id: str | None = setting("Route 53 hosted zone of the hostname (controller `alb`): the stack requests an ACM "
                                  "certificate validated in it (unless `certificateArn` is set) and points an alias "
                                  "record at the ALB.", None,
                                  check=matches(r"Z[A-Z0-9]{1,31}", "a Route 53 hosted zone id such as Z0123456789ABC"))
    acme_server: AcmeServer = setting("Let's Encrypt server for cert-manager certificates.", AcmeServer.PRODUCTION)
    acme_email: str | None = setting("Contact e-mail for the ACME account.", None,
                                     check=matches(r"[^@\s]+@[^@\s]+", "an e-mail address"))
    waf: bool = setting("AWS WAF web ACL on the ALB: the rate limits, managed rule groups and the editor allow-list "
                        "(controller `alb`; the `gateway` controller enforces limits and allow-list itself).", True)
    editor_allowed_cidrs: list[str] = setting(
        "Source CIDRs allowed to reach the editor, `/rest/`, `/api/` and the instance MCP server (empty: all); "
        "webhooks and forms stay open.", [], check=each(cidr))
    rate_limits: EdgeRateLimits = setting("Per-IP rate limits.", EdgeRateLimits())
    oidc: EdgeOidc | None = setting("OpenID Connect login in front of the editor and `/rest/` (controller `alb`); "
                                        "never on webhook, form, MCP or public-API paths.", None)
    subnet_ids: list[str] = setting("Public subnets of the ALB (controller `alb`); empty: the controller discovers "
                                    "subnets tagged kubernetes.io/role/elb.", [], check=each(SUBNET_ID))
    subnet_cidrs: list[str] = setting("CIDRs of the ALB's subnets: the only sources the network policy admits to "
                                      "n8n's port (IP targets); empty: `cluster.vpcCidr`.", [], check=each(cidr))
    idle_timeout_seconds: int = setting("Load balancer idle timeout: longer than n8n's 60 s push ping, so the "
                                        "editor's websocket stays open, and than slow synchronous webhooks.", 300,
                                        check=between(61, 4000))


def alb_certificate_problem(certificate_arn: object, zone_id: object) -> str | None:
    """The ALB's TLS rule (the one place it is written): the ALB terminates TLS with an ACM certificate, given or
    requested in the hostname's Route 53 zone; the reason when neither is set."""
    return None if certificate_arn or zone_id else "the ALB terminates TLS with an ACM certificate"
