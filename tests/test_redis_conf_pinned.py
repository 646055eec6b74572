"""redis.conf as a real redis-server reads it, directive by directive, and the start and probe scripts run by a real
shell: complements test_redis_conf.py (which proves the behaviour) by pinning every value the builders emit."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest
import redis

from n8n_platform.redis import conf as rc
from tests.test_redis_conf import PASSWORD, _make_tls
from tools.testing.e2e.servers import free_port

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")


def test_constants():
    assert rc.PORT == 6379
    assert rc.MAXMEMORY_SHARE == 0.8
    assert rc.DISABLED_COMMANDS == ("FLUSHALL", "FLUSHDB", "DEBUG", "CONFIG", "SHUTDOWN", "MODULE", "REPLICAOF",
                                    "SLAVEOF", "FAILOVER")


def test_defaults_listen_everywhere_protected_and_read_the_password_include():
    lines = rc.redis_conf(1000, "/data", True).splitlines()
    assert lines[1:3] == ["bind * -::*", "protected-mode yes"]
    assert f"tls-port {rc.PORT}" in lines
    assert "tls-cert-file /etc/redis/tls/tls.crt" in lines and "tls-ca-cert-file /etc/redis/tls/ca.crt" in lines
    assert lines[-1] == "include /run/redis/auth.conf"
    assert not any(line.startswith("include") for line in rc.redis_conf(1000, "/data", True, auth_include=None)
                   .splitlines())


def test_maxmemory_rounds_down():
    assert rc.maxmemory_bytes("1000") == 800 and rc.maxmemory_bytes("1001") == 800


# --- what redis-server makes of the file ------------------------------------------------------------------------

EXPECTED = {  # CONFIG GET, as redis-server 7 reports it after reading the generated file
    "protected-mode": "yes", "port": "0", "tls-auth-clients": "no", "tls-protocols": "TLSv1.2 TLSv1.3",
    "tls-prefer-server-ciphers": "yes", "tcp-keepalive": "60", "timeout": "0", "daemonize": "no", "logfile": "",
    "loglevel": "notice", "dbfilename": "dump.rdb", "save": "900 1 300 10 60 10000",
    "stop-writes-on-bgsave-error": "yes", "appendonly": "yes", "appendfilename": "appendonly.aof",
    "appenddirname": "appendonlydir", "appendfsync": "everysec", "no-appendfsync-on-rewrite": "no",
    "auto-aof-rewrite-percentage": "100", "auto-aof-rewrite-min-size": str(64 * 2**20), "aof-load-truncated": "yes",
    "aof-use-rdb-preamble": "yes", "maxmemory": str(8 * 2**20), "maxmemory-policy": "noeviction",
    "slowlog-log-slower-than": "10000", "slowlog-max-len": "128",
}


@pytest.fixture
def inspected(tmp_path: Path):
    """A real redis-server started from the generated file, with only CONFIG left enabled so it can be asked."""
    tls, data = tmp_path / "tls", tmp_path / "data"
    _make_tls(tls)
    data.mkdir()
    port = free_port()
    conf = rc.redis_conf(8 * 2**20, str(data), True, tls_dir=str(tls), auth_include=None, port=port,
                         bind="127.0.0.1")
    assert 'rename-command CONFIG ""' in conf.splitlines()
    (tmp_path / "redis.conf").write_text(conf.replace('rename-command CONFIG ""\n', ""))
    process = subprocess.Popen(["redis-server", str(tmp_path / "redis.conf")], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    client = redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=str(tls / "ca.crt"), socket_timeout=5)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: {process.stdout.read().decode()}") from None
            time.sleep(0.1)
    try:
        yield client, port, tls, data
    finally:
        process.kill()
        process.wait()


def test_redis_reads_every_directive_as_intended(inspected):
    client, port, tls, data = inspected
    config = {key: client.config_get(key)[key] for key in EXPECTED}
    assert config == EXPECTED
    files = client.config_get("tls-*")
    assert (files["tls-port"], files["tls-cert-file"], files["tls-key-file"], files["tls-ca-cert-file"]) == (
        str(port), f"{tls}/tls.crt", f"{tls}/tls.key", f"{tls}/ca.crt")
    assert client.config_get("dir")["dir"] == str(data)
    assert client.config_get("bind")["bind"] == "127.0.0.1"


# --- the start script, run by sh with a stand-in redis-server that records what it was given ----------------------

@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A PATH entry whose redis-server and redis-cli record their argv and environment, and answer as told."""
    directory = tmp_path / "bin"
    directory.mkdir()
    for name in ("redis-server", "redis-cli"):
        tool = directory / name
        tool.write_text(f'#!/bin/sh\necho "$@" > "{tmp_path}/{name}.argv"\n'
                        f'echo "$REDISCLI_AUTH" > "{tmp_path}/{name}.auth"\n'
                        f'cat "{tmp_path}/reply" 2>/dev/null || true\n')
        tool.chmod(0o755)
    return directory


def run_sh(script: str, bin_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=20)


def test_start_script_writes_a_private_password_include_then_execs_redis(tmp_path: Path, bin_dir: Path):
    (tmp_path / "password").write_text(PASSWORD)
    script = rc.start_script(str(tmp_path / "redis.conf"), str(tmp_path / "password"), str(tmp_path / "auth.conf"),
                             str(tmp_path / "started"))
    assert run_sh(script, bin_dir).returncode == 0
    auth = tmp_path / "auth.conf"
    assert auth.read_text() == f'requirepass "{PASSWORD}"\n'
    assert stat.S_IMODE(auth.stat().st_mode) == 0o600  # umask 077: nobody else on the node reads it
    assert (tmp_path / "started").exists()
    assert (tmp_path / "redis-server.argv").read_text() == f"{tmp_path / 'redis.conf'}\n"


def test_start_script_stops_at_the_first_failure(tmp_path: Path, bin_dir: Path):
    (tmp_path / "password").write_text(PASSWORD)
    script = rc.start_script(str(tmp_path / "redis.conf"), str(tmp_path / "password"), str(tmp_path / "auth.conf"),
                             str(tmp_path / "missing-dir" / "started"))
    assert run_sh(script, bin_dir).returncode != 0
    assert not (tmp_path / "redis-server.argv").exists() and not (tmp_path / "auth.conf").exists()


def test_start_script_quotes_paths():
    script = rc.start_script("/etc/my redis.conf", "/s/pw", "/run/a b", "/run/started")
    assert "exec redis-server '/etc/my redis.conf'" in script and "> '/run/a b'" in script
    assert script.endswith("\n") and script.splitlines()[:2] == ["set -eu", "umask 077"]


# --- the probe, run by sh against a stand-in redis-cli that answers as told ---------------------------------------

def probe(tmp_path: Path, bin_dir: Path, reply: str, **kwargs) -> int:
    (tmp_path / "password").write_text(PASSWORD)
    (tmp_path / "reply").write_text(reply + "\n")
    script = rc.probe_script(password_file=str(tmp_path / "password"), **kwargs)
    return run_sh(script, bin_dir).returncode


@pytest.mark.parametrize(("reply", "accept_loading", "healthy"), [
    ("PONG", False, True), ("PONG", True, True),
    ("LOADING Redis is loading the dataset in memory", False, False),
    ("LOADING Redis is loading the dataset in memory", True, True),
    ("pong", False, False), ("PONGS", False, False), ("NOAUTH Authentication required.", True, False),
    ("", True, False),
])
def test_probe_decides_on_the_reply(tmp_path: Path, bin_dir: Path, reply, accept_loading, healthy):
    code = probe(tmp_path, bin_dir, reply, tls=False, accept_loading=accept_loading)
    assert (code == 0) is healthy


def test_probe_is_strict_by_default(tmp_path: Path, bin_dir: Path):
    assert probe(tmp_path, bin_dir, "LOADING Redis is loading", tls=False) != 0


def test_probe_asks_the_local_server_over_tls_with_the_password_from_the_file(tmp_path: Path, bin_dir: Path):
    assert probe(tmp_path, bin_dir, "PONG", tls=True, ca_file="/tls/ca.crt", port=7000) == 0
    assert (tmp_path / "redis-cli.argv").read_text().split() == [
        "--no-auth-warning", "-h", "127.0.0.1", "-p", "7000", "--tls", "--cacert", "/tls/ca.crt", "ping"]
    assert (tmp_path / "redis-cli.auth").read_text() == f"{PASSWORD}\n"
    assert probe(tmp_path, bin_dir, "PONG", tls=False) == 0
    assert (tmp_path / "redis-cli.argv").read_text().split() == [
        "--no-auth-warning", "-h", "127.0.0.1", "-p", str(rc.PORT), "ping"]
    assert PASSWORD not in rc.probe_script(tls=True, password_file=str(tmp_path / "password"), ca_file="/c")


def test_probe_without_a_ca_file_passes_an_empty_one():
    assert "--tls --cacert ''" in rc.probe_script(tls=True, password_file="/pw")


def test_probe_fails_once_the_certificate_is_newer_than_the_start(tmp_path: Path, bin_dir: Path):
    cert, marker = tmp_path / "tls.crt", tmp_path / "started"
    cert.write_text("cert")
    marker.write_text("")
    os.utime(cert, (time.time() - 60, time.time() - 60))
    checks = {"cert_file": str(cert), "started_marker": str(marker)}
    assert probe(tmp_path, bin_dir, "PONG", tls=False, **checks) == 0
    os.utime(cert, (time.time() + 60, time.time() + 60))
    assert probe(tmp_path, bin_dir, "PONG", tls=False, **checks) != 0
    assert not (tmp_path / "redis-cli.argv").exists() or "renewed" in run_sh(
        rc.probe_script(tls=False, password_file=str(tmp_path / "password"), **checks), bin_dir).stdout
    # only both together turn the check on
    assert "-nt" not in rc.probe_script(tls=False, password_file="/pw", cert_file=str(cert))
    assert "-nt" not in rc.probe_script(tls=False, password_file="/pw", started_marker=str(marker))
    assert probe(tmp_path, bin_dir, "PONG", tls=False, cert_file=str(cert)) == 0
    assert probe(tmp_path, bin_dir, "PONG", tls=False, started_marker=str(marker)) == 0
