"""The AWS regression gate: each stack's AWS resources, exported as a Terraform plan (tools/ci/tfplan.py), pass
checkov's Terraform rules with 0 failed; every skip is declared, with a reason, by the module that builds the
resource."""

from __future__ import annotations

import copy

import pytest

from tests.harness import run_stack
from tools.ci import tfplan

pytestmark = pytest.mark.xdist_group("checkov")


@pytest.fixture(scope="module")
def recordings():
    return {stack: run_stack(stack) for stack in ("dev", "prod")}


@pytest.fixture(scope="module")
def prod_scan(recordings):
    return tfplan.scan(recordings["prod"])


@pytest.mark.parametrize(("pulumi_type", "terraform_type"), [
    ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws_s3_bucket_public_access_block"),
    ("aws:cloudwatch/logGroup:LogGroup", "aws_cloudwatch_log_group"),
    ("aws:elasticache/replicationGroup:ReplicationGroup", "aws_elasticache_replication_group"),
    ("aws:rds/instance:Instance", "aws_db_instance"),
    ("aws:s3/bucketReplicationConfig:BucketReplicationConfig", "aws_s3_bucket_replication_configuration"),
])
def test_pulumi_types_map_to_the_terraform_types_they_were_generated_from(pulumi_type, terraform_type):
    assert tfplan.terraform_type(pulumi_type) == terraform_type


def test_inputs_become_terraform_attributes_but_tag_names_stay():
    inputs = {"kmsKeyId": "k", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}],
              "tags": {"costCenter": "x"}}
    assert tfplan.attributes(inputs) == {
        "kms_key_id": "k", "rule": [{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}}],
        "tags": {"costCenter": "x"}}


def test_a_web_acl_s_rule_json_becomes_the_rule_blocks_checkov_reads(recordings):
    """The edge writes its WAF rules as one JSON string (the API's PascalCase); the export expands them into
    Terraform's `rule` blocks, so the managed-rule checks (e.g. Log4j, CKV_AWS_192) see them."""
    acl = next(r for r in tfplan.export(recordings["prod"]) if r.type == "aws_wafv2_web_acl")
    assert "rule_json" not in acl.values
    managed = {rule["statement"]["managed_rule_group_statement"]["name"]: rule for rule in acl.values["rule"]
               if "managed_rule_group_statement" in rule["statement"]}
    assert managed["AWSManagedRulesKnownBadInputsRuleSet"]["override_action"] == {"none": {}}
    assert any("ip_set_reference_statement" in str(rule["statement"]) for rule in acl.values["rule"])


def test_a_child_refers_to_its_bucket_as_terraform_would(recordings):
    exported = {r.address: r for r in tfplan.export(recordings["prod"])}
    block = exported["aws_s3_bucket_public_access_block.n8n_archive_dumps_public_access"]
    assert block.references["bucket"][:2] == ["aws_s3_bucket.n8n_archive_dumps.id", "aws_s3_bucket.n8n_archive_dumps"]
    assert "bucket" not in block.values and block.values["block_public_acls"] is True


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_stack_passes_checkovs_terraform_rules(recordings, prod_scan, stack):
    result = prod_scan if stack == "prod" else tfplan.scan(recordings[stack])
    assert result.failed == [], result.failed
    assert result.passed > 50
    assert all(reason and "\n" not in reason for _, _, reason in result.skipped)


def test_prod_backups_replicate_and_every_log_group_is_encrypted(prod_scan):
    # The two findings of the independent scan are fixed, not skipped.
    skipped = {(check, address) for check, address, _ in prod_scan.skipped}
    assert ("CKV_AWS_144", "aws_s3_bucket.n8n_archive_dumps") not in skipped
    assert not [s for s in skipped if s[0] == "CKV_AWS_158"]


def _without(recording, pulumi_type: str, name: str, key: str | None = None):
    broken = copy.deepcopy(recording)
    for r in list(broken.resources):
        if r.type == pulumi_type and r.name == name:
            if key is None:
                broken.resources.remove(r)
            else:
                r.inputs.pop(key)
    return broken


def test_the_gate_catches_an_unencrypted_log_group_and_a_bucket_left_public(recordings):
    broken = _without(recordings["prod"], "aws:cloudwatch/logGroup:LogGroup", "n8n-redis-logs", "kmsKeyId")
    broken = _without(broken, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                      "n8n-archive-dumps-public-access")
    failed = set(tfplan.scan(broken).failed)
    assert ("CKV_AWS_158", "aws_cloudwatch_log_group.n8n_redis_logs") in failed
    assert ("CKV2_AWS_6", "aws_s3_bucket.n8n_archive_dumps") in failed
