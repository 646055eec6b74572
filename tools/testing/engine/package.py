"""The component package (``components/``, its PulumiPlugin.yaml) driven by the `pulumi` CLI built here.

The CLI installs a plugin's dependencies in place (the Python language host built here creates the plugin's
virtualenv in the package directory itself), so the package is used from a copy, never from the checkout:

    copy = PackageCopy.make(tmp_dir)
    copy.pulumi("package", "get-schema", str(copy.directory))

Two settings of the copy are for the older Python language host built here (tools/testing/engine/build.py): it runs a
plugin from the CLI's working directory, so commands that start the plugin run inside the package directory, and
it is told which interpreter to use (``PULUMI_PYTHON_CMD``, this virtualenv's). The copy's requirements pin the
Pulumi SDKs to requirements.txt's versions, so the plugins it asks for are the ones installed here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.testing.engine import build

ROOT = Path(__file__).resolve().parents[3]
COMPONENTS = ROOT / "components"
PASSPHRASE = "n8n-engine-local-only"
"""Encrypts secrets in the local state of programs that use the package; never used for a real stack."""

_NOT_COPIED = {"__pycache__", "build", ".venv", "bin", "lib", "lib64", "include", "pyvenv.cfg"}


def _ignore(directory: str, names: list[str]) -> set[str]:
    """What a copy leaves out: caches and anything the CLI installed into a package directory before."""
    top = Path(directory) == COMPONENTS
    return {name for name in names
            if name == "__pycache__" or name.endswith(".egg-info") or (top and name in _NOT_COPIED)}


def as_served(schema: dict[str, Any]) -> dict[str, Any]:
    """The committed schema as the CLI serves it: the CLI reads the provider's schema into its own package spec
    and writes that out again, which drops what the spec has no field for (a ``description`` on an array's
    ``items`` or a map's ``additionalProperties``: the Python analyzer repeats the property's there), omits empty
    lists (``requiredInputs: []``) and always writes ``config`` (empty here). Nothing else may differ."""

    def walk(node: Any, inside_type: bool = False) -> Any:
        if isinstance(node, dict):
            return {key: walk(value, key in {"items", "additionalProperties"}) for key, value in node.items()
                    if not (inside_type and key == "description") and value != []}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    served = walk(schema)
    served.setdefault("config", {})
    return served


@dataclass
class PackageCopy:
    """A copy of components/ that the CLI may install into, with a local state backend beside it."""

    directory: Path
    """The copy's package directory (holding PulumiPlugin.yaml)."""

    @classmethod
    def make(cls, parent: Path) -> PackageCopy:
        directory = Path(parent) / "components"
        shutil.copytree(COMPONENTS, directory, ignore=_ignore)
        pins = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("pulumi")]
        (directory.parent / "constraints.txt").write_text("\n".join(pins) + "\n")
        requirements = directory / "requirements.txt"
        requirements.write_text("-c ../constraints.txt\n" + requirements.read_text())
        # PulumiPlugin.yaml's virtualenv, for hosts that are handed it (Pulumi YAML's): this interpreter's.
        (directory / ".venv").symlink_to(Path(sys.prefix))
        (directory.parent / "state").mkdir()
        return cls(directory)

    def env(self) -> dict[str, str]:
        env = build.engine_env()
        env.update({
            "PULUMI_BACKEND_URL": f"file://{self.directory.parent / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_PYTHON_CMD": sys.executable,
            "NO_COLOR": "1",
        })
        return env

    def pulumi(self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
               timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """``pulumi <args>`` in the package directory (or ``cwd``); fails with the CLI's output."""
        result = subprocess.run([str(build.bin_dir() / "pulumi"), *args, "--non-interactive"],
                                cwd=cwd or self.directory, env={**self.env(), **(env or {})},
                                capture_output=True, text=True, timeout=timeout)
        if result.returncode:
            raise RuntimeError(f"`pulumi {' '.join(args)}` exited {result.returncode}:\n"
                               f"{result.stdout[-8000:]}\n{result.stderr[-8000:]}")
        return result
