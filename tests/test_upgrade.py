"""Upgrading n8n: the copy of the database before main migrates it (RDS snapshot, or a one-off run of the nightly
dump Job), only when n8n.version changes, and main waiting for it; the version read back from the stack itself."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest

from n8n_platform import upgrade
from tests.harness import manifest, run, run_stack
from tools.ci import gates

MAIN = "n8n-app-deployment-n8n-main"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SNAPSHOT = "aws:rds/snapshot:Snapshot"
JOB = "kubernetes:batch/v1:Job"
OLD, NEW = "2.39.0", "2.40.7"
COPY = "n8n-pre-upgrade-2-39-0-to-2-40-7"
PATRONI = {"database": {"engine": "patroni"}, "redis": {"mode": "in-cluster"}}


def copies(recording):
    return [r for r in recording.resources if "pre-upgrade" in r.name]


@pytest.fixture(scope="module")
def prod_upgrade():
    return run_stack("prod", stack_outputs={upgrade.STACK_OUTPUT: OLD})


@pytest.fixture(scope="module")
def patroni_upgrade():
    return run_stack("prod", PATRONI, stack_outputs={upgrade.STACK_OUTPUT: OLD})


def test_the_copy_is_named_after_both_versions_and_only_exists_for_a_change():
    assert upgrade.copy_name(OLD, NEW) == COPY
    assert upgrade.copy_name(None, NEW) is None  # first deployment: nothing to copy from an older version
    assert upgrade.copy_name(NEW, NEW) is None
    with pytest.raises(ValueError, match=r"previous version '1\.9' must be an n8n 2\.x release"):
        upgrade.copy_name("1.9", NEW)
    assert upgrade.is_downgrade("2.40.7", "2.9.0") and not upgrade.is_downgrade("2.9.0", "2.40.7")


def test_rds_takes_a_snapshot_that_main_waits_for(prod_upgrade):
    [snapshot] = copies(prod_upgrade)
    assert snapshot.type == SNAPSHOT
    assert snapshot.inputs["dbInstanceIdentifier"] == "n8n-prod"
    assert snapshot.inputs["dbSnapshotIdentifier"] == "n8n-prod-pre-upgrade-2-39-0-to-2-40-7"
    tags = snapshot.inputs["tags"]
    assert tags["n8n.io/upgrade-from"] == OLD and tags["n8n.io/upgrade-to"] == NEW
    # Kept when the next update drops it; never protected, or that update would fail on it.
    assert snapshot.options["retain_on_delete"] and not snapshot.options["protect"]
    assert "n8n-db-instance" in snapshot.options["depends_on"]
    assert snapshot.name in prod_upgrade.one(DEPLOYMENT, MAIN).options["depends_on"]
    assert prod_upgrade.exports[upgrade.STACK_OUTPUT] == NEW


@pytest.mark.parametrize("outputs", [{}, {upgrade.STACK_OUTPUT: NEW}], ids=["first-deployment", "same-version"])
def test_no_copy_without_a_version_change(outputs):
    rds = run_stack("prod", stack_outputs=outputs)
    assert not copies(rds) and not rds.find(SNAPSHOT)
    assert not any("pre-upgrade" in d for d in rds.one(DEPLOYMENT, MAIN).options["depends_on"])
    assert rds.exports[upgrade.STACK_OUTPUT] == NEW


def test_same_version_on_patroni_runs_no_dump_job():
    patroni = run_stack("prod", PATRONI, stack_outputs={upgrade.STACK_OUTPUT: NEW})
    assert not copies(patroni)


def test_patroni_runs_the_nightly_dump_job_once_before_main(patroni_upgrade):
    [job] = copies(patroni_upgrade)
    assert job.type == JOB and job.inputs["metadata"]["name"] == COPY
    assert not patroni_upgrade.find(SNAPSHOT)
    cron = manifest(patroni_upgrade.one("kubernetes:batch/v1:CronJob"))
    rendered = manifest(job)
    pod, nightly = rendered["spec"]["template"]["spec"], cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    # The same pod as the nightly dump (service account, IRSA role, dump step), only the upload folder differs.
    assert pod["serviceAccountName"] == nightly["serviceAccountName"] == "n8n-dumps-dump"
    assert pod["initContainers"] == nightly["initContainers"]
    assert pod["volumes"] == nightly["volumes"]
    upload = pod["containers"][0]["command"][-1]
    assert f"dumps/{COPY}/n8n/" in upload and f"dumps/{COPY}/" not in nightly["containers"][0]["command"][-1]
    assert rendered["spec"]["backoffLimit"] == cron["spec"]["jobTemplate"]["spec"]["backoffLimit"]
    assert rendered["metadata"]["annotations"]["pulumi.com/timeoutSeconds"] == str(upgrade.COPY_TIMEOUT_SECONDS)
    assert job.name in patroni_upgrade.one(DEPLOYMENT, MAIN).options["depends_on"]
    assert gates.schema_errors([rendered]) == []


def test_patroni_without_dumps_takes_no_copy():
    dev = run_stack("dev", stack_outputs={upgrade.STACK_OUTPUT: OLD})  # dev turns dumps off (a warning says so)
    assert not copies(dev)


def test_the_previous_version_is_read_from_the_stack_itself():
    seen = {}

    def program():
        seen["version"] = upgrade.deployed_version()
        seen["reference"] = upgrade.self_reference_name()

    run(program, stack="dev", stack_outputs={upgrade.STACK_OUTPUT: OLD})
    assert seen == {"version": OLD, "reference": "organization/n8n/dev"}
    run(program, stack="dev")
    assert seen["version"] is None


def test_a_reference_to_another_stack_fails_loudly_offline():
    def program():
        pulumi.StackReference("other", stack_name="organization/n8n/prod").outputs.apply(lambda o: o)

    with pytest.raises(Exception, match="only the running stack's own outputs"):
        run(program, stack="dev")


def test_the_runbook_names_the_setting_and_the_copies_this_code_makes():
    guide = (Path(__file__).parent.parent / "docs" / "operations.md").read_text()
    section = guide[guide.index("## Upgrading n8n"):]
    section = section[:section.index("\n## ", 5)]
    assert "pulumi config set --path n8n:n8n.version " in section and "pulumi preview" in section
    assert f"dumps/{COPY}/n8n/" in section  # the Patroni copy's folder, as the Job writes it
    assert upgrade.snapshot_identifier("n8n-prod", COPY) in section  # the RDS snapshot, as created
    assert "pg_restore" in section and "restore-db-instance-from-db-snapshot" in section


def test_the_real_n8n_upgrade_replays_the_plans_order():
    from tools.testing.e2e.upgrade import rollout_plan

    waves = rollout_plan("dev")
    assert [[r.role for r in w] for w in waves] == [["main"], ["webhook", "worker"]]
    main, (webhook, worker) = waves[0][0], waves[1]
    assert main.strategy == "Recreate" and webhook.strategy == worker.strategy == "RollingUpdate"
    assert webhook.prestop_s > 0 and worker.prestop_s == 0 and worker.grace_s > 0


def test_the_copies_pass_the_policy_pack(prod_upgrade, patroni_upgrade):
    from tools.ci import policy_check

    for recording in (prod_upgrade, patroni_upgrade):
        assert policy_check.check(recording, "prod") == []
