"""The disaster-recovery drill on real software: last night's dump and the escrowed key bring n8n back elsewhere.

1. An AWS API on 127.0.0.1 (:mod:`tools.testing.e2e.s3`) holds the dump bucket as the dev plan renders it with nightly
   dumps on (versioned, Object Lock with the plan's mode and days) and the encryption-key escrow (the plan's Secrets
   Manager name, holding what the plan puts there: the n8n Secret's encryption-key).
2. The source: real n8n in queue mode from the dev stack's contract, with a credential (imported, so n8n encrypts it
   with the stack's key), a workflow whose webhook authenticates with it, and executions.
3. The dump: the plan's dump CronJob pod, its two containers run as processes (:mod:`tools.testing.e2e.pods`): pg_dump
   as the n8n role over TLS, then the AWS CLI upload with SSE-KMS and a SHA-256 checksum, through the web identity the
   pod's IRSA variables name. Executions after it are what the restore loses (the RPO).
4. The disaster: every source process and its PostgreSQL gone.
5. The restore: the runbook's steps (:mod:`n8n_platform.disaster_recovery`), those marked drilled run as written with
   the runbook's variables, the others stood in for as each step says; the RTO runs from its first step to every
   n8n role ready on the restored database.

``python -m tools.testing.e2e.dr`` runs it once and prints the figures (nice it: it starts six n8n processes in turn).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import string
import subprocess
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from n8n_platform import names
from n8n_platform.disaster_recovery import STAGE, STEPS, Step

from .cluster import DB_NAME, DB_SCHEMA, DB_USER, QueueModeCluster
from .faults import FINAL
from .install import Install
from .load import post_json
from .pods import LocalContainer
from .processes import http_request, n8n_cli
from .s3 import AWS_CLI, AwsApi
from .servers import PG_BIN, free_port

STACK = "dev"
PLAN_OVERRIDES = {"backups": {"dumps": True}}
"""The dev stack with prod's nightly dump switched on (dev has none): the dev contract, the dump Job it would run."""
CREDENTIAL_ID = "e2eDrHeaderAuth1"
GUARDED_ID = "e2eDrGuardedFlow"
GUARDED_PATH = "e2e-dr-guarded"
TOKEN_HEADER = "X-Drill-Token"
DECRYPTION_FAILED = "Credentials could not be decrypted. The likely reason is that a different"
"""n8n's own error (n8n-core CREDENTIAL_ERRORS.DECRYPTION_FAILED, which goes on ``"encryptionKey" was used to
encrypt the data.``; quoted inside a JSON log line) when the key is not the one that encrypted."""


@dataclass(frozen=True)
class PlanFacts:
    """What the drill takes from the offline plan."""

    dump_pod: dict[str, Any]
    dump_bucket: str
    dump_prefix: str
    lock: dict[str, Any]
    """The dump bucket's Object Lock default retention (``mode``, ``days``)."""
    escrow_name: str
    escrow_kms_key: str
    escrow_holds_the_n8n_key: bool
    region: str
    namespace: str


def plan_facts() -> PlanFacts:
    """The dump CronJob's pod, the dump bucket and its lock, and the escrow, from the dev plan with dumps on."""
    from tools import offline

    rec = offline.run_stack(STACK, PLAN_OVERRIDES)
    (cron,) = [offline.manifest(r) for r in rec.find("kubernetes:batch/v1:CronJob")]
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    upload = pod["containers"][0]
    prefix = re.search(r'key="([^"$]*)\$', upload["command"][-1]).group(1)
    (lock,) = [r.inputs["rule"]["defaultRetention"] for r in
               rec.find("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration") if "dumps" in r.name]
    escrow = rec.one("aws:secretsmanager/secret:Secret", "n8n-secrets-escrow")
    version = rec.one("aws:secretsmanager/secretVersion:SecretVersion", "n8n-secrets-escrow-version")
    (secret,) = [r for r in rec.find("kubernetes:core/v1:Secret") if r.name.endswith(names.N8N_SECRET)]
    held = offline.plain(version.inputs["secretString"])
    env = {e["name"]: e["value"] for e in upload["env"]}
    return PlanFacts(
        dump_pod=pod, dump_bucket=env["DUMP_BUCKET"], dump_prefix=prefix,
        lock={"mode": lock["mode"], "days": int(lock["days"])},
        escrow_name=escrow.inputs["name"], escrow_kms_key=escrow.inputs["kmsKeyId"],
        escrow_holds_the_n8n_key=held == offline.plain(secret.inputs["stringData"])[names.ENCRYPTION_KEY],
        region=env["AWS_REGION"], namespace=cron["metadata"]["namespace"])


def credential(token: str) -> dict[str, Any]:
    """A Header Auth credential (plain data: the n8n CLI encrypts it on import)."""
    return {"id": CREDENTIAL_ID, "name": "DR drill header auth", "type": "httpHeaderAuth",
            "data": {"name": TOKEN_HEADER, "value": token}}


def guarded_workflow() -> dict[str, Any]:
    """Webhook that admits only callers sending the credential's header -> Code node (on the worker's runner)."""
    return {
        "id": GUARDED_ID, "name": "e2e DR guarded", "active": False,
        "nodes": [
            {"id": str(uuid.uuid4()), "name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2,
             "position": [0, 0], "webhookId": str(uuid.uuid4()),
             "parameters": {"httpMethod": "POST", "path": GUARDED_PATH, "authentication": "headerAuth",
                            "responseMode": "lastNode", "options": {}},
             "credentials": {"httpHeaderAuth": {"id": CREDENTIAL_ID, "name": "DR drill header auth"}}},
            {"id": str(uuid.uuid4()), "name": "Code", "type": "n8n-nodes-base.code", "typeVersion": 2,
             "position": [240, 0],
             "parameters": {"jsCode": "return [{ json: { admitted: $input.first().json.body.n } }];\n"}},
        ],
        "connections": {"Webhook": {"main": [[{"node": "Code", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"}, "pinData": {},
    }


def post(url: str, body: dict, headers: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    """Status and body of one JSON POST (0 when nothing answers)."""
    return http_request(urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                               headers={"Content-Type": "application/json", **headers}), timeout)


def call_guarded(cluster: QueueModeCluster, token: str, n: int, timeout: float = 120) -> tuple[int, str]:
    """The guarded webhook with ``token``; retried while it answers 404 (not registered yet) or nothing."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = post(cluster.webhook.url(f"/webhook/{GUARDED_PATH}"), {"n": n}, {TOKEN_HEADER: token})
        if status not in (0, 404) or time.monotonic() > deadline:
            return status, body
        time.sleep(1)


def pg_env(cluster: QueueModeCluster) -> dict[str, str]:
    """The runbook's PG* variables for ``cluster``'s database, as its n8n role over verify-full TLS."""
    return {"PGHOST": "127.0.0.1", "PGPORT": str(cluster.pg.port), "PGDATABASE": DB_NAME, "PGUSER": DB_USER,
            "PGSSLMODE": "verify-full", "PGSSLROOTCERT": cluster.mounted(cluster.inputs.db.ca.path("db")),
            "PGPASSWORD": cluster.secret(names.DB_PASSWORD)}


def tools_path() -> str:
    """PATH with the PostgreSQL client and the AWS CLI first."""
    return os.pathsep.join([str(PG_BIN), str(Path(AWS_CLI).parent), "/usr/bin", "/bin"])


def run_step(step: Step, env: dict[str, str], cwd: Path, timeout: float = 300) -> str:
    """A drilled step's commands as written, in ``sh -eu``; returns stdout, raises with both streams on failure."""
    assert step.drilled, step.title
    done = subprocess.run(["sh", "-euc", step.commands], env={"PATH": tools_path(), "HOME": str(cwd), **env},
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"step {step.title!r} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def step(title: str) -> Step:
    """The runbook's step whose title starts with ``title``."""
    (found,) = [s for s in STEPS if s.title.startswith(title)]
    return found


def wait_settled(cluster: QueueModeCluster, timeout: float = 180) -> list[dict]:
    """Every execution of the database in a final state (bounded wait); their rows."""
    deadline = time.monotonic() + timeout
    while True:
        rows = executions(cluster)
        if all(r["status"] in FINAL for r in rows) or time.monotonic() > deadline:
            return rows
        time.sleep(1)


def executions(cluster: QueueModeCluster) -> list[dict]:
    """Every execution (id, workflow, status, mode, times) with the size of its stored data, read as superuser."""
    with cluster.pg.connect(DB_NAME) as conn:
        cur = conn.execute(
            f'SELECT e.id, e."workflowId", e.status, e.mode, e."startedAt", e."stoppedAt", length(d.data) '
            f'FROM {DB_SCHEMA}.execution_entity e LEFT JOIN {DB_SCHEMA}.execution_data d '
            'ON d."executionId" = e.id ORDER BY e.id')
        return [dict(zip(("id", "workflow", "status", "mode", "started", "stopped", "data"), row, strict=True))
                for row in cur.fetchall()]


def workflows(cluster: QueueModeCluster) -> list[tuple]:
    with cluster.pg.connect(DB_NAME) as conn:
        return conn.execute(f'SELECT id, name, "versionId", "activeVersionId" FROM {DB_SCHEMA}.workflow_entity '
                            "ORDER BY id").fetchall()


def export_credential(cluster: QueueModeCluster, key: str | None = None) -> str:
    """``n8n export:credentials --decrypted`` of the drill's credential on ``cluster``'s database (with another
    encryption key: ``key``); returns the exported JSON, raises with n8n's output when the CLI fails."""
    folder = "cli-export" if key is None else "cli-wrong-key"
    env = cluster.env("main", folder, free_port())
    if key is not None:
        wrong = cluster.workdir / "wrong-encryption-key"
        wrong.write_text(key)
        env["N8N_ENCRYPTION_KEY_FILE"] = str(wrong)
    out = cluster.workdir / f"{folder}.json"
    n8n_cli(cluster.install, ["export:credentials", f"--id={CREDENTIAL_ID}", "--decrypted", f"--output={out}"], env)
    return out.read_text()


def random_key() -> str:
    """A key shaped like the platform's generated N8N_ENCRYPTION_KEY (48 alphanumerics)."""
    from n8n_platform.secrets import ENCRYPTION_KEY_LENGTH

    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(ENCRYPTION_KEY_LENGTH))


@dataclass
class DumpObjects:
    """What S3 says about the uploaded dump, next to what the dump Job had on its disk."""

    keys: list[str]
    head: dict[str, Any]
    local_sha256_b64: str
    sha256_file: tuple[str, str]
    """(the uploaded .sha256 object, the Job's own .sha256 file)."""
    delete_error: str
    """The error S3 gave when the dump's version was deleted ('' if it was deleted)."""


@dataclass
class DrillResult:
    facts: PlanFacts
    dump: DumpObjects
    upload_log: str
    history_at_dump: str
    history_restored: str
    workflows_source: list[tuple]
    workflows_restored: list[tuple]
    executions_at_dump: list[dict]
    executions_restored: list[dict]
    """Right after the restore, before n8n starts on it."""
    executions_running: list[dict]
    """Once the restored n8n is up (it has run its own executions since: the webhook check, the guarded calls)."""
    lost: list[dict]
    """Executions written after the dump."""
    guarded: tuple[int, str]
    guarded_wrong_token: tuple[int, str]
    exported_credential: str
    wrong_key_error: str
    timings: dict[str, float] = field(default_factory=dict)


def _aws_setup(aws: AwsApi, facts: PlanFacts, key: str) -> None:
    """The dump bucket and the escrow as the plan renders them."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=facts.dump_bucket, ObjectLockEnabledForBucket=True,
                     CreateBucketConfiguration={"LocationConstraint": facts.region})
    s3.put_object_lock_configuration(Bucket=facts.dump_bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": facts.lock["mode"], "Days": facts.lock["days"]}}})
    aws.client("secretsmanager").create_secret(Name=facts.escrow_name, KmsKeyId=facts.escrow_kms_key,
                                               SecretString=key)


def _run_dump_job(facts: PlanFacts, source: QueueModeCluster, aws: AwsApi, root: Path) -> str:
    """The plan's dump pod against ``source``: each volume filled as Kubernetes would, then init and main container."""
    dump, upload = (LocalContainer(c, root) for c in (facts.dump_pod["initContainers"][0],
                                                      facts.dump_pod["containers"][0]))
    for volume in facts.dump_pod["volumes"]:
        for item in volume.get("secret", {}).get("items", []):
            value = (Path(source.mounted(source.inputs.db.ca.path("db"))).read_text() if item["key"] == "ca.crt"
                     else source.secret(item["key"]))
            (dump.mount(volume["name"]) / item["path"]).write_text(value)
        for src in volume.get("projected", {}).get("sources", []):  # the IRSA token; the local STS takes any
            (upload.mount(volume["name"]) / src["serviceAccountToken"]["path"]).write_text("drill-token")
    path = {"PATH": tools_path()}
    done = dump.run({**path, "PGHOST": "127.0.0.1", "PGPORT": str(source.pg.port)}, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"dump container failed:\n{done.stdout}\n{done.stderr}")
    done = upload.run({**path, "AWS_ENDPOINT_URL": aws.endpoint}, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"upload container failed:\n{done.stdout}\n{done.stderr}\n{aws.log_tail()}")
    return done.stdout


def _dump_objects(aws: AwsApi, facts: PlanFacts, root: Path) -> DumpObjects:
    s3 = aws.client("s3")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=facts.dump_bucket)["Contents"])
    (key,) = [k for k in keys if k.endswith(".dump")]
    head = s3.head_object(Bucket=facts.dump_bucket, Key=key, ChecksumMode="ENABLED")
    local = root / "backup" / "n8n.dump"
    uploaded_sum = s3.get_object(Bucket=facts.dump_bucket, Key=f"{key}.sha256")["Body"].read().decode()
    try:
        s3.delete_object(Bucket=facts.dump_bucket, Key=key, VersionId=head["VersionId"])
        error = ""
    except Exception as e:  # botocore's ClientError: what S3 said
        error = str(e)
    return DumpObjects(keys=keys, head={k: v for k, v in head.items() if k != "ResponseMetadata"},
                       local_sha256_b64=base64.b64encode(hashlib.sha256(local.read_bytes()).digest()).decode(),
                       sha256_file=(uploaded_sum, (root / "backup" / "n8n.dump.sha256").read_text()),
                       delete_error=error)


def drill(install: Install, workdir: Path, executions_before: int = 4, executions_after: int = 3) -> DrillResult:
    """The whole drill (see the module docstring); every server it starts is stopped before it returns."""
    facts = plan_facts()
    key, token = random_key(), secrets.token_urlsafe(24)
    timings: dict[str, float] = {}
    with AwsApi(facts.region) as aws:
        _aws_setup(aws, facts, key)
        t0 = time.monotonic()
        with QueueModeCluster(install, worker_concurrency=5, credentials=[credential(token)],
                              extra_workflows=[guarded_workflow()], secret_values={names.ENCRYPTION_KEY: key},
                              workdir=workdir / "source") as source:
            timings["source up s"] = time.monotonic() - t0
            post_json(source.webhook_url, executions_before, 2)
            guarded_before = call_guarded(source, token, 1)
            if guarded_before[0] != 200:
                raise RuntimeError(f"the source's guarded webhook answered {guarded_before}")
            at_dump = wait_settled(source)
            history_at_dump = run_step(step("Validate history"), pg_env(source), workdir)
            workflows_source = workflows(source)
            t_dump = time.monotonic()
            upload_log = _run_dump_job(facts, source, aws, workdir / "dump-pod")
            timings["dump job s"] = time.monotonic() - t_dump
            post_json(source.webhook_url, executions_after, 1, payload=lambda i: {"n": 1000 + i})
            after = wait_settled(source)
            timings["last write after the dump s"] = time.monotonic() - t_dump  # the drill's RPO
            lost = [r for r in after if r not in at_dump]
        dump = _dump_objects(aws, facts, workdir / "dump-pod")
        timings["dump size KiB"] = dump.head["ContentLength"] / 1024

        ops = workdir / "operator"
        ops.mkdir()
        aws_env = {**aws.env(), "ESCROW": facts.escrow_name, "DUMP_BUCKET": facts.dump_bucket,
                   "DUMP_PREFIX": facts.dump_prefix, "N8N_NAMESPACE": facts.namespace, "N8N_SCHEMA": DB_SCHEMA}
        t_restore = time.monotonic()
        run_step(step("The encryption key"), aws_env, ops)
        run_step(step("The newest dump"), aws_env, ops)
        escrowed = (ops / "encryption-key").read_text().strip()  # what "$(cat encryption-key)" gives pulumi
        restored = QueueModeCluster(install, worker_concurrency=5, secret_values={names.ENCRYPTION_KEY: escrowed},
                                    workdir=workdir / "restored")
        try:
            restored.start_data_layer()  # stands in for `pulumi up`: the database and the bootstrap's n8n role
            stage = {**aws_env, **pg_env(restored)}
            if set(stage) - {"AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
                             "AWS_SECRET_ACCESS_KEY"} != {v.name for v in STAGE}:
                raise AssertionError(f"the drill sets {sorted(stage)}, the runbook's stage {[v.name for v in STAGE]}")
            run_step(step("Restore the dump"), stage, ops)
            history_restored = run_step(step("Validate history"), stage, ops)
            executions_restored = executions(restored)
            t_n8n = time.monotonic()
            restored.start_processes()  # stands in for scaling back up; each role until its readiness is 200
            timings["restored n8n ready s"] = time.monotonic() - t_n8n
            timings["RTO: restore start to every role ready s"] = time.monotonic() - t_restore
            result = DrillResult(
                facts=facts, dump=dump, upload_log=upload_log, history_at_dump=history_at_dump,
                history_restored=history_restored, workflows_source=workflows_source,
                workflows_restored=workflows(restored), executions_at_dump=at_dump,
                executions_restored=executions_restored, lost=lost,
                guarded=call_guarded(restored, token, 2), guarded_wrong_token=call_guarded(restored, "wrong", 3),
                executions_running=wait_settled(restored),
                exported_credential=export_credential(restored), wrong_key_error="", timings=timings)
            try:
                export_credential(restored, key=random_key())
            except RuntimeError as e:  # the CLI's exit: n8n's output is in the message
                result.wrong_key_error = str(e)
        finally:
            restored.stop()
    return result


def main() -> None:
    from . import install as n8n_install

    with tempfile.TemporaryDirectory(prefix="n8n-dr-") as tmp:
        result = drill(n8n_install.ensure(), Path(tmp))
    for name, value in result.timings.items():
        print(f"{name:45s} {value:8.1f}")
    print(f"lost (written after the dump): {len(result.lost)} executions; restored: "
          f"{len(result.executions_restored)} rows; history at dump:\n{result.history_at_dump}")


if __name__ == "__main__":
    main()
