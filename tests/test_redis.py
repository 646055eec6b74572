"""Redis components: in-cluster manifests through the real validators, and both components under mocks."""

from __future__ import annotations

import pytest
import yaml

from n8n_platform import names
from n8n_platform.connections import CaBundle, SecretKeyRef
from n8n_platform.redis import ElastiCacheRedis, InClusterRedisSpec, Redis, in_cluster_manifests
from n8n_platform.redis import conf as rc
from n8n_platform.redis.elasticache import parameter_group_family
from n8n_platform.redis.in_cluster import in_cluster_conf
from tests.harness import is_secret, plain, run
from tools.ci import gates

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SPEC = InClusterRedisSpec("n8n", "docker.io/library/redis:7.4.6-alpine", "1Gi", "10Gi", "gp3")


def _kind(kind: str) -> dict:
    return next(m for m in in_cluster_manifests(SPEC) if m["kind"] == kind)


# --- in-cluster manifests -----------------------------------------------------------------------------------------


def test_manifests_validate_strictly_for_supported_kubernetes_versions():
    assert gates.schema_errors(in_cluster_manifests(SPEC)) == []


def test_checkov_finds_no_failed_check_with_a_default_deny_policy():
    result = gates.checkov([*in_cluster_manifests(SPEC), gates.DEFAULT_DENY])
    assert result.failed == []


def test_every_namespaced_object_names_its_namespace():
    for m in in_cluster_manifests(SPEC):
        assert m["metadata"]["namespace"] == "n8n", m["kind"]


def test_statefulset_is_one_replica_with_aof_on_a_retained_pvc():
    sts = _kind("StatefulSet")["spec"]
    assert sts["replicas"] == 1 and sts["serviceName"] == "redis-headless"
    claim = sts["volumeClaimTemplates"][0]["spec"]
    assert claim["storageClassName"] == "gp3" and claim["resources"]["requests"]["storage"] == "10Gi"
    assert sts["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    mounts = {m["name"]: m["mountPath"] for m in sts["template"]["spec"]["containers"][0]["volumeMounts"]}
    assert "dir /data" in in_cluster_conf(SPEC) and mounts["data"] == "/data"


def test_pod_is_restricted_uid_10001_read_only_root_and_has_no_api_token():
    pod = _kind("StatefulSet")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsUser"] == 10001 and pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["automountServiceAccountToken"] is False and pod["serviceAccountName"] == "redis"
    assert container["resources"]["limits"]["memory"] == "1Gi" == container["resources"]["requests"]["memory"]


def test_maxmemory_is_80_percent_of_the_memory_limit_and_noeviction():
    conf = in_cluster_conf(SPEC).splitlines()
    assert f"maxmemory {int(0.8 * 2**30)}" in conf and "maxmemory-policy noeviction" in conf


def test_password_only_mounted_from_the_n8n_secret_and_never_in_the_configmap():
    volumes = {v["name"]: v for v in _kind("StatefulSet")["spec"]["template"]["spec"]["volumes"]}
    assert volumes["password"]["secret"]["secretName"] == names.N8N_SECRET
    assert volumes["password"]["secret"]["items"] == [{"key": names.REDIS_PASSWORD, "path": names.REDIS_PASSWORD}]
    assert "requirepass" not in yaml.safe_dump(_kind("ConfigMap"))
    container = _kind("StatefulSet")["spec"]["template"]["spec"]["containers"][0]
    assert "env" not in container, "no secret in the environment"


def test_probes_ping_over_tls_with_the_password_file():
    container = _kind("StatefulSet")["spec"]["template"]["spec"]["containers"][0]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        script = container[probe]["exec"]["command"][-1]
        assert "--tls" in script and "REDISCLI_AUTH=" in script and "ping" in script, probe
    assert "-nt" in container["livenessProbe"]["exec"]["command"][-1], "liveness restarts after cert renewal"


def test_certificate_comes_from_the_internal_ca_and_covers_the_service_and_probes():
    cert = _kind("Certificate")["spec"]
    assert cert["issuerRef"] == {"name": names.INTERNAL_CA_ISSUER, "kind": "ClusterIssuer",
                                 "group": "cert-manager.io"}
    assert "redis.n8n.svc" in cert["dnsNames"] and "localhost" in cert["dnsNames"]
    assert cert["ipAddresses"] == ["127.0.0.1"] and cert["secretName"] == "redis-tls"


def test_pdb_allows_one_disruption_because_zero_would_block_every_drain_of_a_single_replica():
    pdb = _kind("PodDisruptionBudget")["spec"]
    assert pdb["maxUnavailable"] == 1 and pdb["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_services_headless_for_the_statefulset_and_clusterip_for_clients():
    services = {m["metadata"]["name"]: m["spec"] for m in in_cluster_manifests(SPEC) if m["kind"] == "Service"}
    assert services["redis-headless"]["clusterIP"] == "None"
    assert services["redis"]["type"] == "ClusterIP"
    assert all(s["ports"][0]["port"] == rc.PORT for s in services.values())


def test_config_change_rolls_the_pod():
    other = InClusterRedisSpec("n8n", SPEC.image, "2Gi", "10Gi", "gp3")
    key = "n8n.io/redis-conf-sha256"
    a = _kind("StatefulSet")["spec"]["template"]["metadata"]["annotations"][key]
    b = next(m for m in in_cluster_manifests(other) if m["kind"] == "StatefulSet")
    assert a != b["spec"]["template"]["metadata"]["annotations"][key]


def test_a_new_password_restarts_redis_through_the_secrets_revision():
    spec = InClusterRedisSpec("n8n", SPEC.image, "1Gi", "10Gi", "gp3", secrets_revision="0123456789abcdef")
    statefulset = next(m for m in in_cluster_manifests(spec) if m["kind"] == "StatefulSet")
    assert statefulset["spec"]["template"]["metadata"]["annotations"][
        names.SECRETS_REVISION_ANNOTATION] == "0123456789abcdef"
    assert names.SECRETS_REVISION_ANNOTATION not in _kind("StatefulSet")["spec"]["template"]["metadata"][
        "annotations"]


# --- Redis component ------------------------------------------------------------------------------------------------


def _in_cluster(protect: bool = True):
    out = {}

    def program():
        r = Redis("redis", {"namespace": "n8n", "image": SPEC.image, "memory": "1Gi", "storage_size": "10Gi",
                            "storage_class": "gp3", "protect": protect})
        out["connection"] = r.connection

    return run(program), out


def test_component_registers_the_builder_manifests_parented_to_it():
    rec, _ = _in_cluster()
    kinds = sorted(m["kind"] for m in rec.manifests())
    assert kinds == sorted(m["kind"] for m in in_cluster_manifests(SPEC))
    assert all(r.parent == "redis" for r in rec.resources if r.type != "n8n:index:Redis")


@pytest.mark.parametrize("protect", [True, False])
def test_statefulset_holding_the_queue_is_retained_and_protected_per_environment(protect):
    rec, _ = _in_cluster(protect)
    sts = rec.one("kubernetes:apps/v1:StatefulSet")
    assert sts.options["protect"] is protect and sts.options["retain_on_delete"] is protect
    assert {"redis-certificate-redis-tls", "redis-configmap-redis-config"} <= set(sts.options["depends_on"])


def test_connection_is_tls_with_the_cert_manager_ca_and_the_n8n_secret_password():
    _, out = _in_cluster()
    c = out["connection"]
    assert c.host == "redis.n8n.svc" and c.port == 6379 and c.tls is True and c.managed is False
    assert c.ca == CaBundle("secret", "redis-tls", "ca.crt")
    assert c.password == SecretKeyRef(names.N8N_SECRET, names.REDIS_PASSWORD)


def test_only_the_namespace_is_required_and_the_defaults_are_the_platforms():
    rec = run(lambda: Redis("r", {"namespace": "n8n"}))
    by_kind = {m["kind"]: m for m in rec.manifests()}
    assert {m["metadata"]["name"] for m in rec.manifests()} == {"redis", "redis-headless", "redis-config", "redis-tls"}
    assert by_kind["StatefulSet"]["spec"]["template"]["spec"]["containers"][0]["image"] == SPEC.image
    assert by_kind["Certificate"]["spec"]["issuerRef"]["name"] == names.INTERNAL_CA_ISSUER
    sts = rec.one("kubernetes:apps/v1:StatefulSet")
    assert sts.options["protect"] is False and sts.options["retain_on_delete"] is False


def test_a_named_instance_with_its_own_issuer_and_password_coexists_with_another():
    def program():
        Redis("a", {"namespace": "n8n"})
        Redis("b", {"namespace": "n8n", "name": "queue-b", "issuer_name": "team-ca", "issuer_kind": "Issuer",
                    "password_secret": "queue-b-auth", "password_key": "pw", "retain_on_delete": True})

    rec = run(program)
    b = [m for m in rec.manifests() if m["metadata"]["name"].startswith("queue-b")]
    assert {m["metadata"]["name"] for m in b} == {"queue-b", "queue-b-headless", "queue-b-config", "queue-b-tls"}
    by_kind = {m["kind"]: m for m in b}
    assert by_kind["Certificate"]["spec"]["issuerRef"] == {"name": "team-ca", "kind": "Issuer",
                                                           "group": "cert-manager.io"}
    assert "queue-b-0.queue-b-headless.n8n.svc" in by_kind["Certificate"]["spec"]["dnsNames"]
    sts = by_kind["StatefulSet"]["spec"]
    assert sts["selector"]["matchLabels"]["app.kubernetes.io/instance"] == "queue-b"
    assert sts["template"]["metadata"]["labels"]["app.kubernetes.io/instance"] == "queue-b"
    password = next(v for v in sts["template"]["spec"]["volumes"] if v["name"] == "password")
    assert password["secret"] == {"secretName": "queue-b-auth", "defaultMode": 0o440,
                                  "items": [{"key": "pw", "path": "pw"}]}
    services = [m for m in rec.manifests() if m["kind"] == "Service"]
    assert len({str(m["spec"]["selector"]) for m in services}) == 2  # each Service selects its own pod only
    assert gates.schema_errors(b) == []
    kept = [r for r in rec.resources if r.type == "kubernetes:apps/v1:StatefulSet" and r.name.startswith("b-")]
    assert kept[0].options["retain_on_delete"] is True and kept[0].options["protect"] is False


def test_an_output_namespace_is_placed_never_stringified():
    import pulumi

    out = {}

    def program():
        r = Redis("r", {"namespace": pulumi.Output.from_input("team-ns"), "name": "q"})
        out["host"] = r.host

    rec = run(program)
    cert = next(m for m in rec.manifests() if m["kind"] == "Certificate")
    assert cert["metadata"]["namespace"] == "team-ns"
    assert cert["spec"]["commonName"] == "q.team-ns.svc"
    assert "q-0.q-headless.team-ns.svc" in cert["spec"]["dnsNames"]


@pytest.mark.parametrize("bad", [{"name": "Redis_1"}, {"issuer_kind": "Vault"}, {"resources": 1}])
def test_bad_plain_arguments_fail_naming_the_argument(bad):
    key = next(iter(bad))
    with pytest.raises((ValueError, TypeError), match=key if key != "resources" else "unexpected argument 'resources'"):
        run(lambda: Redis("r", {"namespace": "n8n", **bad}))


# --- ElastiCache --------------------------------------------------------------------------------------------------

TOKEN = "AuthTokenOnlyAlphanumeric0123456789abcd"
GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"


def _elasticache(nodes: int = 2, protect: bool = True, log_delivery: bool = True):
    import pulumi

    out = {}

    def program():
        e = ElastiCacheRedis("cache", {
            "engine": "valkey", "engine_version": "8.1", "node_type": "cache.m7g.large", "nodes": nodes,
            "snapshot_retention_days": 7, "vpc_id": "vpc-0a1b2c3d",
            "subnet_ids": ["subnet-0a1b2c3d", "subnet-1a2b3c4d"],
            "node_security_group_id": "sg-0123456789abcdef0", "auth_token": pulumi.Output.secret(TOKEN),
            "log_delivery": log_delivery, "log_retention_days": 30, "protect": protect})
        e.connection.host.apply(lambda h: out.setdefault("host", h))
        out["connection"] = e.connection

    return run(program), out


@pytest.fixture(scope="module")
def prod_cache():
    return _elasticache(nodes=2)


def test_prod_two_nodes_get_multi_az_and_automatic_failover(prod_cache):
    g = prod_cache[0].one(GROUP).inputs
    assert g["numCacheClusters"] == 2 and g["multiAzEnabled"] is True and g["automaticFailoverEnabled"] is True


def test_dev_single_node_cannot_fail_over_so_multi_az_is_off():
    g = _elasticache(nodes=1)[0].one(GROUP).inputs
    assert g["multiAzEnabled"] is False and g["automaticFailoverEnabled"] is False


@pytest.mark.parametrize("nodes", [1, 2])
def test_transit_encryption_required_and_at_rest_with_a_customer_key_in_every_environment(nodes):
    g = _elasticache(nodes=nodes)[0].one(GROUP).inputs
    assert g["transitEncryptionEnabled"] is True and g["transitEncryptionMode"] == "required"
    assert g["atRestEncryptionEnabled"] is True and g["kmsKeyId"].startswith("arn:aws:kms:")


def test_auth_token_arrives_only_as_a_secret(prod_cache):
    g = prod_cache[0].one(GROUP).inputs
    assert is_secret(g["authToken"]) and plain(g["authToken"]) == TOKEN
    for r in prod_cache[0].resources:
        if r.name != "cache-group":
            assert TOKEN not in str(plain(r.inputs)), r.name


def test_parameter_group_never_evicts_and_matches_the_engine_family(prod_cache):
    p = prod_cache[0].one("aws:elasticache/parameterGroup:ParameterGroup").inputs
    assert p["family"] == "valkey8"
    assert p["parameters"] == [{"name": "maxmemory-policy", "value": "noeviction"}]
    assert prod_cache[0].one(GROUP).inputs["parameterGroupName"].startswith("cache-params")


@pytest.mark.parametrize(("engine", "version", "family"), [
    ("valkey", "8.1", "valkey8"), ("valkey", "7.2", "valkey7"), ("redis", "7.1", "redis7"),
    ("redis", "6.2", "redis6.x"), ("redis", "6.x", "redis6.x"), ("redis", "5.0.6", "redis5.0"),
    ("redis", "4.0.10", "redis4.0")])
def test_parameter_group_family(engine, version, family):
    assert parameter_group_family(engine, version) == family


def test_only_the_node_security_group_may_reach_6379(prod_cache):
    rec = prod_cache[0]
    rules = rec.find("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert len(rules) == 1
    rule = rules[0].inputs
    assert rule["referencedSecurityGroupId"] == "sg-0123456789abcdef0"
    assert (rule["fromPort"], rule["toPort"], rule["ipProtocol"]) == (6379, 6379, "tcp")
    assert "cidrIpv4" not in rule
    sg = rec.one("aws:ec2/securityGroup:SecurityGroup").inputs
    assert not sg.get("ingress") and not sg.get("egress")


def test_snapshots_kept_and_subnets_from_settings(prod_cache):
    rec = prod_cache[0]
    g = rec.one(GROUP).inputs
    assert g["snapshotRetentionLimit"] == 7 and g["snapshotWindow"] and g["finalSnapshotIdentifier"]
    subnets = rec.one("aws:elasticache/subnetGroup:SubnetGroup").inputs
    assert subnets["subnetIds"] == ["subnet-0a1b2c3d", "subnet-1a2b3c4d"]


def test_log_delivery_is_optional():
    assert len(_elasticache(log_delivery=True)[0].one(GROUP).inputs["logDeliveryConfigurations"]) == 2
    rec = _elasticache(log_delivery=False)[0]
    assert not rec.one(GROUP).inputs.get("logDeliveryConfigurations")
    assert rec.find("aws:cloudwatch/logGroup:LogGroup") == []


def test_log_group_is_encrypted_with_the_cache_key_whose_policy_lets_cloudwatch_logs_use_it(prod_cache):
    import json

    rec = prod_cache[0]
    key = rec.one("aws:kms/key:Key")
    log_group = rec.one("aws:cloudwatch/logGroup:LogGroup")
    assert log_group.inputs["kmsKeyId"].startswith("arn:aws:kms:")
    assert "cache-key" in log_group.options["input_dependencies"]
    logs = [s for s in json.loads(key.inputs["policy"])["Statement"]
            if s["Principal"].get("Service", "").startswith("logs.")]
    assert logs == [{
        "Sid": "CloudWatchLogsEncryptsOwnLogGroups", "Effect": "Allow",
        "Principal": {"Service": "logs.eu-west-1.amazonaws.com"},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                  "arn:aws:logs:eu-west-1:123456789012:log-group:*"}}}]
    # Without log delivery the key trusts no service.
    quiet = _elasticache(log_delivery=False)[0].one("aws:kms/key:Key")
    assert [s["Sid"] for s in json.loads(quiet.inputs["policy"])["Statement"]] == ["AccountAdministersThroughIam"]


@pytest.mark.parametrize("protect", [True, False])
def test_replication_group_and_key_retained_and_protected_per_environment(protect):
    rec = _elasticache(protect=protect)[0]
    for r in (rec.one(GROUP), rec.one("aws:kms/key:Key")):
        assert r.options["protect"] is protect and r.options["retain_on_delete"] is protect, r.name


def test_connection_points_at_the_primary_endpoint_over_tls_with_public_ca(prod_cache):
    _, out = prod_cache
    c = out["connection"]
    assert out["host"].startswith("master.") and c.tls is True and c.ca is None and c.managed is True
    assert c.password == SecretKeyRef(names.N8N_SECRET, names.REDIS_PASSWORD)
