"""AWS rules: what the platform's RDS, S3, KMS, ElastiCache, Secrets Manager, EC2 and IAM resources must be.

Most rules port one of AWSGuard's (pulumi-policy-aws, TypeScript only); the README lists which, and which were left
out and why.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UnknownValueError

from .rule import Config, Knob, resource_rule, stack_rule, truthy

RDS = ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster")
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
Props = Mapping[str, Any]


# --- RDS ----------------------------------------------------------------------------------------------------------

def _rds_encrypted(props: Props, config: Config, _: Any) -> Iterator[str]:
    if not props.get("storageEncrypted"):
        yield "storage is not encrypted (storageEncrypted)"
    elif not props.get("kmsKeyId"):
        yield "storage is encrypted with the AWS-managed key; set kmsKeyId to a customer-managed key"


def _rds_private(props: Props, config: Config, _: Any) -> Iterator[str]:
    if props.get("publiclyAccessible"):
        yield "the database is publicly accessible (publiclyAccessible)"


def _rds_multi_az(props: Props, config: Config, _: Any) -> Iterator[str]:
    if config["required"] and not props.get("multiAz"):
        yield "the database runs in one availability zone (multiAz)"


def _rds_deletion_protection(props: Props, config: Config, _: Any) -> Iterator[str]:
    if config["required"] and not props.get("deletionProtection"):
        yield "deletion protection is off (deletionProtection)"


def _rds_backups(props: Props, config: Config, _: Any) -> Iterator[str]:
    days = props.get("backupRetentionPeriod") or 0
    if days < config["minimumDays"]:
        yield f"automated backups are kept {int(days)} days (backupRetentionPeriod); at least {config['minimumDays']}"
    if props.get("skipFinalSnapshot"):
        yield "deleting the database would skip its final snapshot (skipFinalSnapshot)"


REQUIRED = Knob(True, "Enforce the rule; set false where the stack does not need it (for example a dev database).")

rds_encrypted = resource_rule(
    "rds-encrypted-with-customer-key",
    "RDS storage, snapshots and backups are encrypted with a customer-managed KMS key, so access to the data is "
    "governed by a key policy the account controls and can be revoked.", RDS, _rds_encrypted)
rds_private = resource_rule(
    "rds-not-publicly-accessible",
    "RDS has no public endpoint: PostgreSQL is reachable only from inside the VPC.", RDS, _rds_private)
rds_multi_az = resource_rule(
    "rds-multi-az",
    "RDS runs Multi-AZ, so losing one availability zone fails over instead of stopping n8n.", RDS, _rds_multi_az,
    knobs={"required": REQUIRED})
rds_deletion_protection = resource_rule(
    "rds-deletion-protection",
    "RDS has deletion protection, so no API call or replacement can delete the database.", RDS,
    _rds_deletion_protection, knobs={"required": REQUIRED})
rds_backups = resource_rule(
    "rds-backups-retained",
    "RDS keeps automated backups (point-in-time recovery) long enough, and takes a final snapshot on deletion.",
    RDS, _rds_backups,
    knobs={"minimumDays": Knob(7, "Fewest days of automated backups.", {"minimum": 1, "maximum": 35})})


# --- S3 -----------------------------------------------------------------------------------------------------------

def _buckets(resources: list[PolicyResource]) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in BUCKETS]


def _attached(resources: list[PolicyResource], bucket: PolicyResource, type_: str) -> list[PolicyResource]:
    """The ``type_`` resources whose ``bucket`` input comes from ``bucket``."""
    return [r for r in resources if r.resource_type == type_
            and any(dep.urn == bucket.urn for dep in r.property_dependencies.get("bucket", []))]


def _public_access(resources: list[PolicyResource], config: Config) -> Iterator[tuple[str, str]]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    for bucket in _buckets(resources):
        blocks = _attached(resources, bucket, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
        if not blocks:
            yield f"{bucket.name}: no BucketPublicAccessBlock", bucket.urn
        for block in blocks:
            off = [f for f in flags if not block.props.get(f)]
            if off:
                yield f"{bucket.name}: public access is not fully blocked ({', '.join(off)} off)", block.urn


def _statements(policy: Any) -> list[Mapping[str, Any]]:
    document = json.loads(policy) if isinstance(policy, str) else policy
    statements = (document or {}).get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _denies_plain_http(statement: Mapping[str, Any]) -> bool:
    condition = statement.get("Condition", {}).get("Bool", {})
    return (statement.get("Effect") == "Deny" and statement.get("Principal") in ("*", {"AWS": "*"})
            and str(condition.get("aws:SecureTransport", "")).lower() == "false")


def _tls_only(resources: list[PolicyResource], config: Config) -> Iterator[tuple[str, str]]:
    for bucket in _buckets(resources):
        policies = _attached(resources, bucket, "aws:s3/bucketPolicy:BucketPolicy")
        try:
            ok = any(_denies_plain_http(s) for p in policies for s in _statements(p.props.get("policy")))
        except UnknownValueError:
            continue  # the policy names the bucket's ARN, unknown until the bucket exists: checked on the next run
        if not ok:
            yield (f"{bucket.name}: no bucket policy denies requests without TLS (aws:SecureTransport false)",
                   bucket.urn)


def _versioned(resources: list[PolicyResource], config: Config) -> Iterator[tuple[str, str]]:
    for bucket in _buckets(resources):
        versioning = _attached(resources, bucket, "aws:s3/bucketVersioning:BucketVersioning")
        if not any((v.props.get("versioningConfiguration") or {}).get("status") == "Enabled" for v in versioning):
            where = versioning[0].urn if versioning else bucket.urn
            yield f"{bucket.name}: versioning is not enabled (BucketVersioning status Enabled)", where


def _access_logged(resources: list[PolicyResource], config: Config) -> Iterator[tuple[str, str]]:
    loggings = [r for r in resources if r.resource_type == "aws:s3/bucketLogging:BucketLogging"]
    targets = {d.urn for r in loggings for d in r.property_dependencies.get("targetBucket", [])}
    for bucket in _buckets(resources):
        if bucket.urn not in targets and not _attached(resources, bucket, "aws:s3/bucketLogging:BucketLogging"):
            yield f"{bucket.name}: no server access logging (BucketLogging)", bucket.urn


def _encrypted(resources: list[PolicyResource], config: Config) -> Iterator[tuple[str, str]]:
    for bucket in _buckets(resources):
        sse = _attached(resources, bucket,
                        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
        algorithms = {(rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm")
                      for c in sse for rule in c.props.get("rules") or []}
        if not algorithms - {None}:
            yield f"{bucket.name}: no default encryption (BucketServerSideEncryptionConfiguration)", bucket.urn
        elif _is_backup(bucket, config) and not algorithms & {"aws:kms", "aws:kms:dsse"}:
            yield f"{bucket.name}: a backup bucket must be encrypted with a KMS key (sseAlgorithm aws:kms)", bucket.urn


def _is_backup(bucket: PolicyResource, config: Config) -> bool:
    return any(fnmatch.fnmatch(bucket.name, pattern) for pattern in config["backupBuckets"])


def _object_lock(resources: list[PolicyResource], config: Config) -> Iterator[tuple[str, str]]:
    for bucket in _buckets(resources):
        if not _is_backup(bucket, config):
            continue
        if not bucket.props.get("objectLockEnabled"):
            yield f"{bucket.name}: a backup bucket without Object Lock (objectLockEnabled)", bucket.urn
            continue
        locks = _attached(resources, bucket,
                          "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
        days = [((lock.props.get("rule") or {}).get("defaultRetention") or {}).get("days") or 0 for lock in locks]
        if not days or max(days) < config["minimumDays"]:
            yield (f"{bucket.name}: no default Object Lock retention of at least {config['minimumDays']} days "
                   "(BucketObjectLockConfiguration)", bucket.urn)


BACKUP_BUCKETS = Knob(["*-wal", "*-dumps", "*backup*"],
                      "Logical names (glob) of the buckets that hold backups.", {"items": {"type": "string"}})

s3_public_access = stack_rule(
    "s3-public-access-blocked",
    "Every S3 bucket has all four public-access blocks on, so no ACL or policy can publish WAL, dumps or logs.",
    _public_access)
s3_tls_only = stack_rule(
    "s3-tls-only",
    "Every S3 bucket's policy denies requests that do not use TLS, so backups never travel in clear text.",
    _tls_only)
s3_versioning = stack_rule(
    "s3-versioning-enabled",
    "Every S3 bucket is versioned, so an overwrite or a delete keeps the previous object.", _versioned)
s3_access_logging = stack_rule(
    "s3-access-logging",
    "Every S3 bucket logs its requests to a log bucket (the log bucket itself excepted), so who read or deleted a "
    "backup can be traced.", _access_logged)
s3_encryption = stack_rule(
    "s3-default-encryption",
    "Every S3 bucket encrypts new objects by default; backup buckets with a KMS key.", _encrypted,
    knobs={"backupBuckets": BACKUP_BUCKETS})
s3_object_lock = stack_rule(
    "s3-backup-object-lock",
    "Backup buckets (WAL archive, dumps) have Object Lock with a default retention, so ransomware or a mistaken "
    "lifecycle rule cannot delete the backups.", _object_lock,
    knobs={"backupBuckets": BACKUP_BUCKETS,
           "minimumDays": Knob(1, "Fewest days of default retention.", {"minimum": 1})})


# --- KMS, Secrets Manager, ElastiCache ----------------------------------------------------------------------------

def _kms_rotation(props: Props, config: Config, _: Any) -> Iterator[str]:
    spec = props.get("customerMasterKeySpec") or props.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec == "SYMMETRIC_DEFAULT" and not props.get("enableKeyRotation"):
        yield "automatic key rotation is off (enableKeyRotation)"


def _secret_cmk(props: Props, config: Config, _: Any) -> Iterator[str]:
    if not props.get("kmsKeyId"):
        yield "the secret is encrypted with the AWS-managed key; set kmsKeyId to a customer-managed key"


def _elasticache(props: Props, config: Config, _: Any) -> Iterator[str]:
    if not props.get("transitEncryptionEnabled"):
        yield "clients connect without TLS (transitEncryptionEnabled)"
    if not (props.get("authToken") or props.get("authTokenWo") or props.get("userGroupIds")):
        yield "no AUTH: set authToken or userGroupIds"
    if not props.get("atRestEncryptionEnabled"):
        yield "data and snapshots are not encrypted at rest (atRestEncryptionEnabled)"
    elif config["requireCustomerKey"] and not props.get("kmsKeyId"):
        yield "at-rest encryption uses the AWS-managed key; set kmsKeyId to a customer-managed key"


kms_rotation = resource_rule(
    "kms-key-rotation",
    "Customer-managed KMS keys rotate their key material every year (or sooner).", ("aws:kms/key:Key",),
    _kms_rotation)
secrets_cmk = resource_rule(
    "secretsmanager-customer-key",
    "Secrets Manager secrets (the escrowed N8N_ENCRYPTION_KEY) are encrypted with a customer-managed KMS key.",
    ("aws:secretsmanager/secret:Secret",), _secret_cmk)
elasticache_secure = resource_rule(
    "elasticache-tls-auth-encrypted",
    "ElastiCache (the n8n queue) requires TLS and AUTH and is encrypted at rest, so queued executions cannot be "
    "read or injected by anything else in the VPC.", ("aws:elasticache/replicationGroup:ReplicationGroup",),
    _elasticache,
    knobs={"requireCustomerKey": Knob(True, "At-rest encryption must use a customer-managed KMS key.")})


# --- EC2 and IAM --------------------------------------------------------------------------------------------------

def _launch_template(props: Props, config: Config, _: Any) -> Iterator[str]:
    if (props.get("metadataOptions") or {}).get("httpTokens") != "required":
        yield "IMDSv2 is not required (metadataOptions.httpTokens), so pods can steal the node's credentials"
    for mapping in props.get("blockDeviceMappings") or []:
        ebs = mapping.get("ebs")
        if ebs is not None and not truthy(ebs.get("encrypted")):
            yield f"volume {mapping.get('deviceName')} is not encrypted (ebs.encrypted)"
    if any(truthy(n.get("associatePublicIpAddress")) for n in props.get("networkInterfaces") or []):
        yield "nodes get a public IP address (networkInterfaces.associatePublicIpAddress)"


OPEN = ("0.0.0.0/0", "::/0")


def _public_ingress(props: Props, config: Config, args: Any) -> Iterator[str]:
    if args.resource_type.endswith(":SecurityGroup"):
        rules = props.get("ingress") or []
    else:
        rules = [props] if props.get("type", "ingress") == "ingress" else []
    for rule in rules:
        cidrs = [rule.get("cidrIpv4"), rule.get("cidrIpv6"), *(rule.get("cidrBlocks") or []),
                 *(rule.get("ipv6CidrBlocks") or [])]
        port = rule.get("fromPort")
        if any(c in OPEN for c in cidrs) and not (port == rule.get("toPort") and port in config["allowedPorts"]):
            yield f"ingress from the whole internet on ports {port}-{rule.get('toPort')}"


def _iam_conflicts(resources: list[PolicyResource], config: Config) -> Iterator[tuple[str, str]]:
    separate = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                "aws:iam/rolePoliciesExclusive:RolePoliciesExclusive",
                "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive")
    for role in (r for r in resources if r.resource_type == "aws:iam/role:Role"):
        inline = [k for k in ("inlinePolicies", "managedPolicyArns") if role.props.get(k)]
        attached = [r for r in resources if r.resource_type in separate
                    and any(d.urn == role.urn for deps in r.property_dependencies.values() for d in deps)]
        if inline and attached:
            yield (f"{role.name}: policies are managed both on the role ({', '.join(inline)}) and by "
                   f"{', '.join(r.name for r in attached)}; each side would undo the other", role.urn)


launch_template = resource_rule(
    "ec2-launch-template-hardened",
    "Node launch templates require IMDSv2, encrypt every volume and give nodes no public IP.",
    ("aws:ec2/launchTemplate:LaunchTemplate",), _launch_template)
public_ingress = resource_rule(
    "ec2-no-public-ingress",
    "No security group admits the whole internet (databases, Redis and nodes are reached from the VPC only).",
    ("aws:ec2/securityGroup:SecurityGroup", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
     "aws:ec2/securityGroupRule:SecurityGroupRule"), _public_ingress,
    knobs={"allowedPorts": Knob([], "Ports that may be open to the internet (for example 443 on a public load "
                                    "balancer's group).", {"items": {"type": "integer"}})})
iam_conflicts = stack_rule(
    "iam-role-no-policy-management-conflicts",
    "A role's policies are managed in one place only, so two resources never fight over its permissions.",
    _iam_conflicts)

POLICIES = [rds_encrypted, rds_private, rds_multi_az, rds_deletion_protection, rds_backups,
            s3_public_access, s3_tls_only, s3_versioning, s3_access_logging, s3_encryption, s3_object_lock,
            kms_rotation, secrets_cmk, elasticache_secure, launch_template, public_ingress, iam_conflicts]
