"""The DR drill on real n8n 2.40.7, PostgreSQL and an S3-compatible server (tools/testing/e2e/dr.py): the plan's dump
Job uploads, the runbook's steps restore on a fresh PostgreSQL, and n8n started with the escrowed key has yesterday's
workflows, history and a credential that decrypts; a wrong key fails with n8n's own error. RPO and RTO figures go to
the "n8n e2e timings" section, not into assertions."""

from __future__ import annotations

import json

import pytest

from tools.testing.e2e.dr import CREDENTIAL_ID, DECRYPTION_FAILED, GUARDED_ID, TOKEN_HEADER, drill

from .conftest import REPORT, TIMINGS

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("n8n-e2e")]


@pytest.fixture(scope="module")
def result(install, tmp_path_factory):
    run = drill(install, tmp_path_factory.mktemp("n8n-dr"))
    TIMINGS.update({f"DR {k}": v for k, v in run.timings.items()})
    REPORT.append(f"DR drill: {len(run.executions_at_dump)} executions at the dump, {len(run.lost)} written after it "
                  f"(lost), history at the dump: {run.history_at_dump.strip().replace(chr(10), '; ')}")
    return run


def test_the_dump_job_uploads_kms_encrypted_checksummed_and_locked(result):
    dump = result.dump
    prefix = result.facts.dump_prefix
    assert [k.endswith(".dump") for k in dump.keys] == [True, False] and dump.keys[1] == dump.keys[0] + ".sha256"
    assert all(k.startswith(prefix) for k in dump.keys) and "uploaded s3://" in result.upload_log
    assert dump.head["ServerSideEncryption"] == "aws:kms"
    assert dump.head["SSEKMSKeyId"] == {e["name"]: e["value"] for e in
                                        result.facts.dump_pod["containers"][0]["env"]}["DUMP_KMS_KEY"]
    assert dump.head["ChecksumSHA256"] == dump.local_sha256_b64  # the checksum the CLI sent, of the Job's file
    assert dump.sha256_file[0] == dump.sha256_file[1] and dump.sha256_file[0].endswith("  n8n.dump\n")
    assert dump.head["ObjectLockMode"] == result.facts.lock["mode"] == "COMPLIANCE"
    assert "AccessDenied" in dump.delete_error  # nobody deletes a locked dump version


def test_the_escrow_the_restore_reads_is_the_key_the_plan_puts_there(result):
    assert result.facts.escrow_holds_the_n8n_key
    assert result.facts.escrow_name == "n8n/dev/n8n-secrets/encryption-key"


def test_workflows_and_history_up_to_the_dump_are_restored(result):
    assert result.history_restored == result.history_at_dump
    assert "workflows|2" in result.history_at_dump and "credentials|1" in result.history_at_dump
    assert result.workflows_restored == result.workflows_source
    assert any(w[0] == GUARDED_ID and w[3] is not None for w in result.workflows_restored)  # still published
    assert len(result.executions_at_dump) >= 5
    assert all(r["status"] == "success" and r["data"] > 0 for r in result.executions_at_dump)
    assert result.executions_restored == result.executions_at_dump  # every row, its times and the size of its data
    running = result.executions_running
    assert running[:len(result.executions_at_dump)] == result.executions_at_dump  # n8n's start changed none
    assert len(running) > len(result.executions_at_dump)  # and the restored n8n ran its own


def test_what_was_written_after_the_dump_is_lost(result):
    assert len(result.lost) == 3 and all(r["status"] == "success" for r in result.lost)
    assert not [r for r in result.lost if r in result.executions_restored]
    assert max(r["started"] for r in result.executions_restored) < min(r["started"] for r in result.lost)


def test_the_escrowed_key_decrypts_the_credential_and_a_workflow_using_it_runs(result):
    status, body = result.guarded
    assert status == 200, body
    assert json.loads(body) == {"admitted": 2}
    assert result.guarded_wrong_token[0] == 403, result.guarded_wrong_token
    (exported,) = json.loads(result.exported_credential)
    assert exported["id"] == CREDENTIAL_ID and exported["data"]["name"] == TOKEN_HEADER


def test_a_wrong_key_fails_loudly_with_n8ns_own_error(result):
    assert DECRYPTION_FAILED in result.wrong_key_error, result.wrong_key_error
