"""S3 archive for PostgreSQL WAL and logical dumps (the KMS keys that encrypt them: :mod:`.kms`).

Layout and why:

- **Archive bucket** (WAL + base backups under ``wal/``): Object Lock default retention **GOVERNANCE** for the
  point-in-time-recovery window, so a compromised writer (or WAL-G's own ``delete``) can only add delete markers;
  lifecycle removes the data once the lock has run out. GOVERNANCE, not COMPLIANCE, because an operator with
  ``s3:BypassGovernanceRetention`` must be able to purge a broken archive (e.g. after a major upgrade).
- **Dump bucket** (nightly ``pg_dump`` under ``dumps/``), a second bucket because Object Lock default retention is
  bucket-wide: its default is **COMPLIANCE** for the dump retention, which nobody (root included) can shorten.
  Per-object retention set by the uploader was rejected: it would need ``s3:PutObjectRetention`` on the writer and
  trusts the writer to set it, while a bucket default is enforced whatever the writer does.
- **Log bucket**: S3 server access logs of both. It cannot be object-locked (locked buckets cannot receive server
  access logs) and must use SSE-S3 (the only encryption S3 log delivery supports); otherwise hardened the same way.

Writers get :func:`writer_policy` (their prefix only, never any delete, bucket-config or lock-bypass action);
retention is enforced by Object Lock + lifecycle, so no role in the data path needs a delete permission.
"""


# No `from __future__ import annotations` here: Pulumi's schema analyzer reads the Args annotations at run time.
import json
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws
import pulumi_aws as aws

from . import replication
from .arguments import at_least, checked, flag, plain, region, retain_on_delete, string_list
from .kms import customer_key

WAL_PREFIX = "wal/"
"""Key prefix of the continuous WAL archive and base backups (WAL-G) in the archive bucket."""
DUMP_PREFIX = "dumps/"
"""Key prefix of logical dumps (pg_dump) in the dump bucket."""
EXPIRY_MARGIN_DAYS = 7
"""Days current objects outlive their retention, so a week of failed base backups still leaves a full window."""
LOG_RETENTION_DAYS = 365
"""Days S3 server access logs are kept."""

CHECKOV_SKIPS = {
    ("aws:s3/bucket:Bucket#-logs", "CKV_AWS_145"): "S3 server access log delivery writes SSE-S3 objects only",
    ("aws:s3/bucket:Bucket#-logs", "CKV_AWS_144"): "access logs are no backup; each region logs to its own bucket",
    ("aws:s3/bucket:Bucket#-replica", "CKV_AWS_144"): "this bucket is the cross-region replica",
    ("aws:s3/bucket:Bucket", "CKV2_AWS_62"): "nothing consumes bucket events; replication metrics and alarms watch "
    "the backup flow",
}
"""checkov Terraform checks the backup buckets fail by design, with why (tools/ci/tfplan.py applies them)."""
CHECKOV_SKIPS_WITHOUT_REPLICA = {
    ("aws:s3/bucket:Bucket", "CKV_AWS_144"): "backups.replicaRegion unset: this stack keeps its backups in one region",
}
"""Applied only to a stack that replicates nothing (replication is optional per stack, on in prod)."""

FORBIDDEN_WRITER_ACTIONS = ("s3:Delete*", "s3:PutBucket*", "s3:BypassGovernanceRetention")
"""Never granted to a writer: deletion, bucket reconfiguration and lock bypass belong to nobody in the data path."""


# --- IAM and bucket policies (pure) -------------------------------------------------------------------------------


def writer_policy(bucket_arn: Any, prefix: str, kms_key_arn: Any, *, read: bool) -> dict:
    """IAM policy document for a backup writer confined to ``prefix`` of one bucket.

    Every writer gets kms:GenerateDataKey and kms:Decrypt on the key: S3 multipart uploads to an SSE-KMS bucket
    need both (the uploader decrypts the data key to complete the upload). ``read`` adds s3:GetObject (WAL-G needs
    it to fetch WAL and base backups for restores and replicas; a dump uploader does not), so a writer without it
    still cannot read objects. No statement grants any of :data:`FORBIDDEN_WRITER_ACTIONS`.
    ``bucket_arn`` and ``kms_key_arn`` may be Pulumi Inputs (placed, never inspected); serialise the result with
    ``pulumi.Output.json_dumps``.
    """
    object_actions = ["s3:PutObject", "s3:AbortMultipartUpload"]
    if read:
        object_actions.insert(1, "s3:GetObject")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListOwnPrefix",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [bucket_arn],
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
            },
            {
                "Sid": "WriteOwnPrefix",
                "Effect": "Allow",
                "Action": object_actions,
                "Resource": [_objects(bucket_arn, prefix)],
            },
            {
                "Sid": "UseArchiveKey",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": [kms_key_arn],
            },
        ],
    }


def tls_only_policy(bucket_arn: Any) -> dict:
    """Bucket policy denying every request without TLS, or with TLS older than 1.2 (checkov CKV_AWS_379)."""
    return {"Version": "2012-10-17", "Statement": _tls_only_statements(bucket_arn)}


def log_bucket_policy(log_bucket_arn: Any, source_bucket_arns: list[Any], account_id: Any) -> dict:
    """TLS-only policy of the access-log bucket plus the grant S3 log delivery needs under BucketOwnerEnforced.

    With ACLs disabled, server access logs are delivered by the `logging.s3.amazonaws.com` service principal, which
    must be allowed s3:PutObject; the grant is limited to our source buckets in our account (confused deputy).
    """
    delivery = {
        "Sid": "S3ServerAccessLogDelivery",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": _objects(log_bucket_arn, ""),
        "Condition": {
            "ArnLike": {"aws:SourceArn": list(source_bucket_arns)},
            "StringEquals": {"aws:SourceAccount": account_id},
        },
    }
    return {"Version": "2012-10-17", "Statement": [*_tls_only_statements(log_bucket_arn), delivery]}


def _tls_only_statements(bucket_arn: Any) -> list[dict]:
    resources = [bucket_arn, _objects(bucket_arn, "")]
    return [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "DenyOutdatedTls",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
        },
    ]


def _objects(bucket_arn: Any, prefix: str) -> Any:
    """ARN pattern of the objects under ``prefix``; a plain string or, for a Pulumi Input, an Output."""
    if isinstance(bucket_arn, str):
        return f"{bucket_arn}/{prefix}*"
    return pulumi.Output.concat(bucket_arn, f"/{prefix}*")


# --- lifecycle rules (pure) ----------------------------------------------------------------------------------------


def wal_lifecycle_rules(pitr_days: int) -> list[dict]:
    """Lifecycle of the archive bucket: WAL and base backups live the PITR window plus a margin.

    Current objects under ``wal/`` expire after ``pitr_days + EXPIRY_MARGIN_DAYS`` (a restore to the start of the
    window needs the base backup taken before it); noncurrent versions and delete markers go once their lock
    (``pitr_days`` from creation) has run out. WAL stays in STANDARD: PITR and replica bootstrap read it.
    WAL-G ``--permanent`` backups are not special here: keep long-term copies as dumps instead.
    """
    return [
        _abort_multipart(),
        {
            "id": "expire-wal",
            "status": "Enabled",
            "filter": {"prefix": WAL_PREFIX},
            "expiration": {"days": pitr_days + EXPIRY_MARGIN_DAYS},
        },
        _expire_noncurrent(pitr_days + 1),
    ]


def dump_lifecycle_rules(retention_days: int) -> list[dict]:
    """Lifecycle of the dump bucket: cheaper storage as dumps age, expiry after retention plus a margin.

    Transitions are added only where they pay for themselves: STANDARD_IA (30-day minimum storage charge) from day
    30 when dumps live at least 60 days; GLACIER_IR (90-day minimum, millisecond reads) from day 90 when they live
    at least 180 days.
    """
    expire = retention_days + EXPIRY_MARGIN_DAYS
    transitions = []
    if expire >= 60:
        transitions.append({"days": 30, "storage_class": "STANDARD_IA"})
    if expire >= 180:
        transitions.append({"days": 90, "storage_class": "GLACIER_IR"})
    rule: dict[str, Any] = {
        "id": "age-dumps",
        "status": "Enabled",
        "filter": {"prefix": DUMP_PREFIX},
        "expiration": {"days": expire},
    }
    if transitions:
        rule["transitions"] = transitions
    return [_abort_multipart(), rule, _expire_noncurrent(retention_days + 1)]


def log_lifecycle_rules(retention_days: int = LOG_RETENTION_DAYS) -> list[dict]:
    """Lifecycle of the access-log bucket: logs expire after ``retention_days``, overwritten versions after 30."""
    return [
        _abort_multipart(),
        {"id": "expire-logs", "status": "Enabled", "filter": {"prefix": ""},
         "expiration": {"days": retention_days}},
        _expire_noncurrent(30),
    ]


def _abort_multipart() -> dict:
    return {"id": "abort-incomplete-multipart-uploads", "status": "Enabled", "filter": {"prefix": ""},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 2}}


def _expire_noncurrent(days: int) -> dict:
    """Noncurrent versions go ``days`` after they stop being current (after their lock has expired)."""
    return {"id": "expire-noncurrent-versions", "status": "Enabled", "filter": {"prefix": ""},
            "noncurrent_version_expiration": {"noncurrent_days": days}}


# --- component ----------------------------------------------------------------------------------------------------


class ArchiveBucketArgs(TypedDict):
    """Where WAL segments, base backups and nightly dumps are kept, and for how long."""

    pitr_days: int
    """Point-in-time-recovery window: WAL is GOVERNANCE-locked this long (``backups.pitrDays``)."""
    dumps: bool
    """Create the COMPLIANCE-locked dump bucket (``backups.dumps``)."""
    dump_retention_days: int
    """Dumps are COMPLIANCE-locked and kept this long (``backups.dumpRetentionDays``)."""
    protect: bool
    """Protect buckets and the key from deletion (``protect``)."""
    retain_on_delete: NotRequired[bool]
    """Leave the buckets, their versioning and lock settings and the keys in place when the component is deleted;
    default: the value of ``protect``."""
    wal: NotRequired[bool]
    """Create the WAL archive bucket (default True); only Patroni writes WAL there (RDS keeps its own)."""
    replica_region: NotRequired[str | None]
    """Replicate every backup bucket to this second region (``backups.replicaRegion``); None: no replica."""
    replica_provider: NotRequired[pulumi_aws.Provider | None]
    """AWS provider of ``replica_region``, in which the replica buckets and their key are created."""
    alarm_actions: NotRequired[list[str]]
    """ARNs (e.g. an SNS topic) the replication alarms notify; the component then creates them. Without it they
    are only described, in the Python attribute ``replication_alarms`` (MetricAlarm arguments by name suffix), for
    whoever owns the stack's alarm topic (N8nPlatform hands them to Observability)."""


class ArchiveBucket(pulumi.ComponentResource):
    """S3 storage hardened for backups: versioned, SSE-KMS with a rotating CMK, public access blocked, ACLs off,
    TLS-only, object-locked, lifecycle-managed and access-logged. See the module docstring for the layout."""

    bucket_name: pulumi.Output[str] | None
    """Archive bucket (WAL-G: ``s3://<bucket_name>/wal/<cluster>``); None without ``wal``."""
    bucket_arn: pulumi.Output[str] | None
    """ARN of the archive bucket, for :func:`writer_policy`; None without ``wal``."""
    kms_key_arn: pulumi.Output[str]
    """CMK encrypting both buckets (``WALG_S3_SSE_KMS_ID``; writers need kms:GenerateDataKey + kms:Decrypt on it)."""
    wal_prefix: pulumi.Output[str]
    """Key prefix for WAL and base backups in the archive bucket."""
    dump_bucket_name: pulumi.Output[str] | None
    """COMPLIANCE-locked dump bucket; None when dumps are off."""
    dump_bucket_arn: pulumi.Output[str] | None
    """ARN of the dump bucket; None when dumps are off."""
    dump_prefix: pulumi.Output[str]
    """Key prefix for dumps in the dump bucket."""
    log_bucket_name: pulumi.Output[str]
    """Bucket receiving the server access logs of the other two."""
    replica_bucket_names: dict[str, pulumi.Output[str]]
    """Replica bucket by source ("wal", "dumps") in the replica region; empty without ``replica_region``."""
    replica_kms_key_arn: pulumi.Output[str] | None
    """Key encrypting the replicas (in the replica region); None without ``replica_region``."""

    def __init__(self, name: str, args: ArchiveBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("n8n:index:ArchiveBucket", name, None, opts)

        args = checked("ArchiveBucket", args, ArchiveBucketArgs, {  # type: ignore[assignment]
            "pitr_days": at_least(1), "dumps": flag, "dump_retention_days": at_least(1), "protect": flag, "wal": flag,
            "replica_region": region, "alarm_actions": string_list})
        self._keep_data = bool(plain("ArchiveBucket", "protect", args["protect"]))
        self._retain = retain_on_delete(args, self._keep_data, "ArchiveBucket")
        plain("ArchiveBucket", "pitr_days", args["pitr_days"])
        plain("ArchiveBucket", "dump_retention_days", args["dump_retention_days"])
        key = customer_key(f"{name}-key", "Encrypts n8n's PostgreSQL WAL archive and dumps", protect=self._keep_data,
                           parent=self, alarms=True, retain=self._retain)  # it also encrypts the alarm topic
        kms = {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn}
        # (suffix, prefix, Object Lock default retention, lifecycle) of each backup bucket
        specs = []
        if args.get("wal", True):
            days = args["pitr_days"]
            specs.append(("wal", WAL_PREFIX, ("GOVERNANCE", days), wal_lifecycle_rules(days)))
        if args["dumps"]:
            days = args["dump_retention_days"]
            specs.append(("dumps", DUMP_PREFIX, ("COMPLIANCE", days), dump_lifecycle_rules(days)))
        log, log_public = self._bucket(f"{name}-logs", {"sse_algorithm": "AES256"}, None, log_lifecycle_rules())
        buckets = {}
        for suffix, _, lock, lifecycle in specs:
            bucket, public = self._bucket(f"{name}-{suffix}", kms, lock, lifecycle, log_to=log)
            self._policy(f"{name}-{suffix}", bucket, tls_only_policy(bucket.arn), public)
            buckets[suffix] = bucket
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self._policy(f"{name}-logs", log, log_bucket_policy(log.arn, [b.arn for b in buckets.values()],
                                                            identity.account_id), log_public)
        self.replica_bucket_names: dict[str, pulumi.Output[str]] = {}
        self.replica_kms_key_arn = None
        self.replication_alarms: dict[str, dict] = {}
        if args.get("replica_region"):
            self._replicate(name, args, specs, buckets, key, identity)

        archive, dump = buckets.get("wal"), buckets.get("dumps")
        self.bucket_name = archive.bucket if archive else None
        self.bucket_arn = archive.arn if archive else None
        self.kms_key_arn = key.arn
        self.wal_prefix = pulumi.Output.from_input(WAL_PREFIX)
        self.dump_bucket_name = dump.bucket if dump else None
        self.dump_bucket_arn = dump.arn if dump else None
        self.dump_prefix = pulumi.Output.from_input(DUMP_PREFIX)
        self.log_bucket_name = log.bucket
        self.register_outputs({
            "bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn, "kms_key_arn": self.kms_key_arn,
            "wal_prefix": self.wal_prefix, "dump_bucket_name": self.dump_bucket_name,
            "dump_bucket_arn": self.dump_bucket_arn, "dump_prefix": self.dump_prefix,
            "log_bucket_name": self.log_bucket_name, "replica_bucket_names": self.replica_bucket_names,
            "replica_kms_key_arn": self.replica_kms_key_arn,
        })

    def _replicate(self, name: str, args: ArchiveBucketArgs, specs: list, buckets: dict, key: Any,
                   identity: Any) -> None:
        """Replica buckets and key in ``replica_region``, the replication role, one rule per bucket, alarms."""

        region, provider = args["replica_region"], args.get("replica_provider")
        if provider is None:
            raise ValueError(f"ArchiveBucket {name!r}: replica_region {region!r} needs replica_provider, an AWS "
                             "provider for that region")
        source_region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        replica_key = customer_key(f"{name}-replica-key", f"Encrypts the {region} replicas of n8n's backups",
                                   protect=self._keep_data, parent=self, provider=provider, retain=self._retain)
        kms = {"sse_algorithm": "aws:kms", "kms_master_key_id": replica_key.arn}
        log, log_public = self._bucket(f"{name}-replica-logs", {"sse_algorithm": "AES256"}, None,
                                       log_lifecycle_rules(), provider=provider)
        replicas = {}
        for suffix, _, lock, lifecycle in specs:
            replica, public = self._bucket(f"{name}-{suffix}-replica", kms, lock, lifecycle, log_to=log,
                                           provider=provider)
            self._policy(f"{name}-{suffix}-replica", replica, tls_only_policy(replica.arn), public, provider)
            replicas[suffix] = replica
        self._policy(f"{name}-replica-logs", log, log_bucket_policy(
            log.arn, [r.arn for r in replicas.values()], identity.account_id), log_public, provider)

        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(f"{name}-replication", description="S3 replication of n8n's backups to " + region,
                            assume_role_policy=json.dumps(replication.assume_role_policy()), opts=child)
        pairs = [(buckets[s].arn, replicas[s].arn) for s in replicas]
        document = source_region.apply(lambda src: replication.role_policy(pairs, key.arn, replica_key.arn, src,
                                                                           region))
        policy = aws.iam.RolePolicy(f"{name}-replication-policy", role=role.id,
                                    policy=document.apply(pulumi.Output.json_dumps), opts=child)
        for suffix, prefix, _, _ in specs:
            rule_id = f"{suffix}-to-{region}"
            aws.s3.BucketReplicationConfig(
                f"{name}-{suffix}-replication", bucket=buckets[suffix].id, role=role.arn,
                rules=[replication.replication_rule(rule_id, prefix, replicas[suffix].arn, replica_key.arn)],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))
            for alarm, spec in replication.alarms(buckets[suffix].bucket, replicas[suffix].bucket, rule_id).items():
                self.replication_alarms[f"{suffix}-replication-{alarm}"] = spec
        if args.get("alarm_actions"):
            for suffix, spec in self.replication_alarms.items():
                aws.cloudwatch.MetricAlarm(f"{name}-{suffix}", **spec, alarm_actions=args["alarm_actions"],
                                           ok_actions=args["alarm_actions"], opts=child)
        self.replica_bucket_names = {s: r.bucket for s, r in replicas.items()}
        self.replica_kms_key_arn = replica_key.arn

    def _bucket(self, name: str, encryption: dict, lock: tuple[str, int] | None, lifecycle: list[dict],
                log_to: Any = None, provider: Any = None) -> tuple[Any, Any]:
        """One hardened bucket (and its public access block); ``lock`` is (mode, days) of the default retention,
        None for no Object Lock; ``provider`` places it in another region. The caller adds the bucket policy (the
        log bucket's names the source buckets)."""

        child = pulumi.ResourceOptions(parent=self, provider=provider)
        keep = pulumi.ResourceOptions(parent=self, protect=self._keep_data, retain_on_delete=self._retain,
                                    provider=provider)
        bucket = aws.s3.Bucket(name, object_lock_enabled=lock is not None, force_destroy=False, opts=keep)
        # Retained too: deleting these resources would suspend versioning / drop the defaults of a live bucket.
        versioning = aws.s3.BucketVersioning(f"{name}-versioning", bucket=bucket.id,
                                             versioning_configuration={"status": "Enabled"}, opts=keep)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": encryption,
                    "bucket_key_enabled": encryption["sse_algorithm"] == "aws:kms"}], opts=child)
        public = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child)
        aws.s3.BucketOwnershipControls(f"{name}-ownership", bucket=bucket.id,
                                       rule={"object_ownership": "BucketOwnerEnforced"}, opts=child)
        if lock is not None:
            aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock", bucket=bucket.id,
                rule={"default_retention": {"mode": lock[0], "days": lock[1]}},
                opts=pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=[versioning])))
        aws.s3.BucketLifecycleConfiguration(f"{name}-lifecycle", bucket=bucket.id, rules=lifecycle,
                                            opts=pulumi.ResourceOptions.merge(
                                                child, pulumi.ResourceOptions(depends_on=[versioning])))
        if log_to is not None:
            aws.s3.BucketLogging(f"{name}-logging", bucket=bucket.id, target_bucket=log_to.id,
                                 target_prefix=pulumi.Output.concat(bucket.bucket, "/"), opts=child)
        return bucket, public

    def _policy(self, name: str, bucket: Any, document: dict, public_access: Any, provider: Any = None) -> None:
        """The bucket policy, applied after the public access block (S3 rejects concurrent changes)."""

        aws.s3.BucketPolicy(f"{name}-policy", bucket=bucket.id, policy=pulumi.Output.json_dumps(document),
                            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access], provider=provider))
