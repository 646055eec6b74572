"""The composed platform per environment: which components each stack gets, protection of everything stateful in
prod, the Kubernetes provider reaching every Kubernetes resource, and a kubeconfig-only cluster with no AWS at all."""

from __future__ import annotations

import re

import pytest
import yaml

from n8n_platform import names
from tests.harness import Recording, is_secret, load_stack_config, run, run_stack

STATEFUL_TYPES = {
    "aws:rds/instance:Instance",
    "aws:rds/parameterGroup:ParameterGroup",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:s3/bucket:Bucket",
    "aws:kms/key:Key",
    "aws:secretsmanager/secret:Secret",
    "kubernetes:acid.zalan.do/v1:postgresql",
    "kubernetes:apps/v1:StatefulSet",
}
"""Resources whose deletion loses data; prod must protect them and retain them on delete."""


@pytest.fixture(scope="module")
def dev():
    return run_stack("dev")


@pytest.fixture(scope="module")
def prod():
    return run_stack("prod")


@pytest.fixture(scope="module")
def prod_patroni():
    return run_stack("prod", {"database": {"engine": "patroni"}, "redis": {"mode": "in-cluster"}})


def component_types(recording) -> set[str]:
    platform = recording.one("n8n:index:N8nPlatform")
    return {r.type.rsplit(":", 1)[1] for r in recording.children(platform.name) if r.type.startswith("n8n:")}


def test_dev_gets_patroni_and_in_cluster_redis(dev):
    assert {"PatroniDatabase", "Redis", "N8nApp", "Secrets", "ArchiveBucket", "WorkerPool", "WorkerAutoscaling",
            "N8nNamespace", "ClusterAddons"} <= component_types(dev)
    assert not dev.find("aws:rds/instance:Instance") and not dev.find(
        "aws:elasticache/replicationGroup:ReplicationGroup")
    assert "DatabaseDumps" not in component_types(dev)  # dev turns dumps off


def test_prod_gets_rds_elasticache_and_nightly_dumps(prod):
    assert {"RdsDatabase", "ElastiCacheRedis", "DatabaseDumps"} <= component_types(prod)
    assert not prod.find("kubernetes:acid.zalan.do/v1:postgresql")
    instance = prod.one("aws:rds/instance:Instance").inputs
    assert instance["multiAz"] is True
    # a major version only: RDS upgrades minors itself, and a pinned minor would fight the upgraded instance
    assert instance["engineVersion"] == "17" and instance["autoMinorVersionUpgrade"] is True


def test_prod_with_patroni_runs_three_members_and_archives_wal(prod_patroni):
    cluster = prod_patroni.one("kubernetes:acid.zalan.do/v1:postgresql")
    assert cluster.inputs["spec"]["numberOfInstances"] == 3
    assert not prod_patroni.find("aws:rds/instance:Instance")
    env = {e["name"]: e.get("value") for e in cluster.inputs["spec"]["env"]}
    assert env.get("USE_WALG_BACKUP") == "true"


@pytest.mark.parametrize("stack", ["prod", "prod_patroni"])
def test_every_stateful_resource_in_prod_is_protected_and_retained(stack, request):
    recording = request.getfixturevalue(stack)
    stateful = [r for r in recording.resources if r.type in STATEFUL_TYPES]
    assert {r.type for r in stateful} >= ({"aws:s3/bucket:Bucket", "aws:kms/key:Key"})
    for r in stateful:
        assert r.options["protect"], f"{r.type} {r.name} is not protected in prod"
        assert r.options["retain_on_delete"], f"{r.type} {r.name} is not retained on delete in prod"


def test_dev_protects_nothing(dev):
    assert [r.name for r in dev.resources if r.options["protect"]] == []


def test_dev_keeps_its_object_locked_backups_on_delete_but_not_the_rest(dev):
    """Locked backups cannot be deleted before their retention ends: a dev `pulumi destroy` leaves them rather than
    failing on them; the rest of dev follows `protect: false`."""
    buckets = dev.find("aws:s3/bucket:Bucket")
    assert buckets and all(b.options["retain_on_delete"] for b in buckets)
    assert not dev.one("kubernetes:apps/v1:StatefulSet").options["retain_on_delete"]


def test_every_kubernetes_resource_uses_the_stack_provider(prod):
    provider = prod.one("pulumi:providers:kubernetes")
    assert is_secret(provider.inputs["kubeconfig"])
    assert provider.inputs["enableSecretMutable"] == "true"  # a rotated password updates the Secret, never replaces it
    k8s_resources = [r for r in prod.resources if r.type.startswith("kubernetes:")]
    assert k8s_resources and all(r.options["provider"] == provider.name for r in k8s_resources)


def test_only_workers_tolerate_the_spot_pool(prod):
    for m in prod.manifests():
        pod = (m.get("spec", {}).get("template") or {}).get("spec", {})
        tolerated = any(t.get("key") == names.WORKER_POOL_TAINT["key"] for t in pod.get("tolerations", []))
        assert tolerated == (m["metadata"]["name"] == "n8n-worker" and m["kind"] == "Deployment"), m["metadata"]


def test_children_are_named_after_their_component(prod):
    components = {r.name for r in prod.resources if r.type.startswith("n8n:")}
    for r in prod.resources:
        if r.parent in components and r.type.startswith(("aws:", "random:", "n8n:")):
            assert r.name.startswith(f"{r.parent}-"), f"{r.type} {r.name} under {r.parent}"


def test_exports_are_endpoints_and_names_not_secrets(prod):
    exports = prod.exports
    assert exports["editorUrl"] == "https://n8n.example.com/"
    assert exports["databaseHost"].endswith(".rds.amazonaws.com") and ".proxy-" in exports["databaseHost"]  # n8n's host
    assert exports["redisHost"].startswith("master.")
    assert not any(is_secret(v) for v in exports.values())


def test_a_kubeconfig_cluster_needs_no_aws(tmp_path):
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [],
                                          "contexts": [], "current-context": ""}))
    recording = run_stack("dev", {
        "cluster": {"name": None, "kubeconfig": str(kubeconfig), "context": "kind-n8n"},
        "workerPool": {"enabled": False}, "edge": {"controller": "gateway"},
        "addons": {"awsLoadBalancerController": False}})
    assert recording.invokes == []
    assert [r.type for r in recording.resources if r.type.startswith("aws:")] == []
    provider = recording.one("pulumi:providers:kubernetes")
    assert provider.inputs["context"] == "kind-n8n" and is_secret(provider.inputs["kubeconfig"])
    assert recording.find("kubernetes:acid.zalan.do/v1:postgresql")


def dev_settings(overrides: dict | None = None):
    from n8n_platform.settings import from_config

    return from_config(load_stack_config("dev", overrides)[0])


def test_the_platform_refuses_the_cluster_argument_it_took_before_0_3():
    from n8n_platform import N8nPlatform

    with pytest.raises(Exception, match="N8nPlatform: unexpected argument 'cluster'"):
        run(lambda: N8nPlatform("n8n", {"settings": dev_settings(), "cluster": None}))


def test_settings_built_by_hand_still_obey_the_rules_across_keys():
    import dataclasses

    from n8n_platform import N8nPlatform

    s = dev_settings()
    s = dataclasses.replace(s, n8n=dataclasses.replace(s.n8n, multi_main=True))  # no license key
    recording = Recording()
    with pytest.raises(Exception, match=re.escape("settings.n8n.multiMain = True: multi-main needs an Enterprise")):
        run(lambda: N8nPlatform("n8n", {"settings": s}), recording=recording)
    assert recording.resources == []  # nothing registered from bad settings


def test_a_secret_setting_given_as_an_output_fails_naming_it():
    import pulumi

    from n8n_platform import N8nPlatform

    raw = load_stack_config("dev")[0]
    with pytest.raises(Exception, match=re.escape("N8nPlatform: settings.encryptionKey must be a plain string, not "
                                                  "an Output") + ".*Pass a secret as the input 'encryptionKey'"):
        run(lambda: N8nPlatform("n8n", {"settings": {**raw, "encryptionKey": pulumi.Output.secret("k" * 32)}}))


def egress_to_vpc(recording, name: str) -> set[int]:
    """Ports the named NetworkPolicy opens towards the VPC CIDR."""
    (policy,) = [m for m in recording.manifests() if m["kind"] == "NetworkPolicy" and m["metadata"]["name"] == name]
    return {p["port"] for rule in policy["spec"].get("egress", []) for p in rule.get("ports", [])
            if {"ipBlock": {"cidr": "10.20.0.0/16"}} in rule.get("to", [])}


def test_a_mixed_data_layer_opens_only_the_managed_service_port_to_the_vpc():
    rds_and_in_cluster_redis = run_stack("prod", {"redis": {"mode": "in-cluster"}})
    assert egress_to_vpc(rds_and_in_cluster_redis, "postgres-clients") == {5432}
    assert egress_to_vpc(rds_and_in_cluster_redis, "redis-clients") == set()
    patroni_and_elasticache = run_stack("prod", {"database": {"engine": "patroni"}})
    assert egress_to_vpc(patroni_and_elasticache, "postgres-clients") == set()
    assert egress_to_vpc(patroni_and_elasticache, "redis-clients") == {6379}
