"""Real PostgreSQL 15 and Redis on 127.0.0.1 for the e2e test and the benchmark (free ports, temp dirs).

PostgreSQL refuses to run as root, so when we are root initdb and postgres run as the ``postgres`` user (Popen
``user=``/``group=``; not ``su -c``, which starts a new session that a process-group kill would miss).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

from n8n_platform.database.bootstrap import bootstrap_sql, psql_command
from n8n_platform.database.common import MAINTENANCE_DB
from n8n_platform.redis.conf import maxmemory_bytes
from n8n_platform.redis.spec import InClusterRedisSettings

from .tls import ServerCert

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    """A TCP port nobody listens on right now (bound and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    """Wait until 127.0.0.1:port accepts connections (or the process dies)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Signal a process started with start_new_session=True; kill its whole group if it lingers."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
            os.kill(proc.pid, sig)
            proc.wait(timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # leftovers of the group (children), and the leader if still alive
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


def _as_postgres() -> dict:
    """Popen kwargs that drop to the postgres user when we are root."""
    if os.geteuid() != 0:
        return {}
    pw = pwd.getpwnam("postgres")
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def _give_to_postgres(*paths: Path) -> None:
    """Make ``paths`` owned by the postgres user when we are root (the server refuses files it does not own)."""
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        for path in paths:
            os.chown(path, pw.pw_uid, pw.pw_gid)


class Managed:
    """The context-manager protocol for things with start() and stop(): a start that fails stops what it began."""

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Postgres(Managed):
    """A throw-away PostgreSQL cluster listening on 127.0.0.1:<port> (and a socket in its data dir)."""

    fast: bool = True
    """Turn off fsync and synchronous commit (tests); False keeps PostgreSQL's durable defaults (benchmarks)."""
    tls: ServerCert | None = None
    """Serve TLS with this certificate (clients may still connect without; n8n's env decides)."""
    settings: dict[str, str] = field(default_factory=dict)
    """Extra server parameters (``-c name=value``), e.g. the production audit settings."""
    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="n8n-e2e-pg-")))
    proc: subprocess.Popen | None = None
    _options: list[str] = field(default_factory=list, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def start(self, timeout: float = 60) -> Postgres:
        self.root.chmod(0o755)
        self.data_dir.mkdir()
        _give_to_postgres(self.root, self.data_dir)
        subprocess.run(
            [str(PG_BIN / "initdb"), "-D", str(self.data_dir), "-U", "postgres", "--auth-local=trust",
             "--auth-host=scram-sha-256", "--encoding=UTF8", "--no-sync"],
            check=True, capture_output=True, cwd="/", **_as_postgres(),
        )
        options = ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200", "-c", "shared_buffers=128MB"]
        if self.fast:
            options += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        if self.tls is not None:
            cert, key = self.root / "server.crt", self.root / "server.key"
            shutil.copyfile(self.tls.cert, cert)
            shutil.copyfile(self.tls.key, key)
            key.chmod(0o600)
            _give_to_postgres(cert, key)
            options += ["-c", "ssl=on", "-c", f"ssl_cert_file={cert}", "-c", f"ssl_key_file={key}"]
        for name, value in self.settings.items():
            options += ["-c", f"{name}={value}"]
        self._options = options
        return self._launch(timeout)

    def _launch(self, timeout: float) -> Postgres:
        log = open(self.root / "postgres.log", "ab")  # noqa: SIM115 (handed to the child)
        self.proc = subprocess.Popen(
            [str(PG_BIN / "postgres"), "-D", str(self.data_dir), "-p", str(self.port), "-k", str(self.data_dir),
             *self._options],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd="/", **_as_postgres(),
        )
        wait_port(self.port, timeout, self.proc)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.connect():
                    return self
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    @property
    def log_path(self) -> Path:
        """The server's log (stderr)."""
        return self.root / "postgres.log"

    def connect(self, dbname: str = MAINTENANCE_DB) -> psycopg.Connection:
        """A superuser connection over the data dir's socket (trust)."""
        return psycopg.connect(host=str(self.data_dir), port=self.port, user="postgres", dbname=dbname,
                               autocommit=True)

    def create_n8n_database(self, database: str, user: str, schema: str, password: str) -> None:
        """The production least-privilege role, made by the production bootstrap SQL exactly as its Job runs it
        (n8n_platform.database.bootstrap: psql with the password read from a file), so n8n's migrations run as
        the role we deploy."""
        sql_file, password_file = self.root / "bootstrap.sql", self.root / "n8n-password"
        sql_file.write_text(bootstrap_sql(database, user, schema, connection_limit=200, statement_timeout_s=300))
        password_file.write_text(password + "\n")
        env = {"PATH": f"{PG_BIN}:/usr/bin:/bin", "PGHOST": str(self.data_dir), "PGPORT": str(self.port),
               "PGUSER": "postgres", "PGDATABASE": MAINTENANCE_DB}
        done = subprocess.run(psql_command(str(sql_file), str(password_file)), env=env, capture_output=True,
                              text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"role bootstrap failed: {done.stderr}")

    def restart_immediate(self, down_seconds: float, timeout: float = 60) -> float:
        """Immediate shutdown (SIGQUIT: every backend dies, no checkpoint, crash recovery at the next start, as a
        failover or an OOM-killed pod does), ``down_seconds`` with nothing listening, then the same server again.
        Returns the seconds the port was closed."""
        started = time.monotonic()
        stop_process(self.proc, signal.SIGQUIT, timeout=30)
        time.sleep(max(0.0, down_seconds - (time.monotonic() - started)))
        self._launch(timeout)
        return time.monotonic() - started

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, signal.SIGINT, timeout=30)  # SIGINT: fast shutdown
            self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Redis(Managed):
    """A throw-away redis-server on 127.0.0.1:<port> with a password (no persistence unless ``aof``)."""

    password: str
    tls: ServerCert | None = None
    """Serve TLS only (no plain port), with this certificate; clients need not present one."""
    aof: bool = False
    """Append-only file with fsync every second, as the platform's redis.conf: the queue survives a restart."""
    maxmemory: int = field(default_factory=lambda: maxmemory_bytes(InClusterRedisSettings().memory))
    """``maxmemory`` (with ``noeviction``) as the platform's redis.conf sets it for the default memory limit."""
    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="n8n-e2e-redis-")))
    proc: subprocess.Popen | None = None
    _command: list[str] = field(default_factory=list, repr=False)

    def start(self, timeout: float = 20) -> Redis:
        listen = ["--port", str(self.port)]
        if self.tls is not None:
            listen = ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(self.tls.cert),
                      "--tls-key-file", str(self.tls.key), "--tls-ca-cert-file", str(self.tls.ca),
                      "--tls-auth-clients", "no"]
        persistence = ["--appendonly", "yes", "--appendfsync", "everysec"] if self.aof else ["--appendonly", "no"]
        self._command = [shutil.which("redis-server") or "redis-server", *listen, "--bind", "127.0.0.1",
                         "--requirepass", self.password, "--save", "", *persistence, "--dir", str(self.root),
                         "--maxmemory", str(self.maxmemory), "--maxmemory-policy", "noeviction"]
        return self._launch(timeout)

    def _launch(self, timeout: float) -> Redis:
        log = open(self.root / "redis.log", "ab")  # noqa: SIM115 (handed to the child)
        self.proc = subprocess.Popen(self._command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_port(self.port, timeout, self.proc)
        return self

    def restart_killed(self, down_seconds: float, timeout: float = 20) -> float:
        """SIGKILL (a crashed or evicted pod: no save on the way out), ``down_seconds`` with nothing listening, then
        the same server again, which reloads its AOF. Returns the seconds the port was closed."""
        started = time.monotonic()
        stop_process(self.proc, signal.SIGKILL)
        time.sleep(max(0.0, down_seconds - (time.monotonic() - started)))
        self._launch(timeout)
        return time.monotonic() - started

    def client(self) -> redis.Redis:
        """A client that authenticates (and verifies the server against its CA when serving TLS)."""
        tls = {} if self.tls is None else {"ssl": True, "ssl_ca_certs": str(self.tls.ca)}
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password, decode_responses=True, **tls)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, signal.SIGTERM)
            self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)
