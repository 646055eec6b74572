"""An n8n upgrade under load on real n8n: the old version's main, webhook processor and worker, webhook load through
a front, then every process rolled to 2.40.7 in the order and with the waits the dev stack's plan renders (main
first and ready, i.e. migrated; then the webhook processors and workers, surging and draining). Every call is
accounted for as in the fault tests (tools/testing/e2e/upgrade.py; the table is printed in "n8n e2e report")."""

from __future__ import annotations

import os
import time

import pytest

from tools.testing.e2e import install as n8n_install
from tools.testing.e2e.faults import Accounting
from tools.testing.e2e.upgrade import REFUSED_MIGRATION, UpgradePlan, rollout_plan, upgrade_cluster, upgrade_under_load

from .conftest import REPORT, TIMINGS

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("n8n-e2e")]
PLAN = UpgradePlan()


def report(run) -> None:
    if not any(line.startswith("| fault |") for line in REPORT):
        REPORT.append(Accounting.HEADER)
    REPORT.append(run.accounting.row())
    REPORT.extend(f"    {at:7.1f} s  {text}" for at, text in run.timeline)


def account(acc: Accounting) -> None:
    """Every accepted call accounted for: nothing stuck, nobody told "done" for work that did not succeed, crashed
    and error at most 1 % of the accepted calls, at most 1 % of the calls not accepted at all."""
    assert acc.calls - acc.accepted <= 0.01 * acc.calls, acc.row()
    assert acc.settled_s is not None and acc.in_progress == 0, acc.row()
    assert not acc.told_done, acc.told_done
    assert acc.statuses["crashed"] + acc.statuses["error"] <= 0.01 * acc.accepted, acc.row()


@pytest.fixture(scope="module")
def older(install):
    """The older release (its own cache dir); a failure to install it skips like the main install's."""
    try:
        return n8n_install.ensure(version=n8n_install.OLDER_VERSION)
    except Exception as e:  # any failure to install means: cannot run here
        message = f"!!! n8n {n8n_install.OLDER_VERSION} COULD NOT BE INSTALLED, upgrade e2e NOT RUN: {e}"
        if os.environ.get("CI"):  # CI must run it
            pytest.fail(message)
        pytest.skip(message)


def test_upgrade_under_load_loses_nothing(install, older, tmp_path_factory):
    waves = rollout_plan()
    assert [[r.role for r in w] for w in waves] == [["main"], ["webhook", "worker"]]
    started = time.monotonic()
    with upgrade_cluster(older, PLAN, workdir=tmp_path_factory.mktemp("n8n-upgrade")) as cluster:
        run = upgrade_under_load(cluster, install, PLAN, waves)
    TIMINGS["upgrade under load s"] = time.monotonic() - started
    acc = run.accounting
    report(run)
    assert run.failed is None, run.failed
    assert run.migrations[1] > run.migrations[0], "the new main ran no migration"
    assert run.new_workers_started_after_main_ready
    account(acc)
    assert run.before_readable[0] > 0 and run.before_readable[1] == run.before_readable[0]


def test_a_refused_migration_stops_the_upgrade_and_the_old_processes_keep_serving(install, older, tmp_path_factory):
    # The new main cannot migrate (n8n no longer owns a table its first pending migration indexes): it never turns
    # ready, so the rollout of main fails and the webhook processor and worker are never replaced.
    plan = UpgradePlan(ready_timeout_s=120)
    with upgrade_cluster(older, plan, workdir=tmp_path_factory.mktemp("n8n-refused")) as cluster:
        run = upgrade_under_load(cluster, install, plan, rollout_plan(), sabotage=REFUSED_MIGRATION)
        log = cluster.main.log_text()
    report(run)
    assert run.failed is not None and run.failed.startswith("main:"), run.timeline
    assert "must be owner of table credentials_entity" in log and "Starting migration" in log
    assert run.migrations[0] == run.migrations[1], "a refused migration left a half-migrated schema"
    assert run.new_workers == 0  # no worker of the new version ever took a job
    assert set(run.old_alive) == {"webhook", "worker-1"}
    account(run.accounting)
