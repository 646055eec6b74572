"""Cross-region replication of the backup buckets: losing the database's region leaves WAL and dumps readable.

Each backup bucket (WAL archive, dumps) gets a replica in a second region: its own customer-managed KMS key there,
the same Object Lock default retention and lifecycle, versioned, TLS-only, access-logged in its region. S3 Same-
Account Replication copies every new object version under the backup prefix, re-encrypted with the replica key:

- **RTC** (Replication Time Control, the 15-minute SLA S3 offers) with replication **metrics**, so a lagging or
  failing replication shows up in CloudWatch (``ReplicationLatency``, ``OperationsFailedReplication``) and the
  alarms here fire;
- **delete markers are not replicated** and the role has no ``s3:ReplicateDelete``: a compromised writer or a
  mistaken delete in the source region never reaches the replica;
- Object Lock retention travels with each object version (S3 replicates it), and the replica bucket's own default
  retention covers anything written to it directly.

The role S3 assumes can read only the source versions it replicates and write only replicas; it may decrypt with
the source key and encrypt with the replica key only through S3 in the matching region, for these buckets.
"""

from __future__ import annotations

from typing import Any

import pulumi

RTC_MINUTES = 15
"""Replication Time Control threshold (the only value S3 offers) and the latency alarm's limit."""

READ_SOURCE_VERSIONS = ("s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging",
                        "s3:GetObjectRetention", "s3:GetObjectLegalHold")
WRITE_REPLICAS = ("s3:ReplicateObject", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner")


def assume_role_policy() -> dict:
    """Trust policy of the replication role: S3 only."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def role_policy(pairs: list[tuple[Any, Any]], source_key_arn: Any, replica_key_arn: Any, source_region: str,
                replica_region: str) -> dict:
    """Permissions of the replication role for (source bucket ARN, replica bucket ARN) ``pairs``.

    ARNs may be Pulumi Inputs (placed, never inspected); serialise with ``pulumi.Output.json_dumps``. The KMS
    statements are bound to S3 in each region and to these buckets' encryption context (object ARNs, and the
    bucket ARN that S3 Bucket Keys use instead).
    """
    sources, replicas = [s for s, _ in pairs], [r for _, r in pairs]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "SourceConfiguration", "Effect": "Allow",
             "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": sources},
            {"Sid": "ReadSourceVersions", "Effect": "Allow", "Action": list(READ_SOURCE_VERSIONS),
             "Resource": [_objects(s) for s in sources]},
            {"Sid": "WriteReplicas", "Effect": "Allow", "Action": list(WRITE_REPLICAS),
             "Resource": [_objects(r) for r in replicas]},
            {"Sid": "DecryptSource", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [source_key_arn],
             "Condition": {"StringEquals": {"kms:ViaService": f"s3.{source_region}.amazonaws.com"},
                           "StringLike": {"kms:EncryptionContext:aws:s3:arn": [*sources, *map(_objects, sources)]}}},
            {"Sid": "EncryptReplicas", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
             "Resource": [replica_key_arn],
             "Condition": {"StringEquals": {"kms:ViaService": f"s3.{replica_region}.amazonaws.com"},
                           "StringLike": {"kms:EncryptionContext:aws:s3:arn": [*replicas, *map(_objects, replicas)]}}},
        ],
    }


def replication_rule(rule_id: str, prefix: str, replica_bucket_arn: Any, replica_key_arn: Any) -> dict:
    """One rule of ``aws.s3.BucketReplicationConfig``: every new version under ``prefix``, KMS-encrypted objects
    included, re-encrypted with the replica key, under RTC with metrics; delete markers stay behind."""
    return {
        "id": rule_id,
        "status": "Enabled",
        "priority": 1,
        "filter": {"prefix": prefix},
        "delete_marker_replication": {"status": "Disabled"},
        "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
        "destination": {
            "bucket": replica_bucket_arn,
            "storage_class": "STANDARD",
            "encryption_configuration": {"replica_kms_key_id": replica_key_arn},
            "replication_time": {"status": "Enabled", "time": {"minutes": RTC_MINUTES}},
            "metrics": {"status": "Enabled", "event_threshold": {"minutes": RTC_MINUTES}},
        },
    }


def alarms(source_bucket: Any, replica_bucket: Any, rule_id: str) -> dict[str, dict]:
    """CloudWatch alarms (``aws.cloudwatch.MetricAlarm`` arguments by suffix) on one rule's replication metrics,
    which S3 publishes in the source region: any failed operation, or latency beyond the RTC threshold."""
    dimensions = {"SourceBucket": source_bucket, "DestinationBucket": replica_bucket, "RuleId": rule_id}
    common = {"namespace": "AWS/S3", "dimensions": dimensions, "period": 300, "evaluation_periods": 1,
              "treat_missing_data": "notBreaching"}
    return {
        "failed": {**common, "metric_name": "OperationsFailedReplication", "statistic": "Sum",
                   "comparison_operator": "GreaterThanThreshold", "threshold": 0,
                   "alarm_description": "Backup objects failed to replicate to the second region"},
        "latency": {**common, "metric_name": "ReplicationLatency", "statistic": "Maximum",
                    "comparison_operator": "GreaterThanThreshold", "threshold": RTC_MINUTES * 60,
                    "alarm_description": f"Backup replication to the second region lags more than {RTC_MINUTES} min"},
    }


def _objects(bucket_arn: Any) -> Any:
    """ARN pattern of every object of a bucket; a plain string or, for a Pulumi Input, an Output."""
    if isinstance(bucket_arn, str):
        return f"{bucket_arn}/*"
    return pulumi.Output.concat(bucket_arn, "/*")
