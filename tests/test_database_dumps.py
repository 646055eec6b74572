"""Nightly dumps: the builder's pg_dump command line run against a REAL PostgreSQL 15 and restored with pg_restore;
the CronJob through kubernetes-validate/checkov; the component under mocks. The whole Job, upload included (aws s3
cp with SSE-KMS and a checksum into an object-locked bucket, on an S3-compatible server), runs in the DR drill
(tests/e2e/test_disaster_recovery.py)."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest

from n8n_platform import names
from n8n_platform.connections import CaBundle, DatabaseConnection, SecretKeyRef
from n8n_platform.database.common import S3Location
from n8n_platform.database.dumps import (
    DUMP_FILE,
    DatabaseDumps,
    DatabaseDumpsArgs,
    dump_command,
    dump_manifests,
    upload_script,
)
from n8n_platform.irsa import OidcProvider
from tests.harness import run
from tests.test_database_bootstrap import N8N_PASSWORD, PG_BIN, PgServer, apply_bootstrap, pg_server  # noqa: F401

TARGET = S3Location("n8n-dumps", "arn:aws:s3:::n8n-dumps", "dumps/",
                    "arn:aws:kms:eu-west-1:123456789012:key/abc", "eu-west-1")
CONNECTION = DatabaseConnection(host="n8n-postgres.n8n.svc", port=5432, database="n8n", user="n8n", schema="n8n",
                                password=SecretKeyRef(names.N8N_SECRET, names.DB_PASSWORD), ssl=True,
                                ca=CaBundle("secret", "n8n-postgres-tls", "ca.crt"))


def test_dump_command_dumps_n8n_schema_and_pg_restore_reads_it_back(pg_server: PgServer) -> None:  # noqa: F811
    from n8n_platform.database.bootstrap import bootstrap_sql

    assert apply_bootstrap(pg_server, bootstrap_sql("dumped", "dumped", "dumped", 20, 60), N8N_PASSWORD).returncode == 0
    with pg_server.connect("postgres", None, "dumped") as conn:  # an admin table the n8n role cannot read
        conn.execute("CREATE SCHEMA IF NOT EXISTS admin_only; CREATE TABLE IF NOT EXISTS admin_only.t (v int)")
    with pg_server.connect("dumped", N8N_PASSWORD, "dumped") as conn:
        conn.execute("CREATE TABLE workflow_entity (id text primary key, name text)")
        conn.execute("INSERT INTO workflow_entity VALUES ('w1', 'nightly report')")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / DUMP_FILE
        argv = dump_command("dumped", str(out))
        argv[0] = str(PG_BIN / argv[0])
        dumped = subprocess.run(argv, env=pg_server.env("dumped", N8N_PASSWORD, "dumped"), capture_output=True,
                                text=True, timeout=120)
        assert dumped.returncode == 0, dumped.stderr  # as the n8n role, despite the unreadable admin schema
        listing = subprocess.run([str(PG_BIN / "pg_restore"), "--list", str(out)], capture_output=True, text=True,
                                 timeout=60, check=True).stdout
        assert "TABLE DATA dumped workflow_entity" in listing
        assert "admin_only" not in listing
        restored = subprocess.run([str(PG_BIN / "pg_restore"), "--data-only", "--file=-", str(out)],
                                  capture_output=True, text=True, timeout=60, check=True).stdout
        assert "nightly report" in restored


def _manifests() -> list[dict]:
    return dump_manifests(name="n8n-db-dump", namespace="n8n", connection=CONNECTION, credentials=CONNECTION.password,
                          target=TARGET, role_arn="arn:aws:iam::123456789012:role/dump", schedule="15 2 * * *")


def _cron() -> dict:
    _account, cron = _manifests()
    return cron


def test_cronjob_never_overlaps_and_is_bounded_in_time() -> None:
    spec = _cron()["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["schedule"] == "15 2 * * *" and spec["startingDeadlineSeconds"] > 0
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] >= 1 and job["activeDeadlineSeconds"] > 0
    assert spec["successfulJobsHistoryLimit"] > 0 and spec["failedJobsHistoryLimit"] > 0


def test_upload_is_kms_encrypted_checksummed_and_under_the_prefix() -> None:
    script = upload_script("n8n", "dumps/")
    assert script.count("--sse aws:kms --sse-kms-key-id \"$DUMP_KMS_KEY\" --checksum-algorithm SHA256") == 2
    assert 'key="dumps/n8n/' in script
    assert "multipart_threshold" not in script  # large dumps upload in parts (the role holds kms:Decrypt)
    pod = _cron()["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert env["DUMP_BUCKET"] == "n8n-dumps" and env["DUMP_KMS_KEY"] == TARGET.kms_key_arn
    assert env["AWS_ROLE_ARN"].endswith(":role/dump") and env["AWS_WEB_IDENTITY_TOKEN_FILE"].endswith("/token")
    dump_env = {e["name"]: e["value"] for e in pod["initContainers"][0]["env"]}
    assert dump_env["PGSSLMODE"] == "verify-full" and dump_env["PGUSER"] == "n8n"


def test_cronjob_passes_kubernetes_validate_and_checkov() -> None:
    from tools.ci.gates import DEFAULT_DENY, checkov, schema_errors

    manifests = _manifests()
    assert schema_errors(manifests) == []
    result = checkov([*manifests, DEFAULT_DENY])
    assert result.failed == []


def test_uploader_role_is_write_only_on_the_dump_prefix_and_trusts_only_its_service_account() -> None:
    oidc = OidcProvider("arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/X",
                        "https://oidc.eks.eu-west-1.amazonaws.com/id/X")
    rec = run(lambda: DatabaseDumps("n8n-dumps", DatabaseDumpsArgs(
        namespace="n8n", connection=CONNECTION, credentials=None, target=TARGET, oidc=oidc,
        schedule="15 2 * * *", scratch_size=None)))
    policy = json.loads(rec.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert "s3:GetObject" not in actions and {"s3:PutObject", "kms:GenerateDataKey", "kms:Decrypt"} <= actions
    assert not any(a.startswith("s3:Delete") for a in actions)
    assert any(r == "arn:aws:s3:::n8n-dumps/dumps/*" for s in policy["Statement"] for r in s["Resource"])
    trust = json.loads(rec.one("aws:iam/role:Role").inputs["assumeRolePolicy"])
    (cond,) = [s["Condition"]["StringEquals"] for s in trust["Statement"]]
    assert "system:serviceaccount:n8n:n8n-dumps-dump" in cond.values()
    (cron,) = [m for m in rec.manifests() if m["kind"] == "CronJob"]
    assert cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["serviceAccountName"] == "n8n-dumps-dump"


@pytest.mark.parametrize("prefix", ["dumps/", "nightly/"])
def test_upload_key_layout_follows_the_prefix(prefix: str) -> None:
    assert f'key="{prefix}n8n/$(cat /backup/stamp)"' in upload_script("n8n", prefix)
