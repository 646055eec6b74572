"""A real Prometheus (Debian's) scraping a QueueModeCluster, and the real exporters against its Redis and PostgreSQL.

The scrape jobs are the monitors' (:mod:`n8n_platform.observability.monitors`): same job names, paths and the
exporters' environments from :mod:`n8n_platform.observability.exporters`; only the addresses are local. Targets
live in file_sd files, so a replaced worker (new port) is picked up without restarting Prometheus. The rule file is
the PrometheusRule's groups (:func:`n8n_platform.observability.rules.rule_groups`), evaluated by Prometheus itself.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from n8n_platform import names
from n8n_platform.observability import exporters
from n8n_platform.observability.monitors import N8N_ENDPOINT, REDIS_ENDPOINT, Endpoint
from n8n_platform.observability.rules import JOBS

from .processes import http_get
from .servers import Managed, free_port, stop_process, wait_port

if TYPE_CHECKING:
    from .cluster import QueueModeCluster

POSTGRES_JOB = "postgres"
PG_SUPERUSER_PASSWORD = "e2e-superuser-password-0123456789"


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise FileNotFoundError(f"{name} is missing: `make system` installs it (Debian package)")
    return path


@dataclass
class Process(Managed):
    """A long-running binary in its own process group on 127.0.0.1:<port>, logging to a file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> Process:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 (handed to the child)
        self.proc = subprocess.Popen(self.argv, env={"PATH": "/usr/bin:/bin", **self.env}, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_port(self.port, timeout, self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def redis_exporter(*, redis_port: int, password_file: Path, ca_file: Path | None, logs: Path) -> Process:
    """prometheus-redis-exporter with the sidecar's environment and start script (password from the file)."""
    port = free_port()
    env = exporters.redis_exporter_env(port=redis_port, ca_file=str(ca_file) if ca_file else None)
    env["REDIS_EXPORTER_WEB_LISTEN_ADDRESS"] = f"127.0.0.1:{port}"
    script = exporters.redis_exporter_script(str(password_file), binary=binary("prometheus-redis-exporter"))
    return Process("redis-exporter", ["sh", "-c", script], env, port, logs / "redis-exporter.log")


def postgres_exporter(*, pg_port: int, user: str, password: str, logs: Path) -> Process:
    """prometheus-postgres-exporter with the sidecar's environment (TLS required) against a local PostgreSQL."""
    port = free_port()
    env = exporters.postgres_exporter_env(host="127.0.0.1", port=pg_port, user=user, password=password)
    env["PG_EXPORTER_WEB_LISTEN_ADDRESS"] = f"127.0.0.1:{port}"
    return Process("postgres-exporter", [binary("prometheus-postgres-exporter")], env, port,
                   logs / "postgres-exporter.log")


@dataclass
class Prometheus(Managed):
    """Prometheus on 127.0.0.1 with one file_sd job per monitor endpoint and the platform's rule groups."""

    rule_groups: list[dict[str, Any]]
    scrape_interval: str = "2s"
    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="n8n-e2e-prom-")))
    proc: subprocess.Popen | None = None
    created_at: float = field(default_factory=time.time)
    """Epoch seconds; nothing it holds is older."""

    JOBS: tuple[Endpoint, ...] = (*N8N_ENDPOINT.values(), REDIS_ENDPOINT, Endpoint(POSTGRES_JOB, 0))

    def config(self) -> dict[str, Any]:
        return {
            "global": {"scrape_interval": self.scrape_interval, "evaluation_interval": self.scrape_interval},
            "rule_files": [str(self.root / "rules.yaml")],
            "scrape_configs": [{"job_name": e.job, "metrics_path": e.path, "scheme": "http",
                                "file_sd_configs": [{"files": [str(self.root / f"{e.job}.json")],
                                                     "refresh_interval": "1s"}]} for e in self.JOBS],
        }

    def set_targets(self, job: str, ports: list[int]) -> None:
        """Point ``job`` at 127.0.0.1:<port>s (written atomically; Prometheus notices within a second)."""
        tmp = self.root / f".{job}.json"
        tmp.write_text(json.dumps([{"targets": [f"127.0.0.1:{p}" for p in ports]}]))
        tmp.replace(self.root / f"{job}.json")

    def start(self, timeout: float = 30) -> Prometheus:
        for e in self.JOBS:
            self.set_targets(e.job, [])
        (self.root / "rules.yaml").write_text(yaml.safe_dump({"groups": self.rule_groups}, sort_keys=False))
        (self.root / "prometheus.yml").write_text(yaml.safe_dump(self.config(), sort_keys=False))
        log = open(self.root / "prometheus.log", "wb")  # noqa: SIM115 (handed to the child)
        self.proc = subprocess.Popen(
            [binary("prometheus"), f"--config.file={self.root / 'prometheus.yml'}",
             f"--storage.tsdb.path={self.root / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}",
             "--storage.tsdb.retention.time=1d"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.root)
        wait_port(self.port, timeout, self.proc)
        deadline = time.monotonic() + timeout
        while True:  # listening is not ready: the API answers 503 until the TSDB is open
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=5) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"Prometheus not ready after {timeout} s: {self.root / 'prometheus.log'}")
            time.sleep(0.3)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)

    # ---- HTTP API ---------------------------------------------------------------------------------------------
    def api(self, path: str, **params: Any) -> Any:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=30) as response:
            body = json.load(response)
        if body.get("status") != "success":
            raise RuntimeError(f"Prometheus {path} {params}: {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant vector result of ``expr`` now."""
        return self.api("query", query=expr)["result"]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        return self.api("query_range", query=expr, start=start, end=end, step=step)["result"]

    def has_series(self, metric: str) -> bool:
        return bool(self.api("series", **{"match[]": metric}))

    def targets_up(self) -> dict[str, list[str]]:
        """job -> health of each active target."""
        out: dict[str, list[str]] = {}
        for t in self.api("targets")["activeTargets"]:
            out.setdefault(t["labels"]["job"], []).append(t["health"])
        return out

    def alert_states(self) -> dict[str, str]:
        """alertname -> state (pending or firing) of the rules Prometheus evaluates."""
        return {a["labels"]["alertname"]: a["state"] for a in self.api("alerts")["alerts"]}

    def wait(self, predicate: Any, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(1)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@contextmanager
def observe(cluster: QueueModeCluster,
            rule_groups: list[dict[str, Any]]) -> Iterator[tuple[Prometheus, dict[str, Process]]]:
    """The exporters against ``cluster``'s Redis and PostgreSQL (the superuser's login, as the sidecar gets it) and a
    Prometheus scraping them and main, the webhook processor and the first worker under the monitors' job names;
    an open editor's polling of main's API for as long as it is observed (:func:`editor_polling`)."""
    with cluster.pg.connect() as conn:
        conn.execute(f"ALTER ROLE postgres PASSWORD '{PG_SUPERUSER_PASSWORD}'")
    logs = cluster.workdir / "logs"
    redis_ca = Path(cluster.mounted(cluster.inputs.redis.ca.path("redis"))) if cluster.tls else None
    with ExitStack() as stack:
        rex = stack.enter_context(redis_exporter(redis_port=cluster.redis.port, ca_file=redis_ca, logs=logs,
                                                 password_file=cluster.secrets_dir / names.REDIS_PASSWORD))
        pex = stack.enter_context(postgres_exporter(pg_port=cluster.pg.port, user="postgres",
                                                    password=PG_SUPERUSER_PASSWORD, logs=logs))
        prom = stack.enter_context(Prometheus(rule_groups))
        prom.set_targets(JOBS["main"], [cluster.main.http_port])
        prom.set_targets(JOBS["webhook"], [cluster.webhook.http_port])
        prom.set_targets(JOBS["worker"], [cluster.workers[0].process.http_port])
        prom.set_targets(JOBS["redis"], [rex.port])
        prom.set_targets(JOBS["postgres"], [pex.port])
        stack.enter_context(editor_polling(cluster.main.url("/rest/settings")))
        yield prom, {"redis-exporter": rex, "postgres-exporter": pex}


@contextmanager
def editor_polling(url: str, every_s: float = 1.0) -> Iterator[None]:
    """GET ``url`` every ``every_s`` seconds in the background, as an open editor tab polls main, so main's API
    latency histogram grows between any two scrapes (a burst of calls inside one scrape interval leaves the series'
    first sample already counting it, and ``rate`` then sees no increase)."""
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(every_s):
            http_get(url)

    thread = threading.Thread(target=poll, name="editor-polling", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)
