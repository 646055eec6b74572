"""Real n8n processes: the CLI (import/publish), long-running roles, and a stand-in for the runners launcher."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from n8n_platform.n8n.env import READINESS_PATH

from .install import Install
from .servers import stop_process


def base_env(install: Install, home: Path) -> dict[str, str]:
    """A clean process environment: Node 24 first on PATH, a private HOME; nothing inherited from n8n settings."""
    return {
        "PATH": f"{install.node_bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
    }


def n8n_cli(install: Install, args: list[str], env: dict[str, str], timeout: float = 300) -> str:
    """Run one n8n CLI command to completion (e.g. import:workflow); returns its output, raises on failure."""
    done = subprocess.run(install.n8n(*args), env=env, capture_output=True,
                          text=True, timeout=timeout, cwd=env.get("HOME", "/"))
    if done.returncode != 0:
        raise RuntimeError(f"n8n {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr


def http_get(url: str, timeout: float = 5) -> tuple[int, str]:
    """Status and body of a GET (status 0 when nothing answers)."""
    return http_request(urllib.request.Request(url), timeout)


def http_request(request: urllib.request.Request, timeout: float = 5) -> tuple[int, str]:
    """Status and body of ``request`` (status 0 when nothing answers)."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (urllib.error.URLError, OSError):
        return 0, ""


@dataclass
class N8nProcess:
    """One long-running n8n process (`start`, `webhook` or `worker`) in its own process group, logging to a file."""

    name: str
    install: Install
    args: list[str]
    env: dict[str, str]
    log_path: Path
    http_port: int
    proc: subprocess.Popen | None = None
    started_at: float = 0.0

    def start(self) -> N8nProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 (handed to the child)
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.install.n8n(*self.args), env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                     cwd=self.env.get("HOME", "/"))
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http_port}{path}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, path: str = READINESS_PATH, timeout: float = 180) -> float:
        """Wait for a 200 on ``path``; returns seconds since start. Raises with the log tail when it never comes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode if self.proc else None}):\n"
                                   f"{self.log_tail()}")
            if http_get(self.url(path), timeout=2)[0] == 200:
                return time.monotonic() - self.started_at
            time.sleep(0.5)
        raise TimeoutError(f"{self.name} not ready on {path} after {timeout} s:\n{self.log_tail()}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_records(self) -> list[dict]:
        """The JSON log lines (N8N_LOG_FORMAT=json); other lines are skipped."""
        records = []
        for line in self.log_text().splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue
        return records

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def signal(self, sig: int) -> None:
        if self.alive():
            os.kill(self.proc.pid, sig)

    def wait_exit(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout) if self.proc else None
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 30) -> None:
        if self.proc is not None:
            stop_process(self.proc, signal.SIGTERM, timeout)


RUNNER_NODE_FLAGS = ("--disallow-code-generation-from-strings", "--disable-proto=delete")
"""The flags n8nio/runners' /etc/n8n-task-runners.json starts the JavaScript runner with."""


@dataclass
class TaskRunner:
    """Does the n8nio/runners launcher's job outside containers, from the contract's `runner_env()`.

    Like the launcher: read the auth token from N8N_RUNNERS_AUTH_TOKEN_FILE, exchange it at the broker's
    `POST /runners/auth` (body `{"token": ...}`, answer `{"data": {"token": <grant>}}`) for a single-use grant,
    start `@n8n/task-runner`'s `dist/start.js` with N8N_RUNNERS_GRANT_TOKEN, and relaunch it whenever it exits
    (idle auto-shutdown, or its n8n went away) until stopped.
    """

    install: Install
    runner_env: dict[str, str]
    base: dict[str, str]
    log_path: Path
    _stop: threading.Event = field(default_factory=threading.Event)
    _proc: subprocess.Popen | None = None
    _thread: threading.Thread | None = None

    def grant(self) -> str | None:
        """A single-use grant for the auth token, or None while the broker does not answer."""
        token = Path(self.runner_env["N8N_RUNNERS_AUTH_TOKEN_FILE"]).read_text().strip()
        broker = self.runner_env["N8N_RUNNERS_TASK_BROKER_URI"]
        req = urllib.request.Request(f"{broker}/runners/auth", data=json.dumps({"token": token}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return json.load(r)["data"]["token"]
        except (urllib.error.URLError, OSError, KeyError, ValueError):
            return None

    def _env(self, grant: str) -> dict[str, str]:
        passed = {k: v for k, v in self.runner_env.items() if k in (
            "GENERIC_TIMEZONE", "N8N_RUNNERS_MAX_CONCURRENCY", "N8N_RUNNERS_TASK_TIMEOUT",
            "N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT", "N8N_RUNNERS_TASK_BROKER_URI")}
        return {**self.base, **passed, "N8N_RUNNERS_GRANT_TOKEN": grant,
                "N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED": "false"}

    def _loop(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 (handed to the children)
        with log:
            while not self._stop.is_set():
                grant = self.grant()
                if grant is None:
                    self._stop.wait(0.5)
                    continue
                self._proc = subprocess.Popen([str(self.install.node), *RUNNER_NODE_FLAGS,
                                               str(self.install.task_runner_start)],
                                              env=self._env(grant), stdout=log, stderr=subprocess.STDOUT,
                                              start_new_session=True)
                while self._proc.poll() is None and not self._stop.is_set():
                    self._stop.wait(0.2)
                if self._stop.is_set():
                    break
                self._stop.wait(0.2)

    def start(self) -> TaskRunner:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._loop, name="task-runner", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        if self._proc is not None:
            stop_process(self._proc, signal.SIGTERM, 10)
