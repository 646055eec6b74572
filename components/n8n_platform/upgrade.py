"""Upgrading n8n: a copy of the database from just before main starts a new version.

n8n's migrations only go forward and only a restore undoes them, so when ``n8n.version`` changes the stack first
takes a copy of the database, and main's Deployment (with it every n8n workload) waits for it:

- **RDS**: a manual DB snapshot (``aws.rds.Snapshot``) ``<instance>-pre-upgrade-<from>-to-<to>``; the engine waits
  until it is available.
- **Patroni** with ``backups.dumps``: a one-off Job built from the nightly dump CronJob's template (same pod, same
  write-only IRSA role, same object-locked bucket) that writes ``dumps/<copy name>/<database>/<UTC stamp>.dump``;
  the engine waits until the Job has succeeded. Without dumps there is no copy (a warning says so): roll back with
  point-in-time recovery from the WAL archive instead.

The version running before the update is the stack's own output ``n8nVersion`` (:data:`STACK_OUTPUT`, exported
from ``N8nApp.version`` once main has rolled out), read through a StackReference to the stack itself
(:func:`deployed_version`). No previous version (the stack's first update with this output): no copy. The same
version: no copy. A copy belongs to the update that made it: the next update no longer registers it, and it is
retained on delete, so Pulumi forgets it and the snapshot or dump stays (the finished Job object is deleted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from . import k8s
from .connections import DatabaseConnection, SecretKeyRef
from .database.common import S3Location
from .database.dumps import DEFAULT_SCHEDULE, dump_manifests

STACK_OUTPUT = "n8nVersion"
"""The stack output holding the n8n version main runs (the previous version of the next update)."""
VERSION = re.compile(r"2\.[0-9]+\.[0-9]+")
"""The versions this platform deploys (settings ``n8n.version``)."""
COPY_TIMEOUT_SECONDS = 4 * 3600
"""How long the engine waits for the copy (the nightly dump Job's own deadline)."""


def copy_name(previous: str | None, version: str) -> str | None:
    """``n8n-pre-upgrade-<from>-to-<to>`` (dots as dashes, so the name is valid for RDS, Kubernetes, S3 and Pulumi
    alike) when the version changes; None on a first deployment (no previous version) or the same version."""
    if previous is None or previous == version:
        return None
    for what, value in (("previous version", previous), ("version", version)):
        if not isinstance(value, str) or not VERSION.fullmatch(value):
            raise ValueError(f"upgrade: {what} {value!r} must be an n8n 2.x release such as 2.40.7 (stack output "
                             f"{STACK_OUTPUT!r} and setting n8n.version)")
    return f"n8n-pre-upgrade-{previous.replace('.', '-')}-to-{version.replace('.', '-')}"


def is_downgrade(previous: str, version: str) -> bool:
    """Whether ``version`` is older than ``previous`` (n8n cannot migrate a schema back)."""
    return tuple(map(int, version.split("."))) < tuple(map(int, previous.split(".")))


def self_reference_name() -> str:
    """Fully qualified name of the running stack (``<organization>/<project>/<stack>``; ``organization`` is the
    self-managed backends' organization)."""
    return f"{pulumi.get_organization() or 'organization'}/{pulumi.get_project()}/{pulumi.get_stack()}"


def deployed_version(opts: pulumi.ResourceOptions | None = None) -> str | None:
    """The n8n version the stack's last successful update deployed: its own output :data:`STACK_OUTPUT`, read
    through a StackReference to itself, as a plain value (the copy exists or not, so preview must know it). None
    when the stack has no such output yet."""
    from pulumi.runtime.sync_await import _sync_await

    reference = pulumi.StackReference("n8n-deployed", stack_name=self_reference_name(), opts=opts)
    details = _sync_await(reference.get_output_details(STACK_OUTPUT))
    value = details.value if details.value is not None else details.secret_value
    return None if value is None else str(value)


def snapshot_identifier(instance: str, name: str) -> str:
    """The RDS snapshot's identifier: the instance's in front, as snapshot names are unique per account and region
    (two stacks in one account upgrade the same versions)."""
    return f"{instance}-{name.removeprefix('n8n-')}"


def rds_snapshot(component: str, name: str, *, instance: str, previous: str, version: str,
                 tags: dict[str, str], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """A manual snapshot of RDS instance ``instance`` named after the versions, retained on delete (never
    protected: the next update drops it from the stack and must not fail on it)."""

    return aws.rds.Snapshot(
        f"{component}-snapshot-{name}", db_instance_identifier=instance,
        db_snapshot_identifier=snapshot_identifier(instance, name),
        tags={**tags, "n8n.io/upgrade-from": previous, "n8n.io/upgrade-to": version},
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True)))


def dump_job(name: str, template: list[dict[str, Any]]) -> dict[str, Any]:
    """A Job named ``name`` with the job template of the dump CronJob in ``template`` (what ``kubectl create job
    --from=cronjob/...`` makes), which the engine waits for up to :data:`COPY_TIMEOUT_SECONDS`. Shares the
    template's objects: pass a template rendered for this Job alone."""
    cron = next(m for m in template if m["kind"] == "CronJob")
    meta = {**cron["metadata"], "name": name, "annotations": {
        **cron["metadata"].get("annotations", {}), "pulumi.com/timeoutSeconds": str(COPY_TIMEOUT_SECONDS)}}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": cron["spec"]["jobTemplate"]["spec"]}


@dataclass(frozen=True)
class DumpSource:
    """The nightly dump a stack runs (:class:`DatabaseDumps`), whose Job the copy runs once more."""

    service_account: str
    """The dump pod's service account (``dumps.service_account(<DatabaseDumps name>)``), trusted by the role."""
    namespace: str
    """Namespace of the dump CronJob."""
    connection: DatabaseConnection
    """The database dumped."""
    credentials: SecretKeyRef
    """Password of ``connection.user``."""
    target: S3Location
    """The dump bucket and prefix."""
    role_arn: pulumi.Input[str]
    """``DatabaseDumps.role_arn``: the write-only uploader role."""


def dump_copy_manifest(name: str, source: DumpSource) -> dict[str, Any]:
    """The one-off dump Job of the copy ``name``: the nightly dump's pod as :class:`DatabaseDumps` renders it,
    writing under ``<target.prefix><name>/`` (inside the uploader role's prefix)."""
    t = source.target
    target = S3Location(t.bucket_name, t.bucket_arn, f"{t.prefix}{name}/", t.kms_key_arn, t.region)
    template = dump_manifests(name=source.service_account, namespace=source.namespace,
                              connection=source.connection, credentials=source.credentials, target=target,
                              role_arn=source.role_arn, schedule=DEFAULT_SCHEDULE)
    return dump_job(name, template)


def database_copy(component: str, *, previous: str | None, version: str, rds_instance: str | None,
                  dump: DumpSource | None, tags: dict[str, str],
                  opts: pulumi.ResourceOptions) -> pulumi.CustomResource | None:
    """The copy of the database before main runs ``version`` for the first time, or None: an RDS snapshot of
    ``rds_instance``, else a one-off run of ``dump``'s Job, else none (with a warning). Pass the result in
    main's ``depends_on``."""
    name = copy_name(previous, version)
    if name is None or previous is None:
        return None
    if is_downgrade(previous, version):
        warn_downgrade(previous, version)
    if rds_instance is not None:
        return rds_snapshot(component, name, instance=rds_instance, previous=previous, version=version, tags=tags,
                            opts=opts)
    if dump is not None:
        return k8s.apply(component, dump_copy_manifest(name, dump), opts)
    warn_without_copy(previous, version, "there is no nightly dump to run once more (backups.dumps is off, or no "
                                         "archive bucket without EKS); roll back with point-in-time recovery from "
                                         "the WAL archive where there is one (docs/operations.md)")
    return None


def warn_without_copy(previous: str, version: str, why: str) -> None:
    """Tell the operator, in preview and up, that this version change has no copy of the database."""
    pulumi.log.warn(f"n8n.version changes from {previous} to {version} and no copy of the database is taken "
                    f"before main migrates it: {why}")


def warn_downgrade(previous: str, version: str) -> None:
    """n8n's migrations only go forward: an older version only runs on a database restored from before."""
    pulumi.log.warn(f"n8n.version goes back from {previous} to {version}: n8n cannot migrate a schema back; do this "
                    "only after restoring the copy from before the upgrade (docs/operations.md, Upgrading n8n)")
