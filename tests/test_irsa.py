"""irsa.py: trust policies admit exactly one service account through STS, and irsa_role wires them."""

from __future__ import annotations

import json

import pulumi

from n8n_platform import irsa
from tests.harness import run

ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC123"
PROVIDER = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC123"


def test_trust_policy_names_exactly_one_service_account_and_the_sts_audience():
    policy = irsa.trust_policy(PROVIDER, ISSUER, "n8n", "walg")
    [statement] = policy["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": PROVIDER}
    conditions = statement["Condition"]
    assert list(conditions) == ["StringEquals"]  # no StringLike: no wildcard subjects
    equals = conditions["StringEquals"]
    host = "oidc.eks.eu-west-1.amazonaws.com/id/ABC123"
    assert equals == {f"{host}:sub": "system:serviceaccount:n8n:walg", f"{host}:aud": "sts.amazonaws.com"}
    assert "*" not in json.dumps(equals)


def test_irsa_role_trusts_only_its_service_account():
    oidc = irsa.OidcProvider(arn=PROVIDER, issuer=ISSUER)

    def program():
        irsa.irsa_role("dumps", oidc=oidc, namespace="n8n", service_account="n8n-dumps",
                       policy=json.dumps({"Version": "2012-10-17", "Statement": []}), description="dumps",
                       opts=pulumi.ResourceOptions())
        irsa.irsa_role("lbc", oidc=oidc, namespace="kube-system", service_account="aws-load-balancer-controller",
                       policy="{}", description="lbc", opts=pulumi.ResourceOptions())

    rec = run(program)
    subjects = {}
    for role in rec.find("aws:iam/role:Role"):
        [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        subs = [v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub")]
        assert len(subs) == 1
        subjects[role.name] = subs[0]
    assert subjects == {"dumps-role": "system:serviceaccount:n8n:n8n-dumps",
                        "lbc-role": "system:serviceaccount:kube-system:aws-load-balancer-controller"}
    assert {p.name for p in rec.find("aws:iam/rolePolicy:RolePolicy")} == {"dumps-policy", "lbc-policy"}


def test_service_account_annotations():
    assert irsa.service_account_annotations("arn:aws:iam::1:role/x") == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/x", "eks.amazonaws.com/sts-regional-endpoints": "true"}
