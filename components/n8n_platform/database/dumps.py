"""Nightly logical dumps of the n8n database to S3, for either engine.

A CronJob pod runs two steps: an init container (postgres image) runs ``pg_dump -Fc`` of n8n's schema into an
emptyDir, checks the archive with ``pg_restore --list`` and writes its SHA-256; the main container (AWS CLI) uploads
both with SSE-KMS and an S3 SHA-256 checksum (Object Lock buckets require a checksum on PUT). The uploader's IRSA
role is write-only (``storage.writer_policy(read=False)``): it cannot read, list outside its prefix, or delete
(it holds ``kms:Decrypt``, which SSE-KMS multipart uploads need, but no ``s3:GetObject``).

The dump runs as the n8n role (it owns everything it dumps), so it needs no admin credentials.
"""

# No `from __future__ import annotations` here: these types are part of the component schema Pulumi's analyzer
# infers at run time.
import shlex
from typing import Any, NotRequired, TypedDict

import pulumi

from .. import k8s
from ..arguments import checked, dns_label, matching, plain, quantity, structured
from ..connections import DatabaseConnection, SecretKeyRef
from ..irsa import OidcProvider, irsa_role
from ..namespace import AWS_ACCESS_LABEL, DUMPS, QuotaWorkload
from ..storage import writer_policy
from ..vocabulary import resources as resource_settings
from .common import AWS_CLI_IMAGE, POSTGRES_IMAGE, S3Location, aws_web_identity, ca_volume, libpq_env
from .spec import BackupSettings

DUMP_DIR = "/backup"
DUMP_FILE = "n8n.dump"
CREDENTIALS_DIR = "/etc/db-credentials"
SCRATCH_SIZE = "20Gi"
"""Default emptyDir size for one dump."""
DEFAULT_SCHEDULE = BackupSettings().dump_schedule
"""The platform's nightly schedule (settings ``backups.dumpSchedule``)."""

DUMP_RESOURCES = resource_settings("100m", "1", "256Mi", "1Gi")
"""The pg_dump container (the namespace's LimitRange and quota count it)."""
UPLOAD_RESOURCES = resource_settings("100m", "1", "128Mi", "512Mi")
"""The S3 upload container."""


def service_account(name: str) -> str:
    """The dump pod's service account of the DatabaseDumps ``name`` (its uploader role trusts exactly this one)."""
    return f"{name}-dump"


def dump_command(schema: str, output: str) -> list[str]:
    """The pg_dump argv (target and user from PG* variables): custom format, n8n's schema only, no owner/ACLs."""
    return ["pg_dump", "--format=custom", "--compress=6", f"--schema={schema}", "--no-owner", "--no-privileges",
            "--lock-wait-timeout=120s", "--no-password", f"--file={output}"]


def dump_script(schema: str, password_file: str) -> str:
    """Shell run by the dump init container: dump, verify the archive's table of contents, write its checksum."""
    target = f"{DUMP_DIR}/{DUMP_FILE}"
    return "\n".join([
        "set -eu",
        f'PGPASSWORD="$(cat {password_file})"',
        "export PGPASSWORD",
        shlex.join(dump_command(schema, target)),
        f"pg_restore --list {target} > /dev/null",
        f"cd {DUMP_DIR} && sha256sum {DUMP_FILE} > {DUMP_FILE}.sha256",
        f'date -u +%Y%m%dT%H%M%SZ > {DUMP_DIR}/stamp',
    ])


def upload_script(database: str, prefix: str) -> str:
    """Shell run by the upload container; bucket and key come from the environment (DUMP_BUCKET, DUMP_KMS_KEY)."""
    key = f'{prefix}{database}/$(cat {DUMP_DIR}/stamp)'
    sse = '--sse aws:kms --sse-kms-key-id "$DUMP_KMS_KEY" --checksum-algorithm SHA256 --only-show-errors'
    return "\n".join([
        "set -eu",
        f'key="{key}"',
        f'aws s3 cp {DUMP_DIR}/{DUMP_FILE} "s3://$DUMP_BUCKET/$key.dump" {sse}',
        f'aws s3 cp {DUMP_DIR}/{DUMP_FILE}.sha256 "s3://$DUMP_BUCKET/$key.dump.sha256" {sse}',
        'echo "uploaded s3://$DUMP_BUCKET/$key.dump"',
    ])


def dump_manifests(*, name: str, namespace: str, connection: DatabaseConnection, credentials: SecretKeyRef,
                   target: S3Location, role_arn: pulumi.Input[str], schedule: str,
                   scratch_size: str = SCRATCH_SIZE) -> list[dict[str, Any]]:
    """ServiceAccount + CronJob dumping ``connection``'s schema nightly to ``target`` with IRSA role ``role_arn``.

    ``credentials`` is the Secret key holding the password of ``connection.user``.
    """
    meta = lambda n, **kw: k8s.metadata(n, namespace, DUMPS, **kw)  # noqa: E731
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(name),
               "automountServiceAccountToken": False}
    ca_volumes, ca_mounts = ca_volume(connection)
    token_volume, token_mount, aws_env = aws_web_identity(role_arn, target.region)
    backup_mount = {"name": "backup", "mountPath": DUMP_DIR}
    dump = {
        "name": "pg-dump",
        "image": POSTGRES_IMAGE,
        "imagePullPolicy": "Always",
        "command": ["/bin/sh", "-c", dump_script(connection.schema, f"{CREDENTIALS_DIR}/password")],
        "env": [*libpq_env(connection, database=connection.database, application="n8n-db-dump"),
                {"name": "PGUSER", "value": connection.user}],
        "resources": k8s.resources(DUMP_RESOURCES),
        "securityContext": k8s.container_security_context(),
        "volumeMounts": [backup_mount, {"name": "credentials", "mountPath": CREDENTIALS_DIR, "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}, *ca_mounts],
    }
    upload = {
        "name": "upload",
        "image": AWS_CLI_IMAGE,
        "imagePullPolicy": "Always",
        "command": ["/bin/sh", "-c", upload_script(connection.database, target.prefix)],
        "env": [*aws_env,
                {"name": "DUMP_BUCKET", "value": target.bucket_name},
                {"name": "DUMP_KMS_KEY", "value": target.kms_key_arn},
                {"name": "HOME", "value": "/tmp"}],
        "resources": k8s.resources(UPLOAD_RESOURCES),
        "securityContext": k8s.container_security_context(),
        "volumeMounts": [{**backup_mount, "readOnly": True}, {"name": "tmp", "mountPath": "/tmp"}, token_mount],
    }
    pod = {
        "serviceAccountName": name,
        "automountServiceAccountToken": False,
        "restartPolicy": "Never",
        "securityContext": k8s.pod_security_context(),
        "initContainers": [dump],
        "containers": [upload],
        "volumes": [
            k8s.empty_dir("backup", scratch_size),
            k8s.empty_dir("tmp", "64Mi"),
            {"name": "credentials", "secret": {"secretName": credentials.secret, "defaultMode": 0o400,
                                               "items": [{"key": credentials.key, "path": "password"}]}},
            token_volume,
            *ca_volumes,
        ],
    }
    pod_labels = {**k8s.labels(DUMPS), **dict([AWS_ACCESS_LABEL])}  # admitted to STS/S3 by the aws-api policy
    cron = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": meta(name, annotations=k8s.checkov_skips(k8s.PINNED_TAG_SKIP)),
        "spec": {
            "schedule": schedule,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 5,
            "jobTemplate": {
                "metadata": {"labels": k8s.labels(DUMPS)},
                "spec": {
                    "backoffLimit": 2,
                    "activeDeadlineSeconds": 4 * 3600,
                    "template": {"metadata": {"labels": pod_labels}, "spec": pod},
                },
            },
        },
    }
    return [account, cron]


def quota() -> QuotaWorkload:
    """The dump CronJob's share of the namespace budget: one pod (dump + upload containers). Counted so the
    LimitRange ``max`` admits it: a pod it refused would be a silently missing backup."""
    return QuotaWorkload("dumps", 1, (DUMP_RESOURCES, UPLOAD_RESOURCES))


class DatabaseDumpsArgs(TypedDict):
    """A nightly pg_dump of n8n's database to an object-locked S3 prefix. Only ``schedule`` and ``scratch_size``
    are optional."""

    namespace: str
    """Namespace of n8n (the CronJob runs there, next to the Secret holding the password). A plain value: the
    uploader's IAM role trusts exactly this namespace's service account."""
    connection: DatabaseConnection
    """The database to dump (``RdsDatabase``/``PatroniDatabase.connection``, or your own); its user and schema
    are dumped."""
    credentials: NotRequired[SecretKeyRef]
    """Secret key with the password of the dumping user; default ``connection.password`` (the n8n role)."""
    target: S3Location
    """Dump bucket, prefix (e.g. ``dumps/``) and KMS key (``ArchiveBucket`` outputs, or your own bucket)."""
    oidc: OidcProvider
    """The cluster's IAM OIDC provider (the uploader's IRSA role trusts it)."""
    schedule: NotRequired[str]
    """Cron schedule (UTC); default ``15 2 * * *``."""
    scratch_size: NotRequired[str]
    """emptyDir size for one dump; default 20Gi."""


class DatabaseDumps(pulumi.ComponentResource):
    """CronJob + write-only IRSA role: nightly ``pg_dump -Fc`` of n8n's schema, SSE-KMS, checksummed, to S3.
    Needs first: the database, the password Secret, the bucket (object-locked, so dumps are kept by S3 whatever
    happens to this component) and the cluster's OIDC provider. Keeps nothing itself on delete."""

    cron_job_name: pulumi.Output[str]
    """Name of the CronJob (``kubectl create job --from=cronjob/<name>`` for an ad-hoc dump)."""
    role_arn: pulumi.Output[str]
    """ARN of the uploader's IAM role (PutObject on the dump prefix only)."""

    def __init__(self, name: str, args: DatabaseDumpsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("n8n:index:DatabaseDumps", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        where = "DatabaseDumps"
        args = checked(where, args, DatabaseDumpsArgs, {  # type: ignore[assignment]
            "namespace": dns_label, "schedule": matching(r"(\S+\s+){4}\S+", "a five-field cron schedule such as "
                                                         "'15 2 * * *'"), "scratch_size": quantity})
        namespace = plain(where, "namespace", args["namespace"])
        target = structured(where, "target", S3Location, args["target"])
        connection = structured(where, "connection", DatabaseConnection, args["connection"])
        credentials = args.get("credentials")
        credentials = (structured(where, "credentials", SecretKeyRef, credentials) if credentials is not None
                       else connection.password)
        account = service_account(name)
        policy = pulumi.Output.json_dumps(writer_policy(target.bucket_arn, target.prefix, target.kms_key_arn,
                                                        read=False))
        oidc = structured(where, "oidc", OidcProvider, args["oidc"])
        role = irsa_role(f"{name}-uploader", oidc=oidc, namespace=namespace, service_account=account,
                         policy=policy, description="n8n nightly pg_dump uploader (write-only)", opts=child)
        manifests = dump_manifests(
            name=account, namespace=namespace, connection=connection, credentials=credentials, target=target,
            role_arn=role.arn, schedule=plain(where, "schedule", args.get("schedule") or DEFAULT_SCHEDULE),
            scratch_size=args.get("scratch_size") or SCRATCH_SIZE)
        k8s.apply_all(name, manifests, child)
        self.cron_job_name = pulumi.Output.from_input(account)
        self.role_arn = role.arn
        self.register_outputs({"cron_job_name": self.cron_job_name, "role_arn": self.role_arn})
