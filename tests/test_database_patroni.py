"""Patroni engine: the Patroni configuration through the REAL `patroni --validate-config` plus an explicit key list,
the Zalando `postgresql` resource and its Certificate, and the component under the mock runtime."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import tempfile
from pathlib import Path

import pulumi
import pytest
import yaml

from n8n_platform import names
from n8n_platform.connections import CaBundle
from n8n_platform.database import pooler
from n8n_platform.database.common import S3Location
from n8n_platform.database.patroni import (
    PatroniDatabase,
    PatroniDatabaseArgs,
    certificate_manifest,
    postgresql_manifest,
)
from n8n_platform.database.patroni_config import dcs_settings, patroni_config, unknown_keys
from n8n_platform.database.spec import PatroniSettings, PitrRestore, PoolerSettings
from n8n_platform.irsa import OidcProvider
from n8n_platform.vocabulary import resources
from tests.harness import is_secret, run

ROOT = Path(__file__).resolve().parent.parent
PATRONI = ROOT / ".venv" / "bin" / "patroni"
BIN_DIR = "/usr/lib/postgresql/15/bin"
ARCHIVE = S3Location("n8n-archive", "arn:aws:s3:::n8n-archive", "wal/",
                     "arn:aws:kms:eu-west-1:123456789012:key/abc", "eu-west-1")
ROLE = "arn:aws:iam::123456789012:role/wal"
OIDC = OidcProvider("arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/X",
                    "https://oidc.eks.eu-west-1.amazonaws.com/id/X")


def _validate(config: dict) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "patroni.yml"
        path.write_text(yaml.safe_dump(config))
        return subprocess.run([str(PATRONI), "--validate-config", str(path), "-i"], capture_output=True, text=True,
                              timeout=120)


def _config(data_dir: str, synchronous: bool = True) -> dict:
    return patroni_config(cluster="n8n-postgres", namespace="n8n", member="n8n-postgres-0", pod_ip="10.20.30.40",
                          data_dir=data_dir, bin_dir=BIN_DIR, synchronous=synchronous)


@pytest.mark.parametrize("synchronous", [True, False])
def test_patroni_config_passes_the_real_patroni_validator(tmp_path: Path, synchronous: bool) -> None:
    (tmp_path / "data").mkdir()
    result = _validate(_config(str(tmp_path / "data"), synchronous))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validator_really_rejects_a_bad_value(tmp_path: Path) -> None:
    config = _config(str(tmp_path))
    config["bootstrap"]["dcs"]["ttl"] = "soon"
    result = _validate(config)
    assert result.returncode != 0 and "ttl" in result.stdout + result.stderr


def test_every_patroni_key_we_set_is_a_known_patroni_key(tmp_path: Path) -> None:
    config = _config(str(tmp_path))
    assert unknown_keys(config) == []
    config["bootstrap"]["dcs"]["synchronus_mode"] = True  # a typo the validator would accept
    assert unknown_keys(config) == ["bootstrap.dcs.synchronus_mode"]


def test_failover_safety_settings() -> None:
    dcs = dcs_settings(True)
    assert dcs["failsafe_mode"] is True and dcs["synchronous_mode"] is True
    assert dcs["maximum_lag_on_failover"] == 1048576
    assert dcs["loop_wait"] + 2 * dcs["retry_timeout"] <= dcs["ttl"]  # Patroni's documented rule


def test_pg_hba_rejects_every_non_tls_tcp_connection(tmp_path: Path) -> None:
    hba = _config(str(tmp_path))["postgresql"]["pg_hba"]
    tcp = [line for line in hba if not line.startswith("local")]
    assert tcp.index("hostnossl all all all reject") < len(tcp) - 1
    assert all(line.startswith("hostssl") or "reject" in line for line in tcp)
    assert not any(" md5" in line or " trust" in line for line in tcp)


# --- the Zalando resource -----------------------------------------------------------------------------------------

def _patroni(**kw) -> PatroniSettings:
    return dataclasses.replace(PatroniSettings(), **kw)


def _cr(patroni: PatroniSettings | None = None, archive: S3Location | None = ARCHIVE) -> dict:
    return postgresql_manifest(cluster="n8n-postgres", namespace="n8n", patroni=patroni or _patroni(),
                               archive=archive, role_arn=ROLE if archive else None)


def _env(cr: dict) -> dict:
    return {e["name"]: e["value"] for e in cr["spec"]["env"]}


def test_cr_members_sync_storage_and_resources_come_from_settings() -> None:
    spec = _cr(_patroni(members=3, synchronous=True, volume_size="80Gi", storage_class="gp3-enc",
                        resources=resources("750m", "3", "3Gi", "6Gi")))["spec"]
    assert spec["numberOfInstances"] == 3 and spec["patroni"]["synchronous_mode"] is True
    assert spec["volume"] == {"size": "80Gi", "storageClass": "gp3-enc"}
    assert spec["resources"] == {"requests": {"cpu": "750m", "memory": "3Gi"}, "limits": {"cpu": "3", "memory": "6Gi"}}
    assert spec["users"] == {"dbadmin": ["createrole", "createdb"]}  # bootstrap admin is not a superuser


def test_cr_spreads_members_across_zones_and_off_spot_workers() -> None:
    spec = _cr()["spec"]
    (spread,) = spec["topologySpreadConstraints"]
    assert spread["topologyKey"] == "topology.kubernetes.io/zone" and spread["maxSkew"] == 1
    (term,) = spec["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term["matchExpressions"] == [{"key": "n8n.io/pool", "operator": "NotIn", "values": ["workers"]}]


def test_walg_archives_under_the_wal_prefix_with_kms_and_irsa() -> None:
    cr = _cr()
    env = _env(cr)
    assert env["USE_WALG_BACKUP"] == env["USE_WALG_RESTORE"] == "true"
    assert env["WAL_S3_BUCKET"] == "n8n-archive" and env["WAL_BUCKET_SCOPE_PREFIX"] == ""
    assert env["WALG_S3_PREFIX"] == env["WALE_S3_PREFIX"] == "s3://n8n-archive/wal/n8n-postgres/17"
    assert env["WALG_S3_SSE"] == "aws:kms" and env["WALG_S3_SSE_KMS_ID"] == ARCHIVE.kms_key_arn
    assert env["AWS_ROLE_ARN"] == ROLE and env["AWS_REGION"] == "eu-west-1"
    assert env["BACKUP_SCHEDULE"] == "0 1 * * *" and env["BACKUP_NUM_TO_RETAIN"] == "7"
    (volume,) = cr["spec"]["additionalVolumes"]
    assert volume["mountPath"] + "/token" == env["AWS_WEB_IDENTITY_TOKEN_FILE"]
    assert volume["volumeSource"]["projected"]["sources"][0]["serviceAccountToken"]["audience"] == "sts.amazonaws.com"
    assert "clone" not in cr["spec"]


def test_without_archive_there_is_no_walg_and_no_restore() -> None:
    cr = _cr(archive=None)
    assert "WAL_S3_BUCKET" not in _env(cr) and "additionalVolumes" not in cr["spec"]
    with pytest.raises(ValueError, match="archive"):
        _cr(_patroni(restore=PitrRestore(source_cluster="old", target_time="2026-11-20T03:00:00+00:00")), None)


def test_pitr_restore_clones_from_the_source_archive_at_the_target_time() -> None:
    restore = PitrRestore(source_cluster="n8n-postgres-old", target_time="2026-11-20T03:00:00+00:00")
    cr = _cr(_patroni(restore=restore))
    assert cr["spec"]["clone"] == {"cluster": "n8n-postgres-old", "timestamp": "2026-11-20T03:00:00+00:00",
                                   "s3_wal_path": "s3://n8n-archive/wal/n8n-postgres-old/17"}
    env = _env(cr)
    assert env["CLONE_USE_WALG_RESTORE"] == "true" and env["CLONE_AWS_ROLE_ARN"] == ROLE
    with pytest.raises(ValueError, match="differ"):
        _cr(_patroni(restore=dataclasses.replace(restore, source_cluster="n8n-postgres")))


def test_tls_comes_from_a_cert_manager_certificate_of_the_internal_ca() -> None:
    cert = certificate_manifest("n8n-postgres", "n8n")
    assert cert["spec"]["issuerRef"] == {"name": names.INTERNAL_CA_ISSUER, "kind": "ClusterIssuer",
                                         "group": "cert-manager.io"}
    assert "n8n-postgres.n8n.svc" in cert["spec"]["dnsNames"]
    assert _cr()["spec"]["tls"] == {"secretName": cert["spec"]["secretName"], "caFile": "ca.crt"}


def test_cr_and_certificate_pass_the_crd_field_check() -> None:
    from tools.ci.gates import schema_errors

    assert schema_errors([_cr(), certificate_manifest("n8n-postgres", "n8n")]) == []


# --- the component under mocks ------------------------------------------------------------------------------------

def _component(protect: bool = True, archive: S3Location | None = ARCHIVE, **extra):
    holder = {}

    def program() -> None:
        holder["db"] = PatroniDatabase("n8n-db", PatroniDatabaseArgs(
            namespace="n8n", cluster_name="n8n-postgres", archive=archive, oidc=OIDC if archive else None,
            pod_service_account=None, docker_image=None, protect=protect,
            **extra))

    return run(program), holder["db"]


def test_component_connection_points_at_the_pooler_and_the_direct_one_at_the_primary_both_with_the_ca() -> None:
    _, db = _component()
    for c, host in ((db.connection, "n8n-postgres-pooler.n8n.svc"), (db.direct_connection, "n8n-postgres.n8n.svc")):
        assert (c.host, c.port, c.database, c.user, c.schema, c.ssl) == (host, 5432, "n8n", "n8n", "n8n", True)
        assert c.ca == CaBundle("secret", "n8n-postgres-tls", "ca.crt")
        assert (c.password.secret, c.password.key) == (names.N8N_SECRET, names.DB_PASSWORD)


def test_without_the_pooler_n8n_connects_to_the_primary_and_the_operator_runs_no_pgbouncer() -> None:
    rec, db = _component(pooler=PoolerSettings(enabled=False))
    assert db.connection == db.direct_connection and db.connection.host == "n8n-postgres.n8n.svc"
    (cr,) = [r for r in rec.resources if r.type == "kubernetes:acid.zalan.do/v1:postgresql"]
    assert cr.inputs["spec"]["enableConnectionPooler"] is False and "connectionPooler" not in cr.inputs["spec"]


def test_pooler_is_sized_from_n8n_clients_within_the_role_limit_and_split_like_the_operator() -> None:
    rec, _ = _component(clients=35)
    (cr,) = [r for r in rec.resources if r.type == "kubernetes:acid.zalan.do/v1:postgresql"]
    spec = cr.inputs["spec"]
    assert spec["enableConnectionPooler"] is True
    assert spec["connectionPooler"] == {
        "numberOfInstances": 2, "mode": "transaction", "maxDBConnections": 35,
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "128Mi"}}}
    # never more server connections than the role may open, less what the direct logins need
    assert pooler.server_connections(clients=5000, connection_limit=200) == 200 - pooler.DIRECT_RESERVE
    assert pooler.server_connections(clients=35, connection_limit=200) == 35
    # per pod, as getConnectionPoolerEnvVars divides it (Go integer division)
    assert pooler.pod_pools(35, 2) == pooler.PodPools(max_db_connections=17, default_pool_size=8,
                                                      reserve_pool_size=4)
    settings = pooler.pgbouncer_settings(35, 2)
    assert (settings["pool_mode"], settings["default_pool_size"], settings["max_db_connections"]) == (
        "transaction", "8", "17")
    with pytest.raises(ValueError, match="fewer than 2"):
        _component(clients=3)


def test_bootstrap_job_logs_in_at_the_primary_not_through_the_pooler() -> None:
    rec, _ = _component()
    (job,) = [r for r in rec.resources if r.type == "kubernetes:batch/v1:Job"]
    env = {e["name"]: e.get("value") for e in job.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["PGHOST"] == "n8n-postgres.n8n.svc"


def test_certificate_names_the_pooler_service_which_serves_it_to_n8n() -> None:
    dns = certificate_manifest("n8n-postgres", "n8n")["spec"]["dnsNames"]
    assert {"n8n-postgres-pooler.n8n.svc", "n8n-postgres-pooler.n8n.svc.cluster.local"} <= set(dns)


@pytest.mark.parametrize("clients", [0, -1, "35", 35.0, True])
def test_clients_must_be_a_whole_number_of_connections(clients) -> None:
    with pytest.raises(ValueError, match="PatroniDatabase: clients must be a whole number"):
        _component(clients=clients)


def test_cluster_resource_is_protected_and_retained_because_deleting_it_drops_the_database() -> None:
    rec, _ = _component(protect=True)
    (cr,) = [r for r in rec.resources if r.type == "kubernetes:acid.zalan.do/v1:postgresql"]
    assert cr.options["protect"] is True and cr.options["retain_on_delete"] is True


def test_wal_role_reads_and_writes_only_the_wal_prefix_and_trusts_only_the_operator_pod_account() -> None:
    rec, _ = _component()
    policy = json.loads(rec.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    resources = [r for s in policy["Statement"] for r in s["Resource"]]
    assert "arn:aws:s3:::n8n-archive/wal/*" in resources
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert {"s3:GetObject", "kms:Decrypt", "s3:PutObject"} <= actions
    assert not any(a.startswith("s3:Delete") for a in actions)
    trust = json.loads(rec.one("aws:iam/role:Role").inputs["assumeRolePolicy"])
    assert "system:serviceaccount:n8n:postgres-pod" in json.dumps(trust)


def test_bootstrap_job_logs_in_as_the_operator_made_admin_and_verifies_tls() -> None:
    rec, _ = _component(archive=None)
    (job,) = [m for m in rec.manifests() if m["kind"] == "Job"]
    pod = job["spec"]["template"]["spec"]
    secrets = {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    assert "dbadmin.n8n-postgres.credentials.postgresql.acid.zalan.do" in secrets
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert env["PGSSLMODE"] == "verify-full" and env["PGHOST"] == "n8n-postgres.n8n.svc"
    assert not rec.find(type="aws:iam/role:Role")  # no archive, no AWS role


def test_bootstrap_job_carries_the_secrets_revision_so_a_new_n8n_password_reruns_it() -> None:
    def job_of(rev: str):
        rec, _ = _component(archive=None, secrets_revision=pulumi.Output.secret(rev))
        return rec.one("kubernetes:batch/v1:Job")

    job = job_of("0123456789abcdef")
    assert not is_secret(job.inputs["spec"])
    assert job.inputs["spec"]["template"]["metadata"]["annotations"] == {
        names.SECRETS_REVISION_ANNOTATION: "0123456789abcdef"}
    assert job_of("fedcba9876543210").inputs["spec"]["template"] != job.inputs["spec"]["template"]


def test_only_the_namespace_is_required():
    from n8n_platform.database import PatroniDatabase

    rec = run(lambda: PatroniDatabase("db", {"namespace": "lab"}))
    cluster = next(m for m in rec.manifests() if m["kind"] == "postgresql")
    assert cluster["metadata"]["name"] == "n8n-postgres" and cluster["spec"]["numberOfInstances"] == 3
    assert rec.one("kubernetes:acid.zalan.do/v1:postgresql").options["retain_on_delete"] is False


def test_opts_depends_on_reaches_the_certificate_and_the_cluster():
    """The operator, CA issuer, namespace and n8n Secret go in opts.depends_on; Pulumi does not pass a component's
    depends_on to its children, so the component does."""
    import pulumi
    import pulumi_kubernetes as kubernetes

    def program():
        operator = kubernetes.core.v1.Namespace("operator", metadata={"name": "postgres-operator"})
        PatroniDatabase("db", {"namespace": "lab"}, pulumi.ResourceOptions(depends_on=[operator]))

    rec = run(program)
    for kind in ("kubernetes:cert-manager.io/v1:Certificate", "kubernetes:acid.zalan.do/v1:postgresql"):
        (resource,) = rec.find(kind)
        assert "operator" in resource.options["depends_on"], kind
