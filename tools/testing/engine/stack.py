"""The `pulumi` CLI built here, driving a stack of this project with local state.

State lives in a file backend under ``state_dir`` and secrets are encrypted with a passphrase; the stack's config
is a copy of ``Pulumi.<stack>.yaml`` kept beside the state (``--config-file``), so the passphrase provider's salt
and any test-time setting change never touch the checked-in file.

    python -m tools.testing.engine.stack up|preview|destroy|export [--stack local] [--state DIR] [-- extra pulumi args]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tools.testing.engine import build

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_STATE = build.CACHE / "state"
PASSPHRASE = "n8n-engine-local-only"
"""Encrypts secrets in this local state only; never used for a real stack."""


class LocalStack:
    """One stack of the project in a local file backend."""

    def __init__(self, stack: str = "local", state_dir: Path = DEFAULT_STATE, root: Path = ROOT):
        self.stack = stack
        self.root = root
        self.state_dir = Path(state_dir)
        self.project_copy = self.state_dir / "project"
        self.config_file = self.project_copy / f"Pulumi.{stack}.yaml"

    def env(self) -> dict[str, str]:
        env = build.engine_env()
        env.update({
            "PULUMI_BACKEND_URL": f"file://{self.state_dir / 'backend'}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_CONFIRMATIONS": "true",
            "PYTHONPATH": f"{self.root}:{self.root / 'components'}",
            "NO_COLOR": "1",
            # The language host built here (v3.68.0) predates runtime options passed over RPC: the engine no
            # longer hands it Pulumi.yaml's `virtualenv`, so it is told which interpreter to use.
            "PULUMI_PYTHON_CMD": str(self.root / ".venv" / "bin" / "python"),
        })
        return env

    def run(self, *args: str, check: bool = True, timeout: float = 1800,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """``pulumi <args> --stack <stack> --config-file <copy>`` in the project directory."""
        argv = [str(build.bin_dir() / "pulumi"), *args, "--stack", self.stack, "--non-interactive"]
        if args[0] not in {"stack", "plugin"}:
            argv += ["--config-file", str(self.config_file)]
        result = subprocess.run(argv, cwd=cwd or self.root, env=self.env(), capture_output=True, text=True,
                                timeout=timeout)
        if check and result.returncode:
            raise RuntimeError(f"`pulumi {' '.join(args)}` exited {result.returncode}:\n"
                               f"{result.stdout[-8000:]}\n{result.stderr[-8000:]}")
        return result

    def init(self) -> None:
        """The stack created in the state directory, its config copied there.

        ``pulumi stack init`` writes the passphrase salt into the stack's config file and has no --config-file
        flag, so it runs in a copy of the project files (Pulumi.yaml and the stack's file) inside the state dir.
        """
        (self.state_dir / "backend").mkdir(parents=True, exist_ok=True)
        if self.config_file.exists():
            return
        self.project_copy.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.root / "Pulumi.yaml", self.project_copy / "Pulumi.yaml")
        shutil.copyfile(self.root / f"Pulumi.{self.stack}.yaml", self.config_file)
        self.run("stack", "init", "--secrets-provider", "passphrase", cwd=self.project_copy)

    def set_config(self, section: str, value: Any) -> None:
        """Replace one ``n8n:<section>`` value in the stack's config copy (the checked-in file is untouched)."""
        config = yaml.safe_load(self.config_file.read_text())
        config["config"][f"n8n:{section}"] = value
        self.config_file.write_text(yaml.safe_dump(config, sort_keys=False))

    def config(self, section: str) -> Any:
        return yaml.safe_load(self.config_file.read_text())["config"][f"n8n:{section}"]

    def export(self, show_secrets: bool = False) -> dict[str, Any]:
        args = ["stack", "export"] + (["--show-secrets"] if show_secrets else [])
        return json.loads(self.run(*args).stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("up", "preview", "destroy", "export", "refresh"))
    parser.add_argument("--stack", default="local")
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE)
    parser.add_argument("extra", nargs="*", help="passed to pulumi (after --)")
    args = parser.parse_args(argv)
    stack = LocalStack(args.stack, args.state)
    stack.init()
    if args.command == "export":
        print(json.dumps(stack.export(), indent=2))
        return 0
    flags = {"up": ["--yes", "--skip-preview"], "destroy": ["--yes"], "refresh": ["--yes"]}.get(args.command, [])
    result = stack.run(args.command, *flags, *args.extra, check=False)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main())
