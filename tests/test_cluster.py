"""cluster.py: the kubeconfig builder, ARN helpers, the account guard, and the provider under the mock runtime."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from n8n_platform import cluster, partition
from tests.harness import is_secret, plain, run
from tools.offline import ACCOUNT, CLUSTER_ISSUER

ENDPOINT = "https://ABC.gr7.eu-west-1.eks.amazonaws.com"


def test_kubeconfig_uses_exec_get_token_and_is_deterministic():
    a = cluster.kubeconfig("prod", ENDPOINT, "Q0E=", "eu-west-1")
    assert a == cluster.kubeconfig("prod", ENDPOINT, "Q0E=", "eu-west-1")
    assert a["clusters"][0]["cluster"] == {"server": ENDPOINT, "certificate-authority-data": "Q0E="}
    assert a["current-context"] == "prod"
    exec_ = a["users"][0]["user"]["exec"]
    assert exec_["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert exec_["command"] == "aws"
    args = exec_["args"]
    assert args[:2] == ["eks", "get-token"]
    assert args[args.index("--cluster-name") + 1] == "prod"
    assert args[args.index("--region") + 1] == "eu-west-1"
    assert "token" not in json.dumps(a["users"]).replace("get-token", "")


def test_oidc_provider_arn_and_partition():
    arn = cluster.oidc_provider_arn("aws", "123456789012", "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC/")
    assert arn == "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"
    assert partition.partition_of("arn:aws-us-gov:eks:us-gov-west-1:1:cluster/x") == "aws-us-gov"
    with pytest.raises(ValueError):
        partition.partition_of("eks:cluster/x")
    assert [partition.partition_of_region(r) for r in ("eu-west-1", "cn-north-1", "us-gov-west-1")] == [
        "aws", "aws-cn", "aws-us-gov"]


def test_account_guard():
    assert cluster.check_account(None, "111111111111") == "111111111111"
    assert cluster.check_account("111111111111", "111111111111") == "111111111111"
    with pytest.raises(cluster.AccountMismatchError, match=r"222222222222.*111111111111"):
        cluster.check_account("222222222222", "111111111111")


def _eks_program(guard=None):
    out = {}

    def program():
        facts = cluster.lookup_cluster("prod-eks", "eu-west-1", guard)
        out["provider"] = cluster.kubernetes_provider("k8s", None, facts)
        out["facts"] = facts
        facts.oidc.arn.apply(lambda v: out.__setitem__("oidc_arn", v))
        facts.oidc.issuer.apply(lambda v: out.__setitem__("issuer", v))

    return program, out


def test_eks_provider_kubeconfig_is_secret_and_points_at_the_cluster():
    program, out = _eks_program(guard=ACCOUNT)
    rec = run(program)
    provider = rec.one("pulumi:providers:kubernetes", "k8s")
    assert is_secret(provider.inputs["kubeconfig"])
    config = json.loads(plain(provider.inputs["kubeconfig"]))
    assert config["clusters"][0]["cluster"]["server"].startswith("https://")
    assert config["users"][0]["user"]["exec"]["args"][3] == "prod-eks"
    tokens = [t for t, _ in rec.invokes]
    assert "aws:eks/getCluster:getCluster" in tokens and "aws:index/getCallerIdentity:getCallerIdentity" in tokens
    assert out["issuer"] == CLUSTER_ISSUER
    assert out["oidc_arn"] == f"arn:aws:iam::{ACCOUNT}:oidc-provider/{CLUSTER_ISSUER.removeprefix('https://')}"


def test_account_guard_stops_the_program():
    program, _ = _eks_program(guard="999999999999")
    with pytest.raises(Exception, match="999999999999"):
        run(program)


def test_kubeconfig_file_mode_makes_no_aws_call(tmp_path):
    path = tmp_path / "config"
    path.write_text("apiVersion: v1\nkind: Config\nclusters: []\n")
    settings = SimpleNamespace(cluster=SimpleNamespace(kubeconfig=str(path), context="kind-n8n"))
    rec = run(lambda: cluster.kubernetes_provider("k8s", settings, None))
    provider = rec.one("pulumi:providers:kubernetes", "k8s")
    assert is_secret(provider.inputs["kubeconfig"])
    assert plain(provider.inputs["kubeconfig"]).startswith("apiVersion: v1")
    assert provider.inputs["context"] == "kind-n8n"
    assert rec.invokes == []


def test_missing_kubeconfig_file_names_the_setting(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"n8n:cluster\.kubeconfig"):
        cluster.read_kubeconfig(str(tmp_path / "nope"))
