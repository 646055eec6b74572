"""Backups that survive the loss of a region: the replication builders and ArchiveBucket's replicas under mocks."""

from __future__ import annotations

import json

import pytest

from n8n_platform import replication
from n8n_platform.kms import key_policy
from n8n_platform.storage import DUMP_PREFIX, WAL_PREFIX, ArchiveBucket
from tests.harness import plain, run

SRC, DST = "arn:aws:s3:::n8n-archive-dumps", "arn:aws:s3:::n8n-archive-dumps-replica"
SRC_KEY = "arn:aws:kms:eu-west-1:123456789012:key/src"
DST_KEY = "arn:aws:kms:eu-central-1:123456789012:key/dst"
S3 = "aws:s3/"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _statement(policy: dict, sid: str) -> dict:
    return next(s for s in policy["Statement"] if s["Sid"] == sid)


def test_role_reads_only_source_versions_and_writes_only_replicas_never_deletes():
    policy = replication.role_policy([(SRC, DST)], SRC_KEY, DST_KEY, "eu-west-1", "eu-central-1")
    actions = [a for s in policy["Statement"] for a in s["Action"]]
    assert not [a for a in actions if "Delete" in a or a.endswith("*")]
    assert _statement(policy, "ReadSourceVersions")["Resource"] == [f"{SRC}/*"]
    assert _statement(policy, "WriteReplicas")["Resource"] == [f"{DST}/*"]
    assert _statement(policy, "SourceConfiguration")["Resource"] == [SRC]


def test_role_uses_each_key_only_through_s3_of_its_region_for_these_buckets():
    policy = replication.role_policy([(SRC, DST)], SRC_KEY, DST_KEY, "eu-west-1", "eu-central-1")
    decrypt, encrypt = _statement(policy, "DecryptSource"), _statement(policy, "EncryptReplicas")
    assert decrypt["Action"] == ["kms:Decrypt"] and decrypt["Resource"] == [SRC_KEY]
    assert decrypt["Condition"]["StringEquals"] == {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    assert decrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"] == [SRC, f"{SRC}/*"]
    assert encrypt["Resource"] == [DST_KEY] and "kms:Decrypt" not in encrypt["Action"]
    assert encrypt["Condition"]["StringEquals"] == {"kms:ViaService": "s3.eu-central-1.amazonaws.com"}


def test_rule_replicates_kms_objects_under_rtc_with_metrics_but_no_delete_markers():
    rule = replication.replication_rule("dumps-to-eu-central-1", DUMP_PREFIX, DST, DST_KEY)
    assert rule["filter"] == {"prefix": DUMP_PREFIX} and rule["status"] == "Enabled"
    assert rule["delete_marker_replication"] == {"status": "Disabled"}
    assert rule["source_selection_criteria"] == {"sse_kms_encrypted_objects": {"status": "Enabled"}}
    dest = rule["destination"]
    assert dest["bucket"] == DST and dest["encryption_configuration"] == {"replica_kms_key_id": DST_KEY}
    assert dest["replication_time"] == {"status": "Enabled", "time": {"minutes": 15}}
    assert dest["metrics"] == {"status": "Enabled", "event_threshold": {"minutes": 15}}


def test_alarms_fire_on_any_failed_replication_and_on_latency_beyond_the_rtc_threshold():
    alarms = replication.alarms("src", "dst", "dumps-to-eu-central-1")
    assert alarms["failed"]["metric_name"] == "OperationsFailedReplication" and alarms["failed"]["threshold"] == 0
    assert alarms["latency"]["metric_name"] == "ReplicationLatency" and alarms["latency"]["threshold"] == 900
    for alarm in alarms.values():
        assert alarm["namespace"] == "AWS/S3"
        assert alarm["dimensions"] == {"SourceBucket": "src", "DestinationBucket": "dst",
                                       "RuleId": "dumps-to-eu-central-1"}


# --- the component ---------------------------------------------------------------------------------------------


def _archive(wal: bool = True, replica: bool = True):
    return _run_archive(wal, replica, alarm_actions=["arn:aws:sns:eu-west-1:1:ops"])[0]


def _archive_without_actions():
    return _run_archive(True, True, alarm_actions=None)


def _run_archive(wal: bool, replica: bool, alarm_actions: list[str] | None):
    import pulumi
    import pulumi_aws as aws

    made = {}

    def program():
        provider = aws.Provider("replica-region", region="eu-central-1") if replica else None
        args = {"pitr_days": 14, "dumps": True, "dump_retention_days": 35, "protect": True, "wal": wal,
                "replica_region": "eu-central-1" if replica else None, "replica_provider": provider}
        if alarm_actions:
            args["alarm_actions"] = alarm_actions
        made["archive"] = ArchiveBucket("archive", args, pulumi.ResourceOptions())

    return run(program), made["archive"]


@pytest.fixture(scope="module")
def rec():
    return _archive()


@pytest.mark.parametrize("source", ["wal", "dumps"])
def test_each_backup_bucket_has_a_replica_in_the_second_region_locked_like_its_source(rec, source):
    replica = rec.one(f"{S3}bucket:Bucket", f"archive-{source}-replica")
    assert replica.options["provider"] == "replica-region"
    assert replica.options["protect"] and replica.options["retain_on_delete"]
    assert replica.inputs["objectLockEnabled"] is True
    src_lock = plain(rec.one(f"{S3}bucketObjectLockConfiguration:BucketObjectLockConfiguration",
                             f"archive-{source}-object-lock").inputs)
    dst_lock = rec.one(f"{S3}bucketObjectLockConfiguration:BucketObjectLockConfiguration",
                       f"archive-{source}-replica-object-lock")
    assert plain(dst_lock.inputs)["rule"] == src_lock["rule"] and dst_lock.options["provider"] == "replica-region"
    versioning = rec.one(f"{S3}bucketVersioning:BucketVersioning", f"archive-{source}-replica-versioning")
    assert plain(versioning.inputs)["versioningConfiguration"] == {"status": "Enabled"}
    logging = plain(rec.one(f"{S3}bucketLogging:BucketLogging", f"archive-{source}-replica-logging").inputs)
    assert "replica-logs" in logging["targetBucket"]


def test_replicas_are_encrypted_with_their_own_key_in_the_second_region(rec):
    key = rec.one("aws:kms/key:Key", "archive-replica-key")
    assert key.options["provider"] == "replica-region" and key.options["protect"]
    assert plain(key.inputs)["enableKeyRotation"] is True
    assert json.loads(plain(key.inputs)["policy"]) == key_policy("123456789012")
    for source in ("wal", "dumps"):
        sse = rec.one(f"{S3}bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                      f"archive-{source}-replica-encryption")
        rule = plain(sse.inputs)["rules"][0]["applyServerSideEncryptionByDefault"]
        assert rule["sseAlgorithm"] == "aws:kms"
        assert "archive-replica-key" in sse.options["input_dependencies"]
        assert "archive-key" not in sse.options["input_dependencies"]


@pytest.mark.parametrize(("source", "prefix"), [("wal", WAL_PREFIX), ("dumps", DUMP_PREFIX)])
def test_each_source_replicates_its_prefix_in_its_own_region_through_the_role(rec, source, prefix):
    config = rec.one(f"{S3}bucketReplicationConfig:BucketReplicationConfig", f"archive-{source}-replication")
    assert config.options["provider"] is None  # the source bucket's region
    assert "archive-replication-policy" in config.options["depends_on"]  # the role may act before S3 checks it
    (rule,) = plain(config.inputs)["rules"]
    assert rule["id"] == f"{source}-to-eu-central-1" and rule["filter"] == {"prefix": prefix}
    assert {f"archive-{source}", f"archive-{source}-replica", "archive-replica-key"} <= set(
        config.options["input_dependencies"])
    assert rule["deleteMarkerReplication"] == {"status": "Disabled"}


def test_replication_alarms_notify_the_given_actions(rec):
    alarms = rec.find("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert sorted(a.name for a in alarms) == [f"archive-{s}-replication-{k}" for s in ("dumps", "wal")
                                              for k in ("failed", "latency")]
    assert all(plain(a.inputs)["alarmActions"] == ["arn:aws:sns:eu-west-1:1:ops"] == plain(a.inputs)["okActions"]
               for a in alarms)


def test_without_actions_the_replication_alarms_are_described_not_created():
    rec, archive = _archive_without_actions()
    assert rec.find("aws:cloudwatch/metricAlarm:MetricAlarm") == []
    assert sorted(archive.replication_alarms) == [f"{s}-replication-{k}" for s in ("dumps", "wal")
                                                  for k in ("failed", "latency")]
    assert archive.replication_alarms["dumps-replication-failed"]["metric_name"] == "OperationsFailedReplication"


def test_the_platform_s_replication_alarms_notify_the_stack_s_alarm_topic():
    from tests.harness import run_stack

    alarms = [a for a in run_stack("prod").find("aws:cloudwatch/metricAlarm:MetricAlarm")
              if "-replication-" in a.name and "cache" not in a.name]
    assert sorted(a.name for a in alarms) == [f"n8n-observability-{s}-replication-{k}" for s in ("dumps",)
                                              for k in ("failed", "latency")]
    assert all(plain(a.inputs)["alarmActions"] for a in alarms)


def test_the_role_trusts_s3_and_its_policy_names_both_keys(rec):
    role = plain(rec.one("aws:iam/role:Role", "archive-replication").inputs)
    assert json.loads(role["assumeRolePolicy"]) == replication.assume_role_policy()
    role_policy = rec.one("aws:iam/rolePolicy:RolePolicy", "archive-replication-policy")
    assert {"archive-key", "archive-replica-key"} <= set(role_policy.options["input_dependencies"])
    policy = json.loads(plain(role_policy.inputs)["policy"])
    assert _statement(policy, "DecryptSource")["Condition"]["StringEquals"]["kms:ViaService"] == \
        "s3.eu-west-1.amazonaws.com"


def test_without_a_replica_region_nothing_leaves_the_region():
    rec = _archive(replica=False)
    assert not [r for r in rec.resources if "replica" in r.name or "replication" in r.name]


def test_a_replica_region_without_its_provider_fails_loudly():
    import pulumi

    with pytest.raises(Exception, match="replica_region 'eu-central-1' needs replica_provider"):
        run(lambda: ArchiveBucket("archive", {"pitr_days": 14, "dumps": True, "dump_retention_days": 35,
                                              "protect": True, "replica_region": "eu-central-1"},
                                  pulumi.ResourceOptions()))


def test_without_wal_only_the_dump_bucket_and_its_replica_exist():
    # RDS keeps its own WAL: nothing would write to a WAL archive bucket.
    rec = _archive(wal=False)
    buckets = sorted(r.name for r in rec.find(f"{S3}bucket:Bucket"))
    assert buckets == ["archive-dumps", "archive-dumps-replica", "archive-logs", "archive-replica-logs"]
    policy = json.loads(plain(rec.one("aws:iam/rolePolicy:RolePolicy", "archive-replication-policy").inputs)["policy"])
    assert len(_statement(policy, "WriteReplicas")["Resource"]) == 1


# --- the stacks -----------------------------------------------------------------------------------------------


def test_prod_replicates_its_dumps_to_a_second_region_and_has_no_wal_bucket_with_rds():
    from tests.harness import run_stack

    rec = run_stack("prod")
    buckets = {r.name for r in rec.find(f"{S3}bucket:Bucket")}
    assert {"n8n-archive-dumps", "n8n-archive-dumps-replica"} <= buckets
    assert "n8n-archive-wal" not in buckets and "n8n-archive-wal-replica" not in buckets
    provider = rec.one("pulumi:providers:aws", "aws-backup-replica")
    assert provider.inputs["region"] == "eu-central-1"
    assert json.loads(provider.inputs["allowedAccountIds"]) == ["210987654321"]
    assert set(rec.exports["backupReplicaBuckets"]) == {"dumps"}
    assert "archiveBucket" not in rec.exports


def test_patroni_keeps_its_wal_archive_and_replicates_it():
    from tests.harness import run_stack

    rec = run_stack("prod", {"database": {"engine": "patroni", "patroni": {"members": 3}}})
    buckets = {r.name for r in rec.find(f"{S3}bucket:Bucket")}
    assert {"n8n-archive-wal", "n8n-archive-wal-replica"} <= buckets
    assert set(rec.exports["backupReplicaBuckets"]) == {"wal", "dumps"}


@pytest.mark.parametrize(("value", "phrase"), [
    ("eu-west-1", "must differ from aws.region"),
    ("cn-north-1", "partition of aws.region"),
    ("europe", "an AWS region"),
])
def test_a_bad_replica_region_is_refused_before_anything_is_built(value, phrase):
    from n8n_platform.schema import SettingsError
    from n8n_platform.settings import from_config
    from tests.harness import load_stack_config

    raw, _ = load_stack_config("prod", {"backups": {"replicaRegion": value}})
    with pytest.raises(SettingsError, match=phrase) as caught:
        from_config(raw)
    assert "n8n:backups.replicaRegion" in str(caught.value) and value in str(caught.value)


def test_the_encryption_key_escrow_is_replicated_to_the_backup_region_under_a_key_there():
    # The replicas hold encrypted credentials: restoring them there needs the key, even with the first region gone.
    from tests.harness import run_stack

    rec = run_stack("prod")
    escrow = rec.one("aws:secretsmanager/secret:Secret", "n8n-secrets-escrow")
    (replica,) = plain(escrow.inputs)["replicas"]
    assert replica["region"] == "eu-central-1"
    key = rec.one("aws:kms/key:Key", "n8n-secrets-escrow-replica-key")
    assert key.options["provider"] == "aws-backup-replica" and key.options["protect"]
    assert "n8n-secrets-escrow-replica-key" in escrow.options["input_dependencies"]
    dev = run_stack("dev").one("aws:secretsmanager/secret:Secret", "n8n-secrets-escrow")
    assert not plain(dev.inputs).get("replicas")
