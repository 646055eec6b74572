"""Real-engine tests: the local stack deployed by the Pulumi CLI built here onto a control plane started here.

They run only when selected with ``-m engine`` (``make engine-test``): they build or reuse the engine binaries,
start etcd, kube-apiserver, controller-manager, scheduler and kwok on 127.0.0.1, apply the add-ons' CRDs, run
``pulumi up`` once for the module, and stop exactly what they started. Timings are printed at the end (and
written as JSON to ``$N8N_ENGINE_TIMINGS`` when set).
"""

from __future__ import annotations

import json
import os
import time

import pytest

TIMINGS: dict[str, float] = {}


def pytest_collection_modifyitems(config, items) -> None:
    if "engine" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="real-engine test: run with `make engine-test` (pytest -m engine)")
    for item in items:
        if item.get_closest_marker("engine"):
            item.add_marker(skip)


class Timer:
    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc):
        TIMINGS[self.name] = round(time.monotonic() - self.started, 1)


def pytest_sessionfinish(session, exitstatus) -> None:
    target = os.environ.get("N8N_ENGINE_TIMINGS")
    if TIMINGS and target:
        with open(target, "w") as f:
            json.dump(TIMINGS, f, indent=2)


def pytest_terminal_summary(terminalreporter) -> None:
    if TIMINGS:
        terminalreporter.section("real engine timings (s)")
        for key, value in TIMINGS.items():
            terminalreporter.write_line(f"{key:40s} {value:10.1f}")
