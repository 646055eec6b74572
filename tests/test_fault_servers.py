"""The faults the e2e test injects, on the real servers alone: each comes back on its port with its data."""

from __future__ import annotations

import secrets

import psycopg
import pytest
import redis

from tools.testing.e2e.servers import Postgres, Redis


def test_redis_killed_and_restarted_keeps_its_queue_through_the_aof():
    with Redis(password=secrets.token_urlsafe(16), aof=True) as server:
        client = server.client()
        client.rpush("bull:jobs:wait", "1", "2")
        port, old_pid = server.port, server.proc.pid
        down = server.restart_killed(0.5)
        assert down >= 0.5 and server.port == port and server.proc.pid != old_pid
        assert server.client().lrange("bull:jobs:wait", 0, -1) == ["1", "2"]


def test_redis_without_aof_forgets_everything_on_a_kill():
    # The control: what the AOF is for.
    with Redis(password=secrets.token_urlsafe(16)) as server:
        server.client().set("k", "v")
        server.restart_killed(0.2)
        assert server.client().get("k") is None


def test_postgres_immediate_restart_cuts_connections_and_comes_back_with_committed_data():
    # Durable settings, as the fault test runs (with fsync and synchronous commit off the last commits may vanish).
    with Postgres(fast=False) as server:
        with server.connect() as conn:
            conn.execute("CREATE TABLE t (n int)")
            conn.execute("INSERT INTO t VALUES (1)")
        held = server.connect()
        server.restart_immediate(0.5)
        with pytest.raises(psycopg.OperationalError):
            held.execute("SELECT 1")  # the old session died with the server
        with server.connect() as conn:
            assert conn.execute("SELECT n FROM t").fetchall() == [(1,)]
        assert "database system was interrupted" in (server.root / "postgres.log").read_text()


def test_clients_see_redis_down_while_it_is_away():
    with Redis(password=secrets.token_urlsafe(16), aof=True) as server:
        server.proc.kill()
        server.proc.wait()
        with pytest.raises(redis.ConnectionError):
            server.client().ping()
