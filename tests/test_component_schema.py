"""Components whose Args are plain values already meet Pulumi's multi-language rules: Pulumi's own analyzer (the one
`pulumi package add` runs) infers their schema, and every input and output carries the docstring users of other
languages will see. The other components take Python-only types (connections, settings sections) from their
neighbours and are composed in Python; flattening their Args is the step before serving them with
`pulumi package add`.

The analyzer runs in a fresh interpreter: inside a long test process its docstring lookup (inspect.getsource on the
Args class) was seen to miss a field now and then, depending on which modules ran before."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tools.offline import PYTHONPATH, ROOT

SCHEMA_READY = {"ArchiveBucket": "n8n_platform.storage", "Secrets": "n8n_platform.secrets",
                "WorkerPool": "n8n_platform.worker_pool"}

ANALYZE = """
import importlib, json, sys
from pulumi.provider.experimental.analyzer import Analyzer
name, module = sys.argv[1], sys.argv[2]
d = Analyzer("n8n").analyze([getattr(importlib.import_module(module), name)])["component_definitions"][name]
print(json.dumps({"description": d.description, "inputs": {k: v.description for k, v in d.inputs.items()},
                  "outputs": {k: v.description for k, v in d.outputs.items()}}))
"""


@pytest.mark.parametrize("name", list(SCHEMA_READY))
def test_pulumi_infers_a_documented_schema(name):
    done = subprocess.run([sys.executable, "-c", ANALYZE, name, SCHEMA_READY[name]], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": PYTHONPATH, "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    assert schema["description"]
    assert schema["inputs"] and schema["outputs"]
    undocumented = [k for k, doc in {**schema["inputs"], **schema["outputs"]}.items() if not doc]
    assert undocumented == []
    assert all(key[0].islower() and "_" not in key for key in schema["inputs"])  # camelCase wire names
