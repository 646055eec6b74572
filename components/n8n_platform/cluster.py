"""The cluster the stack deploys into: EKS lookup, the kubeconfig the Kubernetes provider uses, the provider factory.

The stack looks an existing cluster up by name (``cluster.name``), uses a kubeconfig file (``cluster.kubeconfig`` +
``cluster.context``, any conformant cluster, no AWS calls), or, with ``cluster.create``, takes the facts of the one
it creates (:mod:`.eks_cluster`, :func:`created_cluster_facts`). The Kubernetes provider is
built here, once, by the program; components receive it through ``opts`` and never build their own.

Invokes this module makes (the mock harness must answer them):

- ``aws:eks/getCluster:getCluster`` -> ``name``, ``arn``, ``endpoint``, ``certificateAuthorities[0].data``,
  ``identities[0].oidcs[0].issuer``.
- ``aws:index/getCallerIdentity:getCallerIdentity`` -> ``accountId`` (OIDC provider ARN and the account guard).

**Changing the cluster replaces everything.** pulumi-kubernetes treats a change of the kubeconfig's server or
identity as a different cluster: the provider is replaced, and every Kubernetes resource it manages with it
(pulumi-kubernetes#4019, pulumi-eks#764). The exec-based kubeconfig built here is deterministic for a given
cluster (no tokens, no timestamps), so ordinary runs never diff; do not switch a live stack between
``cluster.name`` and ``cluster.kubeconfig`` (or between kubeconfig contexts) without planning for that.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from . import irsa
from .partition import partition_of

EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"
"""apiVersion of the exec credential plugin protocol `aws eks get-token` speaks."""


class AccountMismatchError(Exception):
    """The AWS credentials belong to another account than the stack's ``aws.accountId`` guard."""


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str) -> dict[str, Any]:
    """A kubeconfig for one EKS cluster whose user fetches short-lived tokens with ``aws eks get-token``.

    Deterministic for the same inputs: no token, credential or timestamp is embedded (the token is fetched by the
    provider at run time), so the provider never sees a spurious diff.
    """
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "preferences": {},
        "users": [{
            "name": cluster_name,
            "user": {"exec": {
                "apiVersion": EXEC_API_VERSION,
                "command": "aws",
                "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"],
                "interactiveMode": "Never",
            }},
        }],
    }


def oidc_provider_arn(partition: str, account_id: str, issuer: str) -> str:
    """``arn:<partition>:iam::<account>:oidc-provider/<issuer host and path>`` of the cluster's IAM OIDC provider."""
    host_path = issuer.removeprefix("https://").rstrip("/")
    return f"arn:{partition}:iam::{account_id}:oidc-provider/{host_path}"


def check_account(expected: str | None, actual: str) -> str:
    """Return ``actual`` when it matches the ``aws.accountId`` guard (or no guard is set); raise otherwise."""
    if expected is not None and expected != actual:
        raise AccountMismatchError(
            f"n8n:aws.accountId is {expected}, but the AWS credentials in use belong to account {actual}. "
            "Refusing to touch the wrong account: switch AWS profile/credentials or fix the stack setting.")
    return actual


@dataclass(frozen=True)
class ClusterFacts:
    """What the stack needs to know about the existing EKS cluster."""

    name: str
    """Cluster name."""
    region: str
    """AWS region of the cluster."""
    endpoint: pulumi.Output[str]
    """API server URL."""
    certificate_authority: pulumi.Output[str]
    """Base64 PEM of the cluster CA (kubeconfig ``certificate-authority-data``)."""
    account_id: pulumi.Output[str]
    """AWS account of the credentials in use, already checked against the ``aws.accountId`` guard."""
    oidc: irsa.OidcProvider
    """The cluster's IAM OIDC provider, for IRSA roles."""


def lookup_cluster(name: str, region: str, account_guard: str | None = None,
                   opts: pulumi.InvokeOutputOptions | None = None) -> ClusterFacts:
    """Look up an existing EKS cluster and the caller's account (failing when the account guard does not match).

    The OIDC provider ARN is derived from the account, the partition of the cluster ARN and the issuer URL (the IAM
    OIDC provider must already exist: ``eksctl utils associate-iam-oidc-provider`` or the cluster's IaC).
    """

    cluster = aws.eks.get_cluster_output(name=name, region=region, opts=opts)
    caller = aws.get_caller_identity_output(opts=opts)
    account_id = caller.account_id.apply(lambda actual: check_account(account_guard, actual))
    issuer = cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer)
    arn = pulumi.Output.all(cluster.arn, account_id, issuer).apply(
        lambda a: oidc_provider_arn(partition_of(a[0]), a[1], a[2]))
    return ClusterFacts(
        name=name,
        region=region,
        endpoint=cluster.endpoint,
        certificate_authority=cluster.certificate_authorities.apply(lambda cas: cas[0].data),
        account_id=account_id,
        oidc=irsa.OidcProvider(arn=arn, issuer=issuer),
    )


def created_cluster_facts(name: str, created: Any, region: str, account_guard: str | None = None) -> ClusterFacts:
    """The facts of a cluster this stack creates (:class:`~.eks_cluster.Cluster`), as :func:`lookup_cluster` gives
    them for an existing one: the same account guard, and the IAM OIDC provider it created."""

    caller = aws.get_caller_identity_output()
    account_id = caller.account_id.apply(lambda actual: check_account(account_guard, actual))
    return ClusterFacts(
        name=name,
        region=region,
        endpoint=created.endpoint,
        certificate_authority=created.certificate_authority,
        account_id=account_id,
        oidc=irsa.OidcProvider(arn=created.oidc_provider_arn, issuer=created.oidc_issuer),
    )


def read_kubeconfig(path: str) -> str:
    """Contents of a kubeconfig file (``~`` expanded), with a clear error when it is missing."""
    full = os.path.expanduser(path)
    try:
        with open(full, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise FileNotFoundError(f"n8n:cluster.kubeconfig: cannot read {path!r} ({e.strerror})") from e


def kubernetes_provider(name: str, settings: Any, facts: ClusterFacts | None,
                        opts: pulumi.ResourceOptions | None = None) -> Any:
    """The Kubernetes provider every Kubernetes resource of the stack uses.

    With ``facts`` (EKS): an exec kubeconfig from :func:`kubeconfig`, as a secret Output. Without (settings
    ``cluster.kubeconfig``): that file's contents (secret) and ``cluster.context``; no AWS call is made. Either
    way the kubeconfig is kept secret in state. Its account check already ran in :func:`lookup_cluster`: the
    provider depends on ``facts.account_id``, so no Kubernetes resource is touched in the wrong account.

    Secrets are updated in place (``enable_secret_mutable``): by default the provider replaces a Secret whose data
    changes, and our Secrets have fixed names, so a rotated password would replace the Secret and every workload
    that mounts it. The secrets revision on the pod templates already rolls exactly the workloads that read it
    (found by the real-engine tests, tests/engine).
    """
    if facts is not None:
        config = pulumi.Output.all(facts.endpoint, facts.certificate_authority, facts.account_id).apply(
            lambda a: json.dumps(kubeconfig(facts.name, a[0], a[1], facts.region), sort_keys=True))
        return k8s.Provider(name, kubeconfig=pulumi.Output.secret(config), enable_secret_mutable=True, opts=opts)
    path = settings.cluster.kubeconfig
    if not path:
        raise ValueError("kubernetes_provider needs ClusterFacts (cluster.name) or settings.cluster.kubeconfig")
    return k8s.Provider(name, kubeconfig=pulumi.Output.secret(read_kubeconfig(path)),
                        context=settings.cluster.context, enable_secret_mutable=True, opts=opts)
