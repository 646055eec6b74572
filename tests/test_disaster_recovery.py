"""The DR runbook's one source (n8n_platform.disaster_recovery): docs/operations.md shows exactly its steps, and the
steps read only the variables the first one sets (the e2e drill, tests/e2e/test_disaster_recovery.py, runs them)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from n8n_platform import disaster_recovery as dr

OPERATIONS = Path(__file__).resolve().parent.parent / "docs" / "operations.md"


def test_docs_show_the_generated_steps() -> None:
    text = OPERATIONS.read_text()
    assert dr.runbook_markdown() in text, ("docs/operations.md is stale: run `PYTHONPATH=.:components "
                                           ".venv/bin/python -m n8n_platform.disaster_recovery --write "
                                           "docs/operations.md` (or make docs)")
    assert dr.with_runbook(text) == text


def test_every_step_reads_only_the_stage_variables() -> None:
    stage = {v.name for v in dr.STAGE}
    for step in dr.STEPS[1:]:
        assert dr.variables_read(step.commands) <= stage, step.title
    assert dr.variables_read(dr.STEPS[0].commands) <= stage  # PGPASSWORD's command reads N8N_NAMESPACE
    read = set().union(*(dr.variables_read(s.commands) for s in dr.STEPS[1:]))
    libpq_and_aws = {v.name for v in dr.STAGE if v.exported}
    assert stage - libpq_and_aws <= read  # no variable set for nothing


def test_variables_read_ignores_what_a_step_sets_itself() -> None:
    commands = 'key="$(ls "$DUMP_BUCKET")"\necho "$key ${N8N_SCHEMA}"\nfor d in a b; do echo "$d"; done'
    assert dr.variables_read(commands) == {"DUMP_BUCKET", "N8N_SCHEMA"}


def test_the_five_stages_of_a_restore_are_covered_and_the_restore_steps_are_drilled() -> None:
    titles = [s.title for s in dr.STEPS]
    for wanted in ("Replica health", "A new database", "health on every role", "Validate history"):
        assert any(wanted in t for t in titles), wanted
    drilled = [s.title for s in dr.STEPS if s.drilled]
    assert drilled == ["The encryption key, from the escrow", "The newest dump, checked",
                       "Restore the dump, as n8n's own role", "Validate history"]
    repoint = next(s for s in dr.STEPS if s.title.startswith("A new database"))
    assert "pulumi config set" in repoint.commands and "pulumi up" in repoint.commands
    assert "ConfigMap" not in repoint.commands


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_every_step_is_valid_shell() -> None:
    for step in dr.STEPS:
        done = subprocess.run(["sh", "-n", "-c", step.commands], capture_output=True, text=True)
        assert done.returncode == 0, (step.title, done.stderr)


def test_with_runbook_refuses_a_document_without_the_block() -> None:
    with pytest.raises(ValueError, match="no generated block"):
        dr.with_runbook("# Operations\n")
