"""Real-n8n end-to-end tests: timings collected by the tests, printed at the end of the run.

Markers `e2e` and `slow` are registered in pyproject.toml. Under pytest-xdist the module runs on one worker
(`xdist_group`), whose output the controller does not show: set N8N_E2E_TIMINGS=<file> to get them as JSON.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from tools.testing.e2e import install as n8n_install

TIMINGS: dict[str, float] = {}
"""Seconds (and rates) per phase, filled by the tests."""
REPORT: list[str] = []
"""Lines (e.g. the fault accounting table) printed after the timings."""


@pytest.fixture(scope="session")
def install():
    """Real n8n from npm (cached); a failure to install skips the e2e here and fails it in CI."""
    started = time.monotonic()
    try:
        result = n8n_install.ensure()
    except Exception as e:  # any failure to install means: cannot run here
        message = f"!!! REAL n8n COULD NOT BE INSTALLED, e2e NOT RUN: {type(e).__name__}: {e}"
        if os.environ.get("CI"):  # CI must run it: an install failure there is a failure, not a skip
            pytest.fail(message)
        pytest.skip(message)
    TIMINGS["install (0 when cached) s"] = time.monotonic() - started
    return result


def pytest_sessionfinish(session, exitstatus) -> None:
    target = os.environ.get("N8N_E2E_TIMINGS")
    if TIMINGS and target:
        with open(target, "w") as f:
            json.dump({**TIMINGS, "report": REPORT}, f, indent=2)


def pytest_terminal_summary(terminalreporter) -> None:
    if TIMINGS:
        terminalreporter.section("n8n e2e timings")
        for key, value in TIMINGS.items():
            terminalreporter.write_line(f"{key:40s} {value:10.2f}")
    if REPORT:
        terminalreporter.section("n8n e2e report")
        for line in REPORT:
            terminalreporter.write_line(line)
