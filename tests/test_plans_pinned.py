"""The rendered plan of every shipped stack pinned, byte for byte: each resource with its inputs and options, every
Kubernetes manifest, the stack outputs and both pictures. A refactor (the settings/components seam of #21 was one)
must leave these digests alone; a change that means to alter what a stack deploys updates them on purpose.

After such a change: `PYTHONPATH=.:components python -m tests.test_plans_pinned` rewrites tests/golden/plans.json;
see what moved with `make plan STACK=<stack>` before and after (build/plan/<stack>/) and review that diff."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from tools import plan

STACKS = ("dev", "prod", "local")
GOLDEN = Path(__file__).parent / "golden" / "plans.json"


def digests(out_dir: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file ``plan.render`` wrote into ``out_dir``."""
    return {str(f.relative_to(out_dir)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(out_dir.rglob("*")) if f.is_file()}


def rendered(stack: str, out_dir: Path) -> dict[str, str]:
    plan.render(stack, out_dir)
    return digests(out_dir)


@pytest.mark.parametrize("stack", STACKS)
def test_the_plan_of_each_stack_is_the_pinned_one(stack, tmp_path):
    want = json.loads(GOLDEN.read_text())[stack]
    got = rendered(stack, tmp_path)
    changed = sorted(k for k in want.keys() | got.keys() if want.get(k) != got.get(k))
    assert not changed, (f"the {stack} plan changed in {len(changed)} file(s): {changed[:20]}; if on purpose, "
                         "rerun `python -m tests.test_plans_pinned` and review the plan diff")


def test_a_changed_manifest_changes_the_digests(tmp_path):
    """The digest covers file contents, not only names."""
    first = rendered("local", tmp_path)
    some = next(k for k in first if k.startswith("manifests/"))
    (tmp_path / some).write_text((tmp_path / some).read_text() + "# edited\n")
    assert digests(tmp_path)[some] != first[some] and digests(tmp_path).keys() == first.keys()


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        GOLDEN.write_text(json.dumps({s: rendered(s, Path(tmp) / s) for s in STACKS}, indent=1, sort_keys=True)
                          + "\n")
    print(f"wrote {GOLDEN}", file=sys.stderr)
