"""Real-n8n end-to-end tests: timings collected by the tests, printed at the end of the run.

Markers `e2e` and `slow` are registered in pyproject.toml. Under pytest-xdist the module runs on one worker
(`xdist_group`), whose output the controller does not show: set N8N_E2E_TIMINGS=<file> to get them as JSON.
"""

from __future__ import annotations

import json
import os

TIMINGS: dict[str, float] = {}
"""Seconds (and rates) per phase, filled by the tests."""


def pytest_sessionfinish(session, exitstatus) -> None:
    target = os.environ.get("N8N_E2E_TIMINGS")
    if TIMINGS and target:
        with open(target, "w") as f:
            json.dump(TIMINGS, f, indent=2)


def pytest_terminal_summary(terminalreporter) -> None:
    if TIMINGS:
        terminalreporter.section("n8n e2e timings")
        for key, value in TIMINGS.items():
            terminalreporter.write_line(f"{key:40s} {value:10.2f}")
