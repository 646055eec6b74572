"""RDS engine under the mock runtime: every security-relevant input of every AWS resource, protection, the bundled
CA, and that both engines hand n8n the same connection shape."""

from __future__ import annotations

import dataclasses
import subprocess

import pulumi
import pytest

from n8n_platform import names
from n8n_platform.connections import DatabaseConnection, Pooler
from n8n_platform.database.rds import (
    CA_BUNDLE_FILE,
    RdsDatabase,
    RdsDatabaseArgs,
    instance_settings,
    parameter_family,
    parameters,
)
from n8n_platform.database.rds_proxy import CA_BUNDLE_FILE as CA_PROXY_FILE
from n8n_platform.database.spec import DatabaseSettings, N8nDatabase, PoolerSettings, RdsSettings
from tests.harness import is_secret, plain, run

NODE_SG = "sg-0a1b2c3d4e5f60718"
INSTANCE = "aws:rds/instance:Instance"
PROXY = "aws:rds/proxy:Proxy"


N8N_PASSWORD = "n" * 40
SUBNETS = ["subnet-0a1b2c3d", "subnet-1a1b2c3d"]


def _run(protect: bool = True, kms_key_arn: str | None = None, rds: RdsSettings | None = None, pooled: bool = True,
         **extra):
    holder = {}
    extra.setdefault("n8n_password", pulumi.Output.secret(N8N_PASSWORD))

    def program() -> None:
        holder["db"] = RdsDatabase("n8n-db", RdsDatabaseArgs(
            identifier="n8n-prod", namespace="n8n",
            rds=rds or RdsSettings(), pooler=PoolerSettings(enabled=pooled),
            vpc_id="vpc-0a1b2c3d4e5f60718", subnet_ids=SUBNETS, node_security_group_id=NODE_SG,
            kms_key_arn=kms_key_arn, ca_bundle_pem=None, tags={"env": "prod"}, protect=protect, **extra))

    return run(program), holder["db"]


@pytest.fixture(scope="module")
def rec_db():
    return _run()


@pytest.fixture(scope="module")
def instance(rec_db):
    return rec_db[0].one(INSTANCE).inputs


def test_storage_encrypted_with_the_customer_key_for_encryption_at_rest(rec_db, instance) -> None:
    key = rec_db[0].one("aws:kms/key:Key")
    assert instance["storageEncrypted"] is True
    assert instance["kmsKeyId"].startswith("arn:aws:kms:")
    assert instance["kmsKeyId"] == instance["performanceInsightsKmsKeyId"]
    assert key.inputs["enableKeyRotation"] is True


def test_not_publicly_accessible_and_only_node_sg_admitted_on_5432_for_network_isolation(instance) -> None:
    assert instance["publiclyAccessible"] is False
    rec, _ = _run(pooled=False)
    (rule,) = rec.find(type="aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert rule.inputs["referencedSecurityGroupId"] == NODE_SG
    assert (rule.inputs["fromPort"], rule.inputs["toPort"], rule.inputs["ipProtocol"]) == (5432, 5432, "tcp")
    assert "cidrIpv4" not in rule.inputs
    assert not rec.find(type="aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert not rec.one("aws:ec2/securityGroup:SecurityGroup").inputs.get("ingress")


def test_deletion_protection_final_snapshot_and_kept_backups_against_data_loss(instance) -> None:
    assert instance["deletionProtection"] is True
    assert instance["skipFinalSnapshot"] is False and instance["finalSnapshotIdentifier"] == "n8n-prod-final"
    assert instance["deleteAutomatedBackups"] is False and instance["copyTagsToSnapshot"] is True


def test_backup_retention_enables_point_in_time_recovery(instance) -> None:
    assert instance["backupRetentionPeriod"] == 14


def test_multi_az_for_failover(instance) -> None:
    assert instance["multiAz"] is True
    single = instance_settings(dataclasses.replace(RdsSettings(), multi_az=False), "x")
    assert single["multi_az"] is False


def test_iam_auth_on_and_admin_password_is_a_secret(instance) -> None:
    assert instance["iamDatabaseAuthenticationEnabled"] is True
    assert is_secret(instance["password"]) and len(plain(instance["password"])) == 40
    assert "manageMasterUserPassword" not in instance


def test_ssl_forced_tls12_and_audit_logging_in_the_parameter_group(rec_db, instance) -> None:
    group = rec_db[0].one("aws:rds/parameterGroup:ParameterGroup").inputs
    values = {p["name"]: (p["value"], p["applyMethod"]) for p in group["parameters"]}
    assert values["rds.force_ssl"] == ("1", "immediate")
    assert values["ssl_min_protocol_version"][0] == "TLSv1.2"
    assert values["log_statement"][0] == "ddl" and values["log_connections"][0] == "1"
    assert values["log_disconnections"][0] == "1" and int(values["log_min_duration_statement"][0]) > 0
    assert values["shared_preload_libraries"] == ("pg_stat_statements,pgaudit", "pending-reboot")
    assert values["pgaudit.log"][0] == "ddl,role" and values["pgaudit.role"][0] == "n8n_audit"
    assert group["family"] == "postgres17"
    assert instance["parameterGroupName"].startswith("n8n-db-params")


def test_extended_support_off_to_avoid_paid_extended_support(instance) -> None:
    assert instance["engineLifecycleSupport"] == "open-source-rds-extended-support-disabled"
    assert instance["autoMinorVersionUpgrade"] is True and instance["allowMajorVersionUpgrade"] is False


def test_gp3_storage_autoscaling_defaults_to_twice_the_allocation(instance) -> None:
    assert instance["storageType"] == "gp3"
    assert (instance["allocatedStorage"], instance["maxAllocatedStorage"]) == (100, 200)
    explicit = instance_settings(dataclasses.replace(RdsSettings(), max_allocated_storage_gb=500), "x")
    assert explicit["max_allocated_storage"] == 500


def test_observability_performance_insights_enhanced_monitoring_and_log_exports(rec_db, instance) -> None:
    assert instance["performanceInsightsEnabled"] is True and instance["performanceInsightsRetentionPeriod"] == 7
    assert instance["monitoringInterval"] == 60 and instance["monitoringRoleArn"].startswith("arn:aws:iam::")
    assert set(instance["enabledCloudwatchLogsExports"]) == {"postgresql", "upgrade"}
    attachment = rec_db[0].one("aws:iam/rolePolicyAttachment:RolePolicyAttachment").inputs
    assert attachment["policyArn"].endswith("service-role/AmazonRDSEnhancedMonitoringRole")


def test_instance_key_and_parameter_group_are_protected_and_retained(rec_db) -> None:
    rec = rec_db[0]
    for typ in (INSTANCE, "aws:kms/key:Key", "aws:rds/parameterGroup:ParameterGroup",
                "aws:secretsmanager/secret:Secret"):
        r = rec.one(typ)
        assert r.options["protect"] is True and r.options["retain_on_delete"] is True, typ
    dev, _ = _run(protect=False)
    assert dev.one(INSTANCE).options["protect"] is False and dev.one(INSTANCE).options["retain_on_delete"] is False
    kept, _ = _run(protect=False, retain_on_delete=True)
    assert kept.one(INSTANCE).options["retain_on_delete"] is True


def test_a_given_kms_key_is_used_instead_of_creating_one() -> None:
    rec, _ = _run(kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/given")
    assert not rec.find(type="aws:kms/key:Key")
    assert rec.one(INSTANCE).inputs["kmsKeyId"] == "arn:aws:kms:eu-west-1:123456789012:key/given"


def test_admin_secret_is_secret_in_the_manifest_and_only_the_bootstrap_job_mounts_it(rec_db) -> None:
    rec = rec_db[0]
    (secret,) = [r for r in rec.resources if r.type == "kubernetes:core/v1:Secret"]
    data = secret.inputs["stringData"]
    assert is_secret(data) or is_secret(data["password"])
    assert plain(secret.inputs["stringData"])["username"] == "dbadmin"
    assert plain(secret.inputs["stringData"])["password"] == plain(rec.one(INSTANCE).inputs["password"])
    (job,) = [m for m in rec.manifests() if m["kind"] == "Job"]
    pod = job["spec"]["template"]["spec"]
    assert {"n8n-prod-admin", names.N8N_SECRET} <= {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert env["PGSSLMODE"] == "verify-full" and env["PGHOST"].endswith(".rds.amazonaws.com")
    depends = rec.one("kubernetes:batch/v1:Job").options["depends_on"]
    assert "n8n-db-secret-n8n-prod-admin" in depends  # the instance is an implicit dependency via PGHOST


def test_rds_manifests_pass_kubernetes_validate_and_checkov(rec_db) -> None:
    from n8n_platform.database.rds import admin_secret
    from tools.ci.gates import DEFAULT_DENY, checkov, schema_errors

    # the recording redacts a secret stringData to one string; validate the Secret from its builder instead
    manifests = [m for m in rec_db[0].manifests() if m["kind"] != "Secret"]
    manifests.append(admin_secret("n8n-prod-admin", "n8n", "x" * 40))
    assert len(manifests) == 5
    assert schema_errors(manifests) == []
    assert checkov([*manifests, DEFAULT_DENY]).failed == []


def test_bundled_rds_ca_holds_only_unexpired_rds_root_certificates() -> None:
    pem = CA_BUNDLE_FILE.read_text()
    assert pem.count("BEGIN CERTIFICATE") == 87
    bundle = subprocess.run(["openssl", "crl2pkcs7", "-nocrl", "-certfile", str(CA_BUNDLE_FILE)],
                            capture_output=True, check=True, text=True).stdout
    subjects = subprocess.run(["openssl", "pkcs7", "-print_certs", "-noout"], input=bundle, capture_output=True,
                              check=True, text=True).stdout
    assert "Amazon RDS eu-west-1 Root CA RSA2048 G1" in subjects and "2019 CA" not in subjects


def test_parameter_family_follows_the_major_version() -> None:
    assert parameter_family("16") == "postgres16" and parameter_family("17") == "postgres17"
    assert {p["name"] for p in parameters()} >= {"rds.force_ssl", "log_statement", "shared_preload_libraries"}


def test_both_engines_give_n8n_the_same_connection_shape(rec_db) -> None:
    from tests.test_database_patroni import _component

    _, rds = rec_db
    _, patroni = _component(archive=None)
    for conn in (rds.connection, patroni.connection):
        assert isinstance(conn, DatabaseConnection)
        assert (conn.port, conn.database, conn.user, conn.schema, conn.ssl) == (5432, "n8n", "n8n", "n8n", True)
        assert (conn.password.secret, conn.password.key) == (names.N8N_SECRET, names.DB_PASSWORD)
        assert conn.ca is not None
    assert (rds.connection.pooler, patroni.connection.pooler) == (Pooler.RDS_PROXY, Pooler.PGBOUNCER)
    for conn in (rds.direct_connection, patroni.direct_connection):
        assert conn.ca.key == "ca.crt" and conn.pooler is None
    assert {rds.connection.ca.source, patroni.connection.ca.source} == {"configMap", "secret"}


def test_bootstrap_job_carries_the_secrets_revision_so_a_new_n8n_password_reruns_it() -> None:
    rec, _ = _run(secrets_revision=pulumi.Output.secret("0123456789abcdef"))
    job = rec.one("kubernetes:batch/v1:Job")
    assert not is_secret(job.inputs["spec"])  # placed in the clear: the Job's spec stays checkable
    assert job.inputs["spec"]["template"]["metadata"]["annotations"] == {
        names.SECRETS_REVISION_ANNOTATION: "0123456789abcdef"}
    assert job.inputs["spec"]["ttlSecondsAfterFinished"] > 0


def test_only_what_cannot_be_guessed_is_required() -> None:
    rec = run(lambda: RdsDatabase("db", {"identifier": "n8n-lab", "namespace": "n8n", "vpc_id": "vpc-0a1b2c3d",
                                         "subnet_ids": ["subnet-0a1b2c3d"], "node_security_group_id": NODE_SG,
                                         "n8n_password": N8N_PASSWORD}))
    instance = rec.one(INSTANCE)
    assert instance.inputs["engineVersion"] == "17" and instance.inputs["multiAz"] is True
    assert instance.options["protect"] is False and instance.options["retain_on_delete"] is False
    assert rec.find(PROXY)
    with pytest.raises(ValueError, match=r"RdsDatabase: n8n_password is required with pooler\.enabled"):
        run(lambda: RdsDatabase("db", {"identifier": "n8n-lab", "namespace": "n8n", "vpc_id": "vpc-0a1b2c3d",
                                       "subnet_ids": ["subnet-0a1b2c3d"], "node_security_group_id": NODE_SG}))
    with pytest.raises(TypeError, match="RdsDatabase: unexpected argument 'protected'"):
        run(lambda: RdsDatabase("db", {"identifier": "n8n-lab", "namespace": "n8n", "vpc_id": "vpc-0a1b2c3d",
                                       "subnet_ids": ["subnet-0a1b2c3d"], "node_security_group_id": NODE_SG,
                                       "protected": True}))


def test_database_as_a_mapping_is_checked_like_stack_config() -> None:
    """What other languages (and Python users without the settings classes) pass: a partial mapping, snake_case or
    camelCase, merged over the defaults; a bad value fails naming the key, the value and what is allowed."""
    from n8n_platform.arguments import settings_section
    from n8n_platform.database.spec import DatabaseEngine
    from n8n_platform.schema import SettingsError

    given = {"engine": "rds", "connectionLimit": 50, "rds": {"instance_class": "db.t4g.medium", "multiAz": False}}
    database = settings_section("RdsDatabase", "database", DatabaseSettings, given)
    assert database.engine is DatabaseEngine.RDS and database.connection_limit == 50
    assert database.rds.instance_class == "db.t4g.medium" and database.rds.multi_az is False
    assert database.rds.backup_retention_days == RdsSettings().backup_retention_days
    role = settings_section("RdsDatabase", "database", N8nDatabase, {"connectionLimit": 50, "user": "flows"})
    assert (role.connection_limit, role.user, role.name) == (50, "flows", "n8n")
    args = RdsDatabaseArgs(identifier="n8n-prod", namespace="n8n", vpc_id="vpc-0a1b2c3d", subnet_ids=["subnet-0a"],
                           node_security_group_id=NODE_SG, database={"connection_limit": 1})  # type: ignore[typeddict-item]
    with pytest.raises(SettingsError, match=r"database\.connectionLimit = 1: must be between 10 and 5000"):
        run(lambda: RdsDatabase("n8n-db", args))
    with pytest.raises(SettingsError, match=r"database\.engine = 'mysql': must be one of 'rds', 'patroni'"):
        settings_section("RdsDatabase", "database", DatabaseSettings, {"engine": "mysql"})


def test_opts_depends_on_reaches_the_kubernetes_objects() -> None:
    """The namespace and the n8n Secret go in opts.depends_on; the CA ConfigMap and the admin Secret wait for them
    (and the bootstrap Job for the admin Secret)."""
    import pulumi_kubernetes as kubernetes

    def program() -> None:
        namespace = kubernetes.core.v1.Namespace("ns", metadata={"name": "n8n"})
        RdsDatabase("n8n-db", RdsDatabaseArgs(identifier="n8n-prod", namespace="n8n", vpc_id="vpc-0a1b2c3d",
                                              subnet_ids=["subnet-0a"], node_security_group_id=NODE_SG,
                                              n8n_password=N8N_PASSWORD),
                    pulumi.ResourceOptions(depends_on=[namespace]))

    rec = run(program)
    for kind in ("kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:Secret"):
        waiting = [r for r in rec.find(kind) if "ns" in r.options["depends_on"]]
        assert waiting, kind


# --- RDS Proxy (database.pooler.enabled) ---------------------------------------------------------------------------

SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SECRET = "aws:secretsmanager/secret:Secret"
TARGET_GROUP = "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup"
TARGET = "aws:rds/proxyTarget:ProxyTarget"
PROXY_TYPES = (PROXY, TARGET_GROUP, TARGET, SECRET, "aws:secretsmanager/secretVersion:SecretVersion",
               "aws:iam/rolePolicy:RolePolicy", EGRESS)


def _resolved(output) -> object:
    """The value of an Output of a finished mock run."""
    import asyncio

    return asyncio.get_event_loop().run_until_complete(output.future()) if hasattr(output, "future") else output


def test_with_the_pooler_n8n_connects_to_the_proxy_with_tls_and_the_jobs_to_the_instance(rec_db) -> None:
    rec, db = rec_db
    proxy = rec.one(PROXY)
    inputs = proxy.inputs
    assert (inputs["engineFamily"], inputs["requireTls"], inputs["name"]) == ("POSTGRESQL", True, "n8n-prod")
    assert inputs["idleClientTimeout"] == 1800 and inputs["debugLogging"] is False
    assert inputs["vpcSubnetIds"] == SUBNETS
    (auth,) = inputs["auths"]
    assert (auth["authScheme"], auth["clientPasswordAuthType"], auth["iamAuth"]) == (
        "SECRETS", "POSTGRES_SCRAM_SHA_256", "DISABLED")
    assert auth["secretArn"].startswith("arn:aws:secretsmanager:") and "n8n-db-proxy-login" in auth["secretArn"]
    assert db.connection.pooler == Pooler.RDS_PROXY and db.connection.ssl is True
    assert (db.connection.ca.source, db.connection.ca.key) == ("configMap", "proxy-ca.crt")
    assert _resolved(db.connection.host) == _resolved(db.proxy_endpoint)
    assert ".proxy-" in _resolved(db.connection.host) and _resolved(db.proxy_name) == "n8n-prod"
    assert db.direct_connection.pooler is None and db.direct_connection.ca.key == "ca.crt"
    assert _resolved(db.direct_connection.host) == _resolved(db.address)
    (job,) = [m for m in rec.manifests() if m["kind"] == "Job"]
    env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["PGHOST"] == _resolved(db.address) and env["PGSSLROOTCERT"].endswith("/ca.crt")
    (ca,) = [m for m in rec.manifests() if m["kind"] == "ConfigMap" and m["metadata"]["name"] == "n8n-prod-ca"]
    assert set(ca["data"]) == {"ca.crt", "proxy-ca.crt"}
    assert ca["data"]["proxy-ca.crt"] == CA_PROXY_FILE.read_text()


def test_without_the_pooler_there_is_no_proxy_and_n8n_connects_to_the_instance() -> None:
    rec, db = _run(pooled=False, n8n_password=None)
    for typ in PROXY_TYPES:
        assert not rec.find(typ), typ
    assert len(rec.find(SG)) == 1 and not rec.find("aws:iam/role:Role", name="n8n-db-proxy-role")
    assert db.connection is db.direct_connection and db.connection.pooler is None
    assert _resolved(db.connection.host) == _resolved(db.address) and db.connection.ca.key == "ca.crt"
    assert _resolved(db.proxy_name) is None and _resolved(db.proxy_endpoint) is None
    (ca,) = [m for m in rec.manifests() if m["kind"] == "ConfigMap" and m["metadata"]["name"] == "n8n-prod-ca"]
    assert set(ca["data"]) == {"ca.crt"}


def test_proxy_admits_5432_only_from_the_nodes_and_reaches_only_the_instance(rec_db) -> None:
    rec = rec_db[0]
    proxy_sg = rec.one(SG, name="n8n-db-proxy-sg")
    instance_sg = rec.one(SG, name="n8n-db-sg")
    assert rec.one(PROXY).property_dependencies["vpcSecurityGroupIds"] == [proxy_sg.urn]
    rules = {r.name: r for r in rec.find(INGRESS) + rec.find(EGRESS)}
    assert set(rules) == {"n8n-db-from-nodes", "n8n-db-proxy-from-nodes", "n8n-db-proxy-to-instance",
                          "n8n-db-from-proxy"}
    for rule in rules.values():
        assert (rule.inputs["fromPort"], rule.inputs["toPort"], rule.inputs["ipProtocol"]) == (5432, 5432, "tcp")
        assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs
    deps = {n: (r.property_dependencies["securityGroupId"], r.property_dependencies.get("referencedSecurityGroupId"))
            for n, r in rules.items()}
    assert deps["n8n-db-proxy-from-nodes"][0] == [proxy_sg.urn]
    assert rules["n8n-db-proxy-from-nodes"].inputs["referencedSecurityGroupId"] == NODE_SG
    assert deps["n8n-db-proxy-to-instance"] == ([proxy_sg.urn], [instance_sg.urn])
    assert rules["n8n-db-proxy-to-instance"].type == EGRESS
    assert deps["n8n-db-from-proxy"] == ([instance_sg.urn], [proxy_sg.urn])
    assert rules["n8n-db-from-nodes"].inputs["referencedSecurityGroupId"] == NODE_SG  # the Jobs still reach it
    assert not proxy_sg.inputs.get("ingress") and not proxy_sg.inputs.get("egress")


def test_proxy_role_reads_only_its_secret_and_decrypts_only_through_secrets_manager(rec_db) -> None:
    import json

    rec = rec_db[0]
    role = rec.one("aws:iam/role:Role", name="n8n-db-proxy-role")
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "rds.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    policy = json.loads(rec.one("aws:iam/rolePolicy:RolePolicy", name="n8n-db-proxy-secret-access").inputs["policy"])
    secret_arn = rec.one(PROXY).inputs["auths"][0]["secretArn"]
    key_arn = rec.one(INSTANCE).inputs["kmsKeyId"]
    assert [(s["Effect"], s["Action"], s["Resource"]) for s in policy["Statement"]] == [
        ("Allow", "secretsmanager:GetSecretValue", secret_arn), ("Allow", "kms:Decrypt", key_arn)]
    assert policy["Statement"][1]["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}
    assert "*" not in json.dumps(policy)
    assert rec.one(PROXY).property_dependencies["roleArn"] == [role.urn]


def test_proxy_login_is_the_n8n_password_in_a_secret_under_the_stack_key(rec_db) -> None:
    import json

    rec = rec_db[0]
    secret = rec.one(SECRET)
    assert secret.inputs["kmsKeyId"] == rec.one(INSTANCE).inputs["kmsKeyId"]
    version = rec.one("aws:secretsmanager/secretVersion:SecretVersion")
    assert is_secret(version.inputs["secretString"])
    assert json.loads(plain(version.inputs["secretString"])) == {"username": "n8n", "password": N8N_PASSWORD}
    given, _ = _run(kms_key_arn="arn:aws:kms:eu-central-1:123456789012:key/given")
    assert given.one(SECRET).inputs["kmsKeyId"] == "arn:aws:kms:eu-central-1:123456789012:key/given"
    policy = json.loads(given.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    assert policy["Statement"][1]["Condition"]["StringEquals"]["kms:ViaService"] == \
        "secretsmanager.eu-central-1.amazonaws.com"
    with pytest.raises(ValueError, match=r"kms_key_arn must be a KMS key ARN .* got 'alias/mine'"):
        _run(kms_key_arn="alias/mine")


def test_target_group_pool_follows_the_settings_and_the_target_is_the_instance() -> None:
    from n8n_platform.database.spec import RdsProxySettings

    rds = dataclasses.replace(RdsSettings(), proxy=RdsProxySettings(
        borrow_timeout_seconds=60, max_connections_percent=50, idle_client_timeout_seconds=900))
    rec, _ = _run(rds=rds)
    group = rec.one(TARGET_GROUP)
    assert group.inputs["connectionPoolConfig"] == {
        "connectionBorrowTimeout": 60, "maxConnectionsPercent": 50, "maxIdleConnectionsPercent": 25}
    assert "initQuery" not in group.inputs["connectionPoolConfig"]
    assert rec.one(PROXY).inputs["idleClientTimeout"] == 900
    proxy, target, instance = rec.one(PROXY), rec.one(TARGET), rec.one(INSTANCE)
    assert group.inputs["dbProxyName"] == target.inputs["dbProxyName"] == "n8n-prod"
    assert target.inputs["dbInstanceIdentifier"] == "n8n-prod" and target.inputs["targetGroupName"] == "default"
    # created in the order AWS needs: the proxy after its role's policy and its login, the target after the group
    assert group.property_dependencies["dbProxyName"] == [proxy.urn]
    assert target.property_dependencies["targetGroupName"] == [group.urn]
    assert target.property_dependencies["dbInstanceIdentifier"] == [instance.urn]
    assert {"n8n-db-proxy-secret-access", "n8n-db-proxy-login-version"} <= set(proxy.options["depends_on"])
    order = [r.name for r in rec.resources]
    assert order.index("n8n-db-proxy-login") < order.index("n8n-db-proxy") < order.index("n8n-db-proxy-targets") \
        < order.index("n8n-db-proxy-instance")


def test_an_identifier_the_proxy_cannot_take_fails_naming_the_rule() -> None:
    with pytest.raises(ValueError, match=r"identifier 'n8n--lab' also names the RDS Proxy"):
        run(lambda: RdsDatabase("db", {"identifier": "n8n--lab", "namespace": "n8n", "vpc_id": "vpc-0a1b2c3d",
                                       "subnet_ids": ["subnet-0a1b2c3d"], "node_security_group_id": NODE_SG,
                                       "n8n_password": N8N_PASSWORD}))
    rec = run(lambda: RdsDatabase("db", {"identifier": "n8n--lab", "namespace": "n8n", "vpc_id": "vpc-0a1b2c3d",
                                         "subnet_ids": ["subnet-0a1b2c3d"], "node_security_group_id": NODE_SG,
                                         "pooler": {"enabled": False}}))
    assert rec.find(INSTANCE) and not rec.find(PROXY)


def test_bundled_proxy_ca_holds_the_amazon_trust_services_roots_not_the_rds_cas() -> None:
    bundle = subprocess.run(["openssl", "crl2pkcs7", "-nocrl", "-certfile", str(CA_PROXY_FILE)],
                            capture_output=True, check=True, text=True).stdout
    subjects = subprocess.run(["openssl", "pkcs7", "-print_certs", "-noout"], input=bundle, capture_output=True,
                              check=True, text=True).stdout
    names_ = sorted(line.split("CN = ", 1)[1] for line in subjects.splitlines() if line.startswith("subject="))
    assert names_ == ["Amazon Root CA 1", "Amazon Root CA 2", "Amazon Root CA 3", "Amazon Root CA 4",
                      "Starfield Services Root Certificate Authority - G2"]
    assert "Amazon RDS" not in subjects
    begin = "-----BEGIN CERTIFICATE-----"
    for pem in [begin + p for p in CA_PROXY_FILE.read_text().split(begin)[1:]]:  # none expires within five years
        assert subprocess.run(["openssl", "x509", "-noout", "-checkend", str(5 * 365 * 86400)], input=pem,
                              capture_output=True, text=True).returncode == 0


def test_the_prod_plan_points_every_n8n_role_at_the_proxy_and_the_jobs_at_the_instance() -> None:
    from tests.harness import run_stack

    rec = run_stack("prod")
    proxy = rec.one(PROXY)
    endpoint = f"{proxy.inputs['name']}.proxy-"
    instance_host = None
    roles = 0
    for m in rec.manifests():
        pod = (m.get("spec", {}).get("template", {}).get("spec") if m["kind"] in ("Deployment", "Job") else
               m.get("spec", {}).get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec")
               if m["kind"] == "CronJob" else None)
        for c in (pod or {}).get("containers", []):
            env = {e["name"]: e.get("value") for e in c.get("env", [])}
            if "DB_POSTGRESDB_HOST" in env:
                roles += 1
                assert env["DB_POSTGRESDB_HOST"].startswith(endpoint), m["metadata"]["name"]
                assert env["DB_POSTGRESDB_SSL_CA_FILE"].endswith("/proxy-ca.crt")
                assert env["DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED"] == "true"
                assert env["DB_PING_TIMEOUT_MS"] == "120000"  # n8n/env.py's pooled recovery
            if "PGHOST" in env:
                assert ".proxy-" not in env["PGHOST"], m["metadata"]["name"]
                instance_host = instance_host or env["PGHOST"]
    assert roles == 3  # main, webhook, worker
    assert instance_host and instance_host.startswith("n8n-prod.c")
    assert proxy.inputs["requireTls"] is True
