"""EKS rules: what a cluster the stack creates (``cluster.create``) must be.

Ported from compliance-policies' ``aws-eks-cluster-disallow-api-endpoint-public-access`` and
``...-enable-cluster-encryption-config`` (TypeScript only), plus control-plane logging.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .rule import Config, Knob, resource_rule

EKS = ("aws:eks/cluster:Cluster",)
Props = Mapping[str, Any]
OPEN = ("0.0.0.0/0", "::/0")


def _endpoint(props: Props, config: Config, _: Any) -> Iterator[str]:
    vpc = props.get("vpcConfig") or {}
    if vpc.get("endpointPublicAccess") is False:
        return
    sources = vpc.get("publicAccessCidrs") or []
    if not sources:  # EKS opens a public endpoint to 0.0.0.0/0 unless told otherwise
        yield "the API endpoint is public to the whole internet (vpcConfig.endpointPublicAccess not false, no " \
              "publicAccessCidrs)"
    open_to = [s for s in sources if s in OPEN]
    if open_to:
        yield f"the public API endpoint admits {', '.join(open_to)} (vpcConfig.publicAccessCidrs)"
    if not vpc.get("endpointPrivateAccess"):
        yield "nodes reach the API only over the internet (vpcConfig.endpointPrivateAccess off)"


def _secrets_encrypted(props: Props, config: Config, _: Any) -> Iterator[str]:
    encryption = props.get("encryptionConfig") or {}
    if "secrets" not in (encryption.get("resources") or []) or not (encryption.get("provider") or {}).get("keyArn"):
        yield "Kubernetes secrets are not envelope-encrypted with a KMS key (encryptionConfig)"


def _logging(props: Props, config: Config, _: Any) -> Iterator[str]:
    missing = sorted(set(config["logTypes"]) - set(props.get("enabledClusterLogTypes") or []))
    if missing:
        yield f"control-plane logs not shipped: {', '.join(missing)} (enabledClusterLogTypes)"


eks_endpoint = resource_rule(
    "eks-endpoint-access-limited",
    "The EKS API endpoint is private, or public only to named networks (never 0.0.0.0/0), so the Kubernetes API "
    "is not an internet-facing login.", EKS, _endpoint)
eks_secrets = resource_rule(
    "eks-secrets-encrypted",
    "Kubernetes Secrets (n8n's encryption key, database and Redis passwords) are envelope-encrypted in etcd with a "
    "customer-managed KMS key.", EKS, _secrets_encrypted)
eks_logging = resource_rule(
    "eks-control-plane-logging",
    "The EKS control plane ships its API, audit and authenticator logs to CloudWatch, so who did what to the "
    "cluster can be traced.", EKS, _logging,
    knobs={"logTypes": Knob(["api", "audit", "authenticator"], "Control-plane log types that must be enabled.")})

POLICIES = [eks_endpoint, eks_secrets, eks_logging]
