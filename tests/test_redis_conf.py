"""redis.conf, start script and probe, proved against a real redis-server on 127.0.0.1 with TLS."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from n8n_platform.redis import conf as rc
from tools.testing.e2e.servers import free_port

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")

PASSWORD = "Zq7mNx2Lp9Vt4Rk8Hw3Jb6Fy1Cs5Dg0a"


def test_maxmemory_is_80_percent_of_the_limit_so_buffers_and_rewrites_fit():
    assert rc.maxmemory_bytes("1Gi") == int(0.8 * 2**30)
    assert rc.maxmemory_bytes("512Mi") == int(0.8 * 512 * 2**20)


def test_conf_keeps_lua_for_bull_but_disables_destructive_commands():
    conf = rc.redis_conf(1000, "/data", True)
    for command in ("FLUSHALL", "FLUSHDB", "CONFIG", "DEBUG", "SHUTDOWN", "REPLICAOF"):
        assert f'rename-command {command} ""' in conf
    for command in ("EVAL", "EVALSHA", "SCRIPT", "INFO"):
        assert f"rename-command {command} " not in conf


def test_conf_tls_only_means_plain_port_closed():
    conf = rc.redis_conf(1000, "/data", True).splitlines()
    assert "port 0" in conf and f"tls-port {rc.PORT}" in conf and "tls-auth-clients no" in conf
    plain = rc.redis_conf(1000, "/data", False).splitlines()
    assert f"port {rc.PORT}" in plain and not any(line.startswith("tls-") for line in plain)


def test_password_is_included_last_so_nothing_overrides_it_and_never_inline():
    conf = rc.redis_conf(1000, "/data", True, auth_include="/run/redis/auth.conf")
    assert conf.splitlines()[-1] == "include /run/redis/auth.conf"
    assert "requirepass" not in conf


# --- the real server ----------------------------------------------------------------------------------------------


def _make_tls(directory: Path) -> None:
    """A throwaway CA and a server certificate for 127.0.0.1, laid out like cert-manager's Secret."""
    directory.mkdir()

    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
        "-out", "ca.crt", "-days", "1", "-subj", "/CN=test-ca")
    ssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "tls.key",
        "-out", "tls.csr", "-subj", "/CN=redis")
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ssl("x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1",
        "-out", "tls.crt", "-extfile", "san.ext")


@dataclass
class Server:
    root: Path
    port: int
    maxmemory: int
    process: subprocess.Popen | None = None

    @property
    def paths(self) -> dict[str, str]:
        r = self.root
        return {"conf": str(r / "redis.conf"), "password": str(r / "secret" / "redis-password"),
                "auth": str(r / "run" / "auth.conf"), "started": str(r / "run" / "started"),
                "tls": str(r / "tls"), "data": str(r / "data")}

    def start(self) -> None:
        p = self.paths
        script = rc.start_script(p["conf"], p["password"], p["auth"], p["started"])
        self.process = subprocess.Popen(["sh", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while self.probe(accept_loading=False) != 0:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.process.stdout.read().decode()}")
            if time.monotonic() > deadline:
                raise TimeoutError("redis-server did not answer PONG")
            time.sleep(0.1)

    def probe(self, accept_loading: bool, with_certificate_check: bool = False) -> int:
        p = self.paths
        extra = {"cert_file": f"{p['tls']}/tls.crt", "started_marker": p["started"]} if with_certificate_check else {}
        script = rc.probe_script(tls=True, password_file=p["password"], ca_file=f"{p['tls']}/ca.crt", port=self.port,
                                 accept_loading=accept_loading, **extra)
        return subprocess.run(["sh", "-c", script], capture_output=True).returncode

    def stop(self) -> int:
        """SIGTERM, what Kubernetes sends: Redis shuts down like SHUTDOWN (fsyncs the AOF) and exits 0."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=20)
        self.process = None
        return code

    def client(self, password: str | None = PASSWORD) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, password=password, ssl=True,
                           ssl_ca_certs=f"{self.paths['tls']}/ca.crt", socket_timeout=5, retry=ONCE)


ONCE = Retry(NoBackoff(), 0)
"""A refused connection is the answer, not a hiccup: redis-py's default three retries with backoff took 9 s."""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path, free_port(), maxmemory=8 * 2**20)
    p = srv.paths
    _make_tls(Path(p["tls"]))
    for d in ("secret", "run", "data"):
        (tmp_path / d).mkdir()
    Path(p["password"]).write_text(PASSWORD)
    Path(p["conf"]).write_text(rc.redis_conf(srv.maxmemory, p["data"], True, tls_dir=p["tls"],
                                             auth_include=p["auth"], port=srv.port, bind="127.0.0.1"))
    srv.start()
    try:
        yield srv
    finally:
        if srv.process is not None:
            srv.process.kill()
            srv.process.wait()


def _enqueue(r: redis.Redis, n: int) -> list[bytes]:
    """Bull-like jobs: a hash per job and its id pushed on the wait list."""
    ids = []
    for i in range(1, n + 1):
        r.hset(f"bull:jobs:{i}", mapping={"name": "job", "data": f'{{"executionId":"{i}"}}', "timestamp": i})
        r.lpush("bull:jobs:wait", str(i))
        ids.append(str(i).encode())
    return ids


def test_queued_jobs_survive_a_restart_through_the_aof(server: Server):
    r = server.client()
    ids = _enqueue(r, 50)
    r.close()
    assert server.stop() == 0
    assert any((Path(server.paths["data"]) / "appendonlydir").iterdir()), "no AOF written"
    server.start()
    r = server.client()
    assert sorted(r.lrange("bull:jobs:wait", 0, -1)) == sorted(ids)
    assert r.hgetall("bull:jobs:7")[b"data"] == b'{"executionId":"7"}'


def test_info_shows_aof_everysec_and_noeviction(server: Server):
    r = server.client()
    assert r.info("persistence")["aof_enabled"] == 1
    memory = r.info("memory")
    assert memory["maxmemory_policy"] == "noeviction"
    assert memory["maxmemory"] == server.maxmemory


def test_full_redis_rejects_writes_and_keeps_every_queued_job(server: Server):
    r = server.client()
    ids = _enqueue(r, 20)
    with pytest.raises(redis.exceptions.OutOfMemoryError, match="maxmemory"):
        for i in range(100):
            r.set(f"filler:{i}", b"x" * 2**20)
    assert sorted(r.lrange("bull:jobs:wait", 0, -1)) == sorted(ids)


def test_bull_lua_scripts_still_run(server: Server):
    r = server.client()
    _enqueue(r, 3)
    moved = r.eval("return redis.call('RPOPLPUSH', KEYS[1], KEYS[2])", 2, "bull:jobs:wait", "bull:jobs:active")
    assert moved == b"1"
    assert r.llen("bull:jobs:active") == 1


@pytest.mark.parametrize("command", ["FLUSHALL", "CONFIG GET maxmemory", "SHUTDOWN", "DEBUG SLEEP 0"])
def test_dangerous_commands_are_unknown(server: Server, command: str):
    with pytest.raises(redis.exceptions.ResponseError, match="unknown command"):
        server.client().execute_command(*command.split())


def test_password_from_the_secret_file_is_required(server: Server):
    with pytest.raises(redis.exceptions.AuthenticationError):
        server.client(password=None).ping()
    with pytest.raises(redis.exceptions.AuthenticationError):
        server.client(password="wrong").ping()
    assert server.client().ping() is True
    assert PASSWORD not in Path(server.paths["conf"]).read_text()


def test_plaintext_connections_are_refused(server: Server):
    r = redis.Redis(host="127.0.0.1", port=server.port, password=PASSWORD, socket_timeout=2, retry=ONCE)
    with pytest.raises(redis.exceptions.ConnectionError):
        r.ping()


def test_password_never_in_the_server_command_line(server: Server):
    assert server.process is not None
    cmdline = Path(f"/proc/{server.process.pid}/cmdline").read_bytes().decode()
    assert "redis-server" in cmdline and PASSWORD not in cmdline


def test_probe_fails_without_the_right_password_and_after_certificate_renewal(server: Server):
    assert server.probe(accept_loading=False, with_certificate_check=True) == 0
    secret = Path(server.paths["password"])
    secret.write_text("wrong")
    assert server.probe(accept_loading=False) != 0
    secret.write_text(PASSWORD)
    cert = Path(server.paths["tls"]) / "tls.crt"
    later = time.time() + 5
    os.utime(cert, (later, later))  # what kubelet's atomic Secret update looks like to the probe
    assert server.probe(accept_loading=True, with_certificate_check=True) != 0
