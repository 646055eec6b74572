"""IAM Roles for Service Accounts: one helper that makes a role trusted by exactly one Kubernetes service account.

Every component that needs AWS access (WAL-G, dumps, the load balancer controller) uses :func:`irsa_role`; the trust
policy is a pure builder so tests can check it names exactly one ``system:serviceaccount:<ns>:<sa>`` and the STS
audience.
"""

# No `from __future__ import annotations` here: these types are part of the component schema Pulumi's analyzer
# infers at run time.
import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from .arguments import string


@dataclass(frozen=True)
class OidcProvider:
    """The cluster's IAM OIDC identity provider, which IRSA roles trust."""

    arn: pulumi.Input[str]
    """ARN of the IAM OIDC provider (arn:aws:iam::<account>:oidc-provider/<issuer host and path>)."""
    issuer: pulumi.Input[str]
    """Issuer URL of the cluster (https://oidc.eks.<region>.amazonaws.com/id/<id>)."""

    def __post_init__(self) -> None:
        string("OidcProvider", "arn", self.arn, r"arn:aws[-a-z]*:iam::[0-9]{12}:oidc-provider/\S+",
               "the ARN of an IAM OIDC provider (arn:aws:iam::<account>:oidc-provider/<issuer>)", placed=True)
        string("OidcProvider", "issuer", self.issuer, r"https://\S+", "the cluster's https:// issuer URL",
               placed=True)


def trust_policy(provider_arn: str, issuer: str, namespace: str, service_account: str) -> dict[str, Any]:
    """Trust policy admitting only ``system:serviceaccount:<namespace>:<service_account>`` via STS web identity."""
    host = issuer.removeprefix("https://")
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                f"{host}:aud": "sts.amazonaws.com",
            }},
        }],
    }


def irsa_role(name: str, *, oidc: OidcProvider, namespace: str, service_account: str,
              policy: pulumi.Input[str], description: str, opts: pulumi.ResourceOptions) -> Any:
    """An IAM role assumable only by one service account, with one inline least-privilege ``policy`` (JSON).

    Registers ``<name>-role`` and ``<name>-policy`` with ``opts`` (pass the caller's child options).
    """

    assume = pulumi.Output.all(oidc.arn, oidc.issuer).apply(
        lambda a: json.dumps(trust_policy(a[0], a[1], namespace, service_account)))
    role = aws.iam.Role(f"{name}-role", assume_role_policy=assume, description=description,
                        max_session_duration=3600, opts=opts)
    aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy, opts=opts)
    return role


def service_account_annotations(role_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Annotations that bind a Kubernetes service account to an IRSA role."""
    return {"eks.amazonaws.com/role-arn": role_arn, "eks.amazonaws.com/sts-regional-endpoints": "true"}
