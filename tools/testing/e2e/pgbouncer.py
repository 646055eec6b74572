"""A real PgBouncer (Debian's) on 127.0.0.1 in front of the e2e PostgreSQL, configured the way the Zalando operator
configures its pooler pods for the platform's ``postgresql`` resource (n8n_platform.database.pooler).

The pool settings (mode, pool sizes, timeouts, TLS modes) come from :func:`pooler.pgbouncer_settings`, for one pod
carrying every n8n process of the test. Authentication is the operator's: an ``auth_user`` (``pooler``) whose
password PgBouncer knows, and ``auth_query`` through a ``SECURITY DEFINER`` lookup of ``pg_shadow``, so n8n's
SCRAM login passes through to the server as the n8n role. Only paths, the port and the lookup database differ:
PgBouncer before 1.20 has no ``auth_dbname`` and looks users up in the database the client asks for (the operator
installs the lookup function in every database, so both work), so here ``pooler`` may also connect to n8n's.
"""

from __future__ import annotations

import secrets
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from n8n_platform.database import pooler

from .servers import Managed, Postgres, _as_postgres, _give_to_postgres, free_port, stop_process, wait_port
from .tls import ServerCert

AUTH_USER = "pooler"
SCHEMA = "pooler"


def lookup_sql(schema: str, auth_user: str) -> str:
    """The auth_query lookup the operator installs in each database (a definer-rights read of pg_shadow)."""
    return f"""
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE OR REPLACE FUNCTION {schema}.user_lookup(in i_username text, out uname text, out phash text)
RETURNS record AS $$
BEGIN
    SELECT usename, passwd FROM pg_catalog.pg_shadow WHERE usename = i_username INTO uname, phash;
    RETURN;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER;
REVOKE ALL ON FUNCTION {schema}.user_lookup(text) FROM public, {auth_user};
GRANT EXECUTE ON FUNCTION {schema}.user_lookup(text) TO {auth_user};
GRANT USAGE ON SCHEMA {schema} TO {auth_user};
"""


@dataclass
class PgBouncer(Managed):
    """PgBouncer between n8n and ``postgres``; use as a context manager (after the n8n database exists)."""

    postgres: Postgres
    server_connections: int
    """The CR's ``maxDBConnections`` for this test (pooler.server_connections), all on this one pod."""
    databases: tuple[str, ...]
    """Databases to install the lookup function in (the n8n database)."""
    tls: ServerCert | None = None
    """Serve TLS to clients with this certificate (and require TLS to the server), as the operator's pods do."""
    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="n8n-e2e-pgbouncer-")))
    proc: subprocess.Popen | None = None

    def settings(self) -> dict[str, str]:
        """The ``[pgbouncer]`` section: the operator's values for one pod, then this machine's paths."""
        values = pooler.pgbouncer_settings(self.server_connections, instances=1)
        values.pop("max_prepared_statements")  # PgBouncer 1.21+; Debian 12 has 1.18 (n8n names no statements)
        values.update({
            "listen_addr": "127.0.0.1", "listen_port": str(self.port), "unix_socket_dir": "",
            "auth_type": "md5", "auth_file": str(self.root / "userlist.txt"),
            "auth_user": AUTH_USER, "auth_query": f"SELECT * FROM {SCHEMA}.user_lookup($1)",
            "admin_users": AUTH_USER, "logfile": str(self.log_path), "pidfile": str(self.root / "pgbouncer.pid"),
        })
        if self.tls is None:
            values["client_tls_sslmode"] = values["server_tls_sslmode"] = "disable"
        else:
            values.update({"client_tls_cert_file": str(self.root / "client.crt"),
                           "client_tls_key_file": str(self.root / "client.key")})
        return values

    @property
    def log_path(self) -> Path:
        return self.root / "pgbouncer.log"

    def start(self, timeout: float = 30) -> PgBouncer:
        password = secrets.token_urlsafe(18)
        with self.postgres.connect() as conn:
            conn.execute(f"CREATE ROLE {AUTH_USER} LOGIN PASSWORD '{password}'")
        for database in ("postgres", *self.databases):
            with self.postgres.connect(database) as conn:
                conn.execute(lookup_sql(SCHEMA, AUTH_USER))
                if database != "postgres":  # the bootstrap revokes CONNECT from PUBLIC; 1.20+ looks up in postgres
                    conn.execute(f'GRANT CONNECT ON DATABASE "{database}" TO {AUTH_USER}')
        self.root.chmod(0o755)
        (self.root / "userlist.txt").write_text(f'"{AUTH_USER}" "{password}"\n')
        if self.tls is not None:
            shutil.copyfile(self.tls.cert, self.root / "client.crt")
            shutil.copyfile(self.tls.key, self.root / "client.key")
        target = f"host=127.0.0.1 port={self.postgres.port} auth_user={AUTH_USER}"
        ini = "[databases]\n" + f"* = {target}\n" + "\n[pgbouncer]\n" + "".join(
            f"{key} = {value}\n" for key, value in self.settings().items())
        (self.root / "pgbouncer.ini").write_text(ini)
        for path in self.root.iterdir():
            path.chmod(0o600)
            _give_to_postgres(path)
        _give_to_postgres(self.root)
        self.proc = subprocess.Popen([shutil.which("pgbouncer") or "/usr/sbin/pgbouncer",
                                      str(self.root / "pgbouncer.ini")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
                                     cwd="/", **_as_postgres())
        try:
            wait_port(self.port, timeout, self.proc)
        except (RuntimeError, TimeoutError) as e:
            raise RuntimeError(f"pgbouncer did not start: {self.log_tail()}") from e
        return self

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, signal.SIGINT)  # SIGINT: safe shutdown
            self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)
