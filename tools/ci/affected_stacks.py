"""Which stacks a change affects: the workflows preview and deploy only those.

    gh pr diff "$PR" --name-only | python3 -m tools.ci.affected_stacks      prints stacks=["dev","prod"]
    python3 -m tools.ci.affected_stacks --all                               every stack (scheduled drift check)

A change to ``Pulumi.<stack>.yaml`` affects that stack; a change to anything every stack runs (the program, the
component library, the policy pack, the pinned dependencies) affects every stack. The same patterns are the
``paths`` filter of the preview and deploy workflows (tests/test_workflows.py checks they agree), so a workflow
starts exactly when some stack is affected. Standard library only: it runs before any virtualenv exists.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SHARED = ["Pulumi.yaml", "__main__.py", "requirements.txt", "components/**", "policy/**"]
"""What every stack runs: a change here previews (and deploys) every stack."""


LOCAL_STACKS = frozenset({"local"})
"""Stacks that live only on one machine (``local``: the control plane ``make engine-test`` starts on 127.0.0.1):
the workflows never preview or deploy them."""


def stacks(root: Path = ROOT) -> list[str]:
    """The project's deployed stacks, from its ``Pulumi.<stack>.yaml`` files (less :data:`LOCAL_STACKS`)."""
    names = (p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
    return sorted(name for name in names if name not in LOCAL_STACKS)


def stack_file(stack: str) -> str:
    return f"Pulumi.{stack}.yaml"


def trigger_paths(root: Path = ROOT) -> list[str]:
    """Every path pattern that affects some stack: the workflows' ``paths`` filter."""
    return [*SHARED, *(stack_file(s) for s in stacks(root))]


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A GitHub ``paths`` glob as a regex: ``**`` crosses folders, ``*`` and ``?`` stay inside one."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def matches(path: str, patterns: list[str]) -> bool:
    return any(glob_regex(p).match(path) for p in patterns)


def affected(changed: list[str], root: Path = ROOT) -> list[str]:
    """The stacks whose preview a change to the files ``changed`` (paths from the repository root) can alter."""
    if any(matches(path, SHARED) for path in changed):
        return stacks(root)
    return [s for s in stacks(root) if stack_file(s) in changed]


def main(argv: list[str]) -> int:
    if argv == ["--all"]:
        found = stacks()
    elif not argv:
        found = affected([line.strip() for line in sys.stdin if line.strip()])
    else:
        print("usage: python3 -m tools.ci.affected_stacks [--all] < changed-files", file=sys.stderr)
        return 2
    print(f"stacks={json.dumps(found)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
