"""The n8n role bootstrap: SQL applied twice to a REAL PostgreSQL 15, then probed as the n8n role; the Job manifest
through kubernetes-validate and checkov."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from n8n_platform import names
from n8n_platform.connections import CaBundle, DatabaseConnection, SecretKeyRef
from n8n_platform.database.bootstrap import JOB_TTL_SECONDS, bootstrap_manifests, bootstrap_sql, psql_command
from n8n_platform.database.common import AdminLogin
from tools.testing.e2e.servers import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
N8N_PASSWORD = "n8n-Very-Long-Password-0123456789"
ADMIN_PASSWORD = "admin-Very-Long-Password-987654"


@dataclass
class PgServer:
    port: int
    data: Path
    log: Path

    def env(self, user: str = "postgres", password: str | None = None, database: str = "postgres") -> dict:
        env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(self.port), "PGUSER": user,
               "PGDATABASE": database, "PGSSLMODE": "disable", "PGCONNECT_TIMEOUT": "5"}
        env.pop("PGPASSWORD", None)
        if password is not None:
            env["PGPASSWORD"] = password
        return env

    def connect(self, user: str, password: str | None = None, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user=user, password=password, dbname=database,
                               sslmode="disable", autocommit=True)


def _as_postgres(cmd: str) -> None:
    prefix = [] if os.geteuid() != 0 else ["su", "postgres", "-c"]
    subprocess.run([*prefix, cmd] if prefix else ["sh", "-c", cmd], check=True, capture_output=True, timeout=120)


def _pg16_bin() -> Path | None:
    """Binaries of PostgreSQL 16+ from the ``pgserver`` wheel (requirements-dev), or None when it is not installed.

    Debian bookworm ships only 15, but both engines default to 17: PostgreSQL 16 changed what a CREATEROLE admin
    (the RDS master user, Patroni's ``dbadmin``) may do with the roles it creates, so the bootstrap must be proven
    on 16+ as well."""
    import importlib.util

    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return bin_dir if (bin_dir / "postgres").exists() else None


@contextmanager
def _server(bin_dir: Path) -> Iterator[PgServer]:
    """A real PostgreSQL from ``bin_dir`` on 127.0.0.1 (free port, temp dir, run as user postgres), logging DDL."""
    root = Path(tempfile.mkdtemp(prefix="n8n-pg-"))
    data, log = root / "data", root / "server.log"
    os.chmod(root, 0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    _as_postgres(f"{bin_dir}/initdb -D {data} -U postgres --auth-local=trust --auth-host=scram-sha-256 "
                 "--encoding=UTF8 --locale=C.UTF-8")
    (data / "pg_hba.conf").write_text(
        "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
    if os.geteuid() == 0:
        shutil.chown(data / "pg_hba.conf", "postgres", "postgres")
    options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c log_statement=ddl "
               "-c log_connections=on -c log_min_duration_statement=1000")
    _as_postgres(f"{bin_dir}/pg_ctl -D {data} -l {log} -w -t 60 -o '{options}' start")
    try:
        yield PgServer(port, data, log)
    finally:
        _as_postgres(f"{bin_dir}/pg_ctl -D {data} -m fast -w stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A real PostgreSQL 15 (Debian); stopped after the session."""
    if not (PG_BIN / "postgres").exists():
        pytest.skip("PostgreSQL 15 is not installed")
    with _server(PG_BIN) as server:
        yield server


@pytest.fixture(scope="session")
def pg16_server() -> Iterator[PgServer]:
    """A real PostgreSQL 16+ (the ``pgserver`` wheel's binaries); stopped after the session."""
    bin_dir = _pg16_bin()
    if bin_dir is None:
        pytest.skip("pgserver (PostgreSQL 16 binaries, requirements-dev) is not installed")
    with _server(bin_dir) as server:
        yield server


@pytest.fixture(params=["pg15", "pg16"])
def any_pg(request: pytest.FixtureRequest) -> PgServer:
    """Each real server in turn: the bootstrap must work on 15 and on 16+ (whose CREATEROLE rules differ)."""
    return request.getfixturevalue({"pg15": "pg_server", "pg16": "pg16_server"}[request.param])


def apply_bootstrap(server: PgServer, sql: str, password: str, admin: str = "postgres",
                    admin_password: str | None = None) -> subprocess.CompletedProcess:
    """Run the bootstrap exactly as the Job does: psql_command with PG* variables and files."""
    with tempfile.TemporaryDirectory() as tmp:
        sql_file, pw_file = Path(tmp) / "bootstrap.sql", Path(tmp) / "password"
        sql_file.write_text(sql)
        pw_file.write_text(password + "\n")
        return subprocess.run(psql_command(str(sql_file), str(pw_file)), env=server.env(admin, admin_password),
                              capture_output=True, text=True, timeout=60)


def _denied(conn: psycopg.Connection, statement: str) -> str:
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as e:
        conn.execute(statement)
    return str(e.value)


def _probe_least_privilege(server: PgServer, database: str, user: str, schema: str, admin: str,
                           admin_password: str | None) -> None:
    with server.connect(admin, admin_password, database) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS admin_private")
        conn.execute("CREATE TABLE IF NOT EXISTS admin_private.secrets (v text)")
        conn.execute("CREATE TABLE IF NOT EXISTS public.admin_table (v text)")
    with server.connect(user, N8N_PASSWORD, database) as conn:
        conn.execute("CREATE TABLE workflow_probe (id int primary key)")  # unqualified -> search_path -> own schema
        where = conn.execute("SELECT table_schema FROM information_schema.tables "
                             "WHERE table_name = 'workflow_probe'").fetchone()
        assert where == (schema,)
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')  # what n8n runs at start: must not be denied
        assert "permission denied for schema public" in _denied(conn, "CREATE TABLE public.intruder (id int)")
        assert "permission denied to create database" in _denied(conn, "CREATE DATABASE stolen")
        assert "permission denied to create role" in _denied(conn, "CREATE ROLE sidekick")
        assert "permission denied for schema admin_private" in _denied(conn, "SELECT * FROM admin_private.secrets")
        assert "permission denied for table admin_table" in _denied(conn, "SELECT * FROM public.admin_table")
        assert conn.execute("SHOW statement_timeout").fetchone() == ("5min",)
        assert conn.execute("SHOW idle_in_transaction_session_timeout").fetchone() == ("1min",)
        conn.execute("DROP TABLE workflow_probe")
    with server.connect("postgres", None, database) as conn:
        row = conn.execute("SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin, "
                           "rolconnlimit FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
        assert row == (False, False, False, False, False, True, 200)
        owner = conn.execute("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = %s",
                             (schema,)).fetchone()
        assert owner == (user,)
        public_acl = conn.execute("SELECT has_database_privilege('public', %s, 'TEMP')", (database,)).fetchone()
        assert public_acl == (False,)


def test_role_sql_applied_twice_as_superuser_gives_n8n_only_its_schema(any_pg: PgServer) -> None:
    sql = bootstrap_sql("n8n", "n8n", "n8n", 200, 300)
    for _ in range(2):  # idempotent: the second run changes nothing and must not fail
        run = apply_bootstrap(any_pg, sql, N8N_PASSWORD)
        assert run.returncode == 0, run.stderr
    _probe_least_privilege(any_pg, "n8n", "n8n", "n8n", "postgres", None)


def test_role_sql_works_for_a_non_superuser_admin_like_the_rds_master_user(any_pg: PgServer) -> None:
    """On 16+ this admin gets SET but not INHERIT on the role it creates, so it holds no privilege on n8n's schema:
    statements that need the owner's rights (REVOKE on the schema) must run as the role (a regression)."""
    with any_pg.connect("postgres") as conn:
        conn.execute("DROP ROLE IF EXISTS rds_like_admin")
        conn.execute(f"CREATE ROLE rds_like_admin LOGIN CREATEDB CREATEROLE PASSWORD '{ADMIN_PASSWORD}'")
    sql = bootstrap_sql("app_db", "app_user", "app", 200, 300)
    for _ in range(2):
        run = apply_bootstrap(any_pg, sql, N8N_PASSWORD, "rds_like_admin", ADMIN_PASSWORD)
        assert run.returncode == 0, run.stderr
    _probe_least_privilege(any_pg, "app_db", "app_user", "app", "rds_like_admin", ADMIN_PASSWORD)
    with any_pg.connect("postgres", None, "app_db") as conn:  # the admin did not end up inheriting n8n's rights
        assert conn.execute("SELECT pg_has_role('rds_like_admin', 'app_user', 'USAGE')").fetchone() == (
            conn.info.server_version < 160000,)


def test_pg16_server_really_is_16_or_newer(pg16_server: PgServer) -> None:
    with pg16_server.connect("postgres") as conn:
        assert conn.info.server_version >= 160000


def test_password_never_reaches_the_server_log_with_ddl_logging(pg_server: PgServer) -> None:
    secret = "Unique-Password-For-Log-Check-42"
    run = apply_bootstrap(pg_server, bootstrap_sql("logcheck", "logcheck", "logcheck", 20, 60), secret)
    assert run.returncode == 0, run.stderr
    assert secret not in run.stdout + run.stderr
    log = pg_server.log.read_text()
    assert 'CREATE DATABASE logcheck' in log  # DDL logging is on and working ...
    assert secret not in log  # ... yet the password was never logged
    with pg_server.connect("logcheck", secret, "logcheck") as conn:  # and it was set
        assert conn.execute("SELECT current_user").fetchone() == ("logcheck",)


def test_rotating_the_password_file_changes_the_login(pg_server: PgServer) -> None:
    sql = bootstrap_sql("rotate", "rotate", "rotate", 20, 60)
    assert apply_bootstrap(pg_server, sql, "first-Password-0123456789").returncode == 0
    assert apply_bootstrap(pg_server, sql, "second-Password-0123456789").returncode == 0
    with pytest.raises(psycopg.OperationalError):
        pg_server.connect("rotate", "first-Password-0123456789", "rotate")
    pg_server.connect("rotate", "second-Password-0123456789", "rotate").close()


def test_a_short_or_empty_password_file_stops_the_bootstrap(pg_server: PgServer) -> None:
    run = apply_bootstrap(pg_server, bootstrap_sql("short", "short", "short", 20, 60), "")
    assert run.returncode != 0
    assert "fewer than 16 characters" in run.stderr


def test_refuses_to_reuse_an_existing_superuser_role_for_n8n(pg_server: PgServer) -> None:
    with pg_server.connect("postgres") as conn:
        conn.execute("DROP ROLE IF EXISTS mighty")
        conn.execute("CREATE ROLE mighty LOGIN SUPERUSER")
    run = apply_bootstrap(pg_server, bootstrap_sql("mighty", "mighty", "mighty", 20, 60), N8N_PASSWORD)
    assert run.returncode != 0
    assert "refusing to hand it to n8n" in run.stderr


def test_public_schema_is_refused_as_n8n_schema() -> None:
    with pytest.raises(ValueError, match="public"):
        bootstrap_sql("n8n", "n8n", "public", 200, 300)


def test_sql_never_contains_a_password_literal_only_the_file_variable() -> None:
    sql = bootstrap_sql("n8n", "n8n", "n8n", 200, 300)
    assert "PASSWORD '" not in sql
    assert "`cat :'password_file'`" in sql


# --- the Job manifest ---------------------------------------------------------------------------------------------

def _connection(ca: CaBundle | None, ssl: bool = True) -> DatabaseConnection:
    return DatabaseConnection(host="db.example.internal", port=5432, database="n8n", user="n8n", schema="n8n",
                              password=SecretKeyRef(names.N8N_SECRET, names.DB_PASSWORD), ssl=ssl, ca=ca)


def _job_manifests(ca: CaBundle | None = None, secrets_revision: str | None = None) -> list[dict]:
    return bootstrap_manifests(name="n8n-db-bootstrap", namespace="n8n", connection=_connection(ca),
                               admin=AdminLogin("db-admin"), connection_limit=200, statement_timeout_s=300,
                               secrets_revision=secrets_revision)


def _env(container: dict) -> dict:
    return {e["name"]: e["value"] for e in container["env"]}


def test_job_verifies_the_server_when_a_ca_is_known_and_reads_secrets_only_as_files() -> None:
    account, config, job = _job_manifests(CaBundle("secret", "n8n-postgres-tls", "ca.crt"))
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = _env(container)
    assert env["PGSSLMODE"] == "verify-full"
    assert env["PGSSLROOTCERT"] == "/etc/postgres-ca/ca.crt"
    assert not any("PASSWORD" in e["name"] or "valueFrom" in e for e in container["env"])
    secrets = {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    assert secrets == {"db-admin", names.N8N_SECRET, "n8n-postgres-tls"}
    assert pod["automountServiceAccountToken"] is False and pod["serviceAccountName"] == account["metadata"]["name"]
    assert job["spec"]["backoffLimit"] > 0 and job["spec"]["ttlSecondsAfterFinished"] > 0
    assert container["image"].split(":")[1][:2] == "17"
    assert "bootstrap.sql" in config["data"]


def test_job_without_a_ca_encrypts_but_cannot_verify() -> None:
    env = _env(_job_manifests()[2]["spec"]["template"]["spec"]["containers"][0])
    assert env["PGSSLMODE"] == "require" and "PGSSLROOTCERT" not in env


def test_job_manifests_pass_kubernetes_validate_and_checkov() -> None:
    from tools.ci.gates import DEFAULT_DENY, checkov, schema_errors

    manifests = _job_manifests(CaBundle("configMap", "rds-ca", "ca.crt"))
    assert schema_errors(manifests) == []
    result = checkov([*manifests, DEFAULT_DENY])
    assert result.failed == []
    assert {s[0] for s in result.skipped} == {"CKV_K8S_43"}


def test_job_pod_template_carries_the_secrets_revision_so_a_new_password_replaces_and_reruns_it() -> None:
    job = _job_manifests(secrets_revision="fedcba9876543210")[2]
    template = job["spec"]["template"]["metadata"]
    assert template["annotations"] == {names.SECRETS_REVISION_ANNOTATION: "fedcba9876543210"}
    assert template["labels"]  # labels kept beside it
    assert names.SECRETS_REVISION_ANNOTATION not in job["metadata"].get("annotations", {})
    assert job["spec"]["ttlSecondsAfterFinished"] == JOB_TTL_SECONDS  # replaced Jobs do not pile up
    assert "annotations" not in _job_manifests()[2]["spec"]["template"]["metadata"]


def test_job_with_a_revision_still_passes_strict_validation() -> None:
    from tools.ci.gates import schema_errors

    assert schema_errors(_job_manifests(secrets_revision="fedcba9876543210")) == []
