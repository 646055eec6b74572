"""The S3 archive: IAM/bucket-policy and lifecycle builders, and the ArchiveBucket component under mocks."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase

import pytest

from n8n_platform import kms
from n8n_platform.kms import key_policy
from n8n_platform.storage import (
    DUMP_PREFIX,
    EXPIRY_MARGIN_DAYS,
    FORBIDDEN_WRITER_ACTIONS,
    WAL_PREFIX,
    ArchiveBucket,
    dump_lifecycle_rules,
    log_bucket_policy,
    tls_only_policy,
    wal_lifecycle_rules,
    writer_policy,
)
from tests.harness import plain, run

BUCKET = "arn:aws:s3:::n8n-archive"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/abcd"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _actions(policy: dict) -> list[str]:
    out = []
    for statement in policy["Statement"]:
        action = statement["Action"]
        out += [action] if isinstance(action, str) else action
    return out


# --- writer policy --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("read", [True, False])
def test_writer_policy_never_grants_delete_bucket_config_or_lock_bypass(read):
    for action in _actions(writer_policy(BUCKET, WAL_PREFIX, KEY, read=read)):
        assert "*" not in action, f"wildcard action {action}"
        for forbidden in FORBIDDEN_WRITER_ACTIONS:
            assert not fnmatchcase(action, forbidden), f"{action} matches {forbidden}"


def test_writer_policy_confines_objects_and_listing_to_its_prefix():
    policy = writer_policy(BUCKET, WAL_PREFIX, KEY, read=True)
    listing, objects, kms = policy["Statement"]
    assert listing["Action"] == ["s3:ListBucket"] and listing["Resource"] == [BUCKET]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["wal/*"]}}
    assert objects["Resource"] == [f"{BUCKET}/wal/*"]
    assert kms["Resource"] == [KEY]


def test_reader_writer_can_fetch_for_restores_but_a_dump_uploader_cannot_read():
    wal = writer_policy(BUCKET, WAL_PREFIX, KEY, read=True)
    dump = writer_policy(BUCKET, DUMP_PREFIX, KEY, read=False)
    assert {"s3:GetObject", "kms:Decrypt", "s3:PutObject", "kms:GenerateDataKey"} <= set(_actions(wal))
    assert "s3:GetObject" not in _actions(dump)
    assert {"s3:PutObject", "s3:AbortMultipartUpload", "kms:GenerateDataKey"} <= set(_actions(dump))


@pytest.mark.parametrize("read", [True, False])
def test_every_writer_may_decrypt_data_keys_because_sse_kms_multipart_uploads_need_it(read):
    *_, kms = writer_policy(BUCKET, DUMP_PREFIX, KEY, read=read)["Statement"]
    assert set(kms["Action"]) == {"kms:GenerateDataKey", "kms:Decrypt"} and kms["Resource"] == [KEY]


def test_writer_policy_is_valid_json_policy_document():
    doc = json.loads(json.dumps(writer_policy(BUCKET, DUMP_PREFIX, KEY, read=False)))
    assert doc["Version"] == "2012-10-17" and all(s["Effect"] == "Allow" for s in doc["Statement"])


# --- bucket and key policies --------------------------------------------------------------------------------------


def test_tls_only_policy_denies_plain_http_and_old_tls_on_bucket_and_objects():
    deny_plain, deny_old = tls_only_policy(BUCKET)["Statement"]
    for statement in (deny_plain, deny_old):
        assert statement["Effect"] == "Deny" and statement["Principal"] == "*" and statement["Action"] == "s3:*"
        assert statement["Resource"] == [BUCKET, f"{BUCKET}/*"]
    assert deny_plain["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny_old["Condition"] == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}


def test_log_bucket_accepts_log_delivery_only_from_our_buckets_in_our_account():
    policy = log_bucket_policy("arn:aws:s3:::logs", [BUCKET], "123456789012")
    delivery = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert len(delivery) == 1
    assert delivery[0]["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery[0]["Action"] == "s3:PutObject"
    assert delivery[0]["Condition"]["ArnLike"]["aws:SourceArn"] == [BUCKET]
    assert delivery[0]["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    assert sum(s["Effect"] == "Deny" for s in policy["Statement"]) == 2, "log bucket must be TLS-only too"


def test_key_policy_has_no_wildcard_principal_checkov_ckv_aws_33():
    policy = key_policy("123456789012", "aws-us-gov")
    assert [s["Principal"] for s in policy["Statement"]] == [{"AWS": "arn:aws-us-gov:iam::123456789012:root"}]
    # only the key of the alarm topic lets CloudWatch alarms use it, and only this account's alarms
    policy = key_policy("123456789012", "aws-us-gov", alarms=True)
    principals = [s["Principal"] for s in policy["Statement"]]
    assert principals == [{"AWS": "arn:aws-us-gov:iam::123456789012:root"}, {"Service": "cloudwatch.amazonaws.com"}]
    assert policy["Statement"][1]["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


# --- lifecycle ----------------------------------------------------------------------------------------------------


def _rule(rules: list[dict], rule_id: str) -> dict:
    return next(r for r in rules if r["id"] == rule_id)


def test_wal_expires_after_the_pitr_window_plus_margin_and_noncurrent_after_the_lock():
    rules = wal_lifecycle_rules(14)
    assert _rule(rules, "expire-wal") == {"id": "expire-wal", "status": "Enabled", "filter": {"prefix": "wal/"},
                                         "expiration": {"days": 14 + EXPIRY_MARGIN_DAYS}}
    assert _rule(rules, "expire-noncurrent-versions")["noncurrent_version_expiration"]["noncurrent_days"] > 14
    assert _rule(rules, "abort-incomplete-multipart-uploads")["abort_incomplete_multipart_upload"][
        "days_after_initiation"] >= 1
    assert not any("transitions" in r for r in rules), "WAL stays in STANDARD: restores read it"


def test_long_kept_dumps_move_to_standard_ia_then_glacier_ir_before_expiry():
    age = _rule(dump_lifecycle_rules(365), "age-dumps")
    assert age["filter"] == {"prefix": "dumps/"}
    assert age["transitions"] == [{"days": 30, "storage_class": "STANDARD_IA"},
                                  {"days": 90, "storage_class": "GLACIER_IR"}]
    assert age["expiration"]["days"] == 365 + EXPIRY_MARGIN_DAYS


def test_short_kept_dumps_skip_transitions_that_would_cost_minimum_storage_charges():
    assert "transitions" not in _rule(dump_lifecycle_rules(35), "age-dumps")
    assert [t["storage_class"] for t in _rule(dump_lifecycle_rules(90), "age-dumps")["transitions"]] == [
        "STANDARD_IA"]


# --- the component --------------------------------------------------------------------------------------------------

S3 = "aws:s3/"


def _archive(dumps: bool = True, protect: bool = True, pitr: int = 14, dump_days: int = 35, **extra):
    return run(lambda: ArchiveBucket("archive", {"pitr_days": pitr, "dumps": dumps, "dump_retention_days": dump_days,
                                                 "protect": protect, **extra}))


@pytest.fixture(scope="module")
def rec():
    return _archive()


def _for(rec, kind: str, bucket: str):
    return plain(rec.one(f"{S3}{kind}", f"archive-{bucket}-{_SUFFIX[kind]}").inputs)


_SUFFIX = {
    "bucketVersioning:BucketVersioning": "versioning",
    "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "encryption",
    "bucketPublicAccessBlock:BucketPublicAccessBlock": "public-access",
    "bucketOwnershipControls:BucketOwnershipControls": "ownership",
    "bucketPolicy:BucketPolicy": "policy",
    "bucketObjectLockConfiguration:BucketObjectLockConfiguration": "object-lock",
    "bucketLifecycleConfiguration:BucketLifecycleConfiguration": "lifecycle",
    "bucketLogging:BucketLogging": "logging",
}
BUCKETS = ("wal", "dumps", "logs")


@pytest.mark.parametrize("bucket", BUCKETS)
def test_every_bucket_is_versioned_so_object_lock_and_recovery_work(rec, bucket):
    assert _for(rec, "bucketVersioning:BucketVersioning", bucket)["versioningConfiguration"]["status"] == "Enabled"


@pytest.mark.parametrize("bucket", BUCKETS)
def test_every_bucket_blocks_all_public_access(rec, bucket):
    block = _for(rec, "bucketPublicAccessBlock:BucketPublicAccessBlock", bucket)
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                          "restrictPublicBuckets"))


@pytest.mark.parametrize("bucket", BUCKETS)
def test_every_bucket_disables_acls_bucket_owner_enforced(rec, bucket):
    rule = _for(rec, "bucketOwnershipControls:BucketOwnershipControls", bucket)["rule"]
    assert rule["objectOwnership"] == "BucketOwnerEnforced"


@pytest.mark.parametrize("bucket", BUCKETS)
def test_every_bucket_policy_denies_insecure_transport(rec, bucket):
    policy = json.loads(_for(rec, "bucketPolicy:BucketPolicy", bucket)["policy"])
    denies = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert {"aws:SecureTransport"} <= {k for s in denies for c in s["Condition"].values() for k in c}
    assert {"s3:TlsVersion"} <= {k for s in denies for c in s["Condition"].values() for k in c}


@pytest.mark.parametrize("bucket", ["wal", "dumps"])
def test_archive_buckets_use_sse_kms_with_the_customer_key_and_bucket_key(rec, bucket):
    rule = _for(rec, "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                bucket)["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"].startswith("arn:aws:kms:")
    assert rule["bucketKeyEnabled"] is True


def test_log_bucket_uses_sse_s3_because_server_access_logs_cannot_target_kms(rec):
    rule = _for(rec, "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "logs")["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}


def test_wal_is_governance_locked_for_the_pitr_window(rec):
    lock = _for(rec, "bucketObjectLockConfiguration:BucketObjectLockConfiguration", "wal")["rule"]
    assert lock["defaultRetention"] == {"mode": "GOVERNANCE", "days": 14}


def test_dumps_are_compliance_locked_for_their_retention_in_their_own_bucket(rec):
    lock = _for(rec, "bucketObjectLockConfiguration:BucketObjectLockConfiguration", "dumps")["rule"]
    assert lock["defaultRetention"] == {"mode": "COMPLIANCE", "days": 35}


def test_log_bucket_has_no_object_lock_because_locked_buckets_cannot_receive_logs(rec):
    assert plain(rec.one(f"{S3}bucket:Bucket", "archive-logs").inputs).get("objectLockEnabled") is False
    assert plain(rec.one(f"{S3}bucket:Bucket", "archive-wal").inputs)["objectLockEnabled"] is True
    assert rec.find(f"{S3}bucketObjectLockConfiguration:BucketObjectLockConfiguration", "archive-logs-object-lock") \
        == []


@pytest.mark.parametrize("bucket", ["wal", "dumps"])
def test_archive_buckets_log_access_to_the_log_bucket(rec, bucket):
    logging = _for(rec, "bucketLogging:BucketLogging", bucket)
    assert logging["targetBucket"] == "archive-logs-id"


def test_lifecycle_rules_come_from_the_builders(rec):
    rules = _for(rec, "bucketLifecycleConfiguration:BucketLifecycleConfiguration", "wal")["rules"]
    assert {r["id"] for r in rules} == {r["id"] for r in wal_lifecycle_rules(14)}
    expire = next(r for r in rules if r["id"] == "expire-wal")
    assert expire["expiration"]["days"] == 14 + EXPIRY_MARGIN_DAYS


def test_kms_key_rotates_and_has_a_deletion_window_and_a_policy(rec):
    key = plain(rec.one("aws:kms/key:Key", "archive-key").inputs)
    assert key["enableKeyRotation"] is True
    assert key["deletionWindowInDays"] == kms.KEY_DELETION_WINDOW_DAYS
    assert json.loads(key["policy"]) == key_policy("123456789012", alarms=True)  # it encrypts the alarm topic
    assert plain(rec.one("aws:kms/alias:Alias").inputs)["name"] == "alias/n8n-test/archive-key"


@pytest.mark.parametrize("name", ["archive-wal", "archive-dumps", "archive-logs", "archive-key"])
def test_buckets_and_key_are_protected_and_retained_because_deleting_them_loses_backups(rec, name):
    found = [r for r in rec.resources if r.name == name]
    assert len(found) == 1
    assert found[0].options["protect"] is True and found[0].options["retain_on_delete"] is True


def test_without_protect_retention_follows_protect_unless_asked():
    unprotected = _archive(protect=False)
    bucket = unprotected.one(f"{S3}bucket:Bucket", "archive-wal")
    assert bucket.options["protect"] is False and bucket.options["retain_on_delete"] is False
    assert unprotected.one("aws:kms/key:Key").options["retain_on_delete"] is False
    kept = _archive(protect=False, retain_on_delete=True)
    assert kept.one(f"{S3}bucket:Bucket", "archive-wal").options["retain_on_delete"] is True
    assert kept.one("aws:kms/key:Key").options["retain_on_delete"] is True


def test_an_output_window_fails_naming_the_argument():
    import pulumi

    from n8n_platform import PlainValueRequired

    with pytest.raises(PlainValueRequired, match="ArchiveBucket: argument 'pitr_days'"):
        _archive(pitr=pulumi.Output.from_input(7))


def test_without_dumps_there_is_no_compliance_bucket():
    no_dumps = _archive(dumps=False)
    assert no_dumps.find(f"{S3}bucket:Bucket", "archive-dumps") == []
    policy = json.loads(plain(no_dumps.one(f"{S3}bucketPolicy:BucketPolicy", "archive-logs-policy").inputs)["policy"])
    delivery = next(s for s in policy["Statement"] if s["Effect"] == "Allow")
    assert len(delivery["Condition"]["ArnLike"]["aws:SourceArn"]) == 1


def test_every_child_is_parented_and_named_after_the_component(rec):
    for r in rec.resources:
        if r.type != "n8n:index:ArchiveBucket":
            assert r.parent == "archive" and r.name.startswith("archive-"), r.name
