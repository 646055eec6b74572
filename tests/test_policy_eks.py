"""The policy pack on a created cluster (cluster.create): every rule passes on the example stack of a new account
with prod's config, and each EKS rule fails on a cluster broken for it."""

from __future__ import annotations

import functools

import pytest
from pulumi_policy import PolicyResource

from policy.n8n_policy import POLICIES
from tests.test_eks_cluster import EKS, render
from tools import offline
from tools.ci import policy_check

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BY_NAME = {p.name: p for p in POLICIES}


@functools.cache
def recording() -> offline.Recording:
    return render()


def resources() -> list[PolicyResource]:
    return policy_check.policy_resources(recording(), "example")


def violations(policy: str, found: list[PolicyResource]) -> list[policy_check.Violation]:
    return policy_check.run_policy(BY_NAME[policy], found, policy_check.policy_config("prod"))


@pytest.mark.parametrize("policy", sorted(BY_NAME))
def test_every_rule_passes_on_the_created_cluster_and_the_platform_on_it(policy):
    assert violations(policy, resources()) == []


def _cluster(found: list[PolicyResource]) -> PolicyResource:
    return next(r for r in found if r.resource_type == EKS)


def _open_endpoint(found):
    _cluster(found).props["vpcConfig"]["publicAccessCidrs"] = ["0.0.0.0/0"]


def _default_endpoint(found):  # EKS's own default: public to everyone
    vpc = _cluster(found).props["vpcConfig"]
    vpc.pop("endpointPublicAccess")
    vpc.pop("publicAccessCidrs")


def _no_private_endpoint(found):
    _cluster(found).props["vpcConfig"]["endpointPrivateAccess"] = False


def _no_encryption(found):
    _cluster(found).props.pop("encryptionConfig")


def _encrypts_nothing(found):
    _cluster(found).props["encryptionConfig"]["resources"] = []


def _no_audit_log(found):
    _cluster(found).props["enabledClusterLogTypes"] = ["api", "authenticator"]


BROKEN = [
    ("eks-endpoint-access-limited", _open_endpoint, "admits 0.0.0.0/0"),
    ("eks-endpoint-access-limited", _default_endpoint, "public to the whole internet"),
    ("eks-endpoint-access-limited", _no_private_endpoint, "endpointPrivateAccess off"),
    ("eks-secrets-encrypted", _no_encryption, "not envelope-encrypted"),
    ("eks-secrets-encrypted", _encrypts_nothing, "not envelope-encrypted"),
    ("eks-control-plane-logging", _no_audit_log, "not shipped: audit"),
]


@pytest.mark.parametrize(("policy", "breaks", "message"), BROKEN, ids=[f"{b[0]}-{b[1].__name__}" for b in BROKEN])
def test_each_eks_rule_fails_on_a_cluster_broken_for_it(policy, breaks, message):
    found = resources()
    breaks(found)
    found_violations = violations(policy, found)
    assert len(found_violations) == 1 and message in found_violations[0].message
    assert "cluster-eks" in found_violations[0].message


def test_a_private_only_endpoint_passes():
    found = resources()
    vpc = _cluster(found).props["vpcConfig"]
    vpc["endpointPublicAccess"] = False
    vpc.pop("publicAccessCidrs")
    assert violations("eks-endpoint-access-limited", found) == []
