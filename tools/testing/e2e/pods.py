"""A container of a rendered pod run as a local process: its own command and environment, its volumes "mounted" by
relocating their mount paths into a work dir (as cluster.QueueModeCluster relocates the CA dir), so the script the
plan renders is the script that runs."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LocalContainer:
    """``container`` of a pod spec with every volume mount under ``root / <volume name>``."""

    container: dict[str, Any]
    root: Path

    def mount(self, volume: str) -> Path:
        """Where the volume ``volume`` is mounted here (created on first use)."""
        path = self.root / volume
        path.mkdir(parents=True, exist_ok=True)
        return path

    def relocated(self, text: str) -> str:
        """``text`` with each mount path (a whole path segment, not a prefix of a longer name) moved under root, in
        one pass (a relocated path is not relocated again)."""
        mounts = {m["mountPath"]: m["name"] for m in self.container.get("volumeMounts", [])}
        if not mounts:
            return text
        paths = "|".join(re.escape(p) for p in sorted(mounts, key=len, reverse=True))
        return re.sub(rf"(?<![\w./-])({paths})(?=/|\s|\"|'|$)", lambda m: str(self.mount(mounts[m.group(1)])), text)

    def command(self) -> list[str]:
        return [self.relocated(arg) for arg in self.container["command"]]

    def env(self) -> dict[str, str]:
        """The container's literal environment, mount paths relocated (valueFrom entries are not supported)."""
        return {e["name"]: self.relocated(e["value"]) for e in self.container.get("env", [])}

    def run(self, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
        """Run the command to completion with :meth:`env` updated by ``env`` (PATH, endpoints, hosts)."""
        return subprocess.run(self.command(), env={**self.env(), **env}, capture_output=True, text=True,
                              timeout=timeout, cwd=self.root)
