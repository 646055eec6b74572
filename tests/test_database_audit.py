"""pgaudit proven on a real PostgreSQL 15 with Debian's postgresql-15-pgaudit: the production parameters and the
production bootstrap SQL, then writes by the n8n role over TCP, as n8n makes them."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from n8n_platform.database.audit import AUDIT_ROLE, LOG_LINE_PREFIX, pgaudit_parameters
from n8n_platform.database.patroni_config import postgresql_parameters
from tools.testing.e2e.servers import PG_BIN, Postgres

PGAUDIT = Path("/usr/share/postgresql/15/extension/pgaudit.control")
pytestmark = [pytest.mark.skipif(not (PG_BIN / "postgres").exists() or not PGAUDIT.exists(),
                                 reason="needs postgresql-15 and postgresql-15-pgaudit (make system)"),
              pytest.mark.xdist_group("postgres")]

PASSWORD = "audit-test-password-0123456789"
# the shape of n8n 2.x's credentials_entity (CreateInitialMigration + later columns), created as n8n's migration
# does: by the n8n role, in its schema
CREDENTIALS_DDL = """CREATE TABLE n8n.credentials_entity (
  id varchar(36) PRIMARY KEY, name varchar(128) NOT NULL, data text NOT NULL, type varchar(128) NOT NULL,
  "createdAt" timestamptz(3) NOT NULL DEFAULT now(), "updatedAt" timestamptz(3) NOT NULL DEFAULT now(),
  "isManaged" boolean NOT NULL DEFAULT false)"""


def audit_settings() -> dict[str, str]:
    """What Patroni is given, minus Spilo's own preload list (those libraries are Spilo's, not Debian's)."""
    params = postgresql_parameters()
    keep = {k: v for k, v in params.items() if k.startswith("pgaudit.") or k.startswith("log_")}
    return {**keep, "shared_preload_libraries": "pgaudit", "log_destination": "stderr"}


@pytest.fixture(scope="module")
def server():
    pg = Postgres(settings=audit_settings()).start()
    try:
        pg.create_n8n_database("n8n", "n8n", "n8n", PASSWORD)  # production bootstrap: no table yet
        with n8n_session(pg) as conn:
            conn.execute(CREDENTIALS_DDL)
            conn.execute("CREATE TABLE n8n.execution_entity (id serial PRIMARY KEY, status text)")
        pg.create_n8n_database("n8n", "n8n", "n8n", PASSWORD)  # the next bootstrap run places the grant
        yield pg
    finally:
        pg.stop()


def n8n_session(pg: Postgres) -> psycopg.Connection:
    return psycopg.connect(host="127.0.0.1", port=pg.port, user="n8n", password=PASSWORD, dbname="n8n",
                           application_name="n8n", autocommit=True)


def audit_lines(pg: Postgres) -> list[str]:
    return [line for line in pg.log_path.read_text(errors="replace").splitlines() if "AUDIT:" in line]


def test_parameters_are_the_same_on_both_engines():
    assert {k: v for k, v in postgresql_parameters().items() if k.startswith("pgaudit.")} == pgaudit_parameters()
    assert "pgaudit" in postgresql_parameters()["shared_preload_libraries"].split(",")
    assert postgresql_parameters()["log_line_prefix"] == LOG_LINE_PREFIX


def test_a_credential_insert_by_the_n8n_role_is_audited_with_role_and_client(server):
    before = len(audit_lines(server))
    with n8n_session(server) as conn:
        conn.execute("INSERT INTO n8n.credentials_entity (id, name, data, type) VALUES (%s, %s, %s, %s)",
                     ("cred-1", "Slack", "U2FsdGVkX1+secret-ciphertext", "slackApi"))
        conn.execute("INSERT INTO n8n.execution_entity (status) VALUES ('success')")
    new = audit_lines(server)[before:]
    inserts = [line for line in new if "AUDIT: OBJECT" in line and "INSERT" in line]
    assert len(inserts) == 1, new
    line = inserts[0]
    assert "n8n.credentials_entity" in line
    assert "user=n8n" in line and "db=n8n" in line and "client=127.0.0.1" in line
    assert "secret-ciphertext" not in line  # pgaudit.log_parameter off: values never reach the log
    print(line)
    # ordinary execution traffic is not audited
    assert not any("execution_entity" in line for line in new), new


def test_ddl_and_role_changes_are_audited(server):
    before = len(audit_lines(server))
    with server.connect("n8n") as conn:
        conn.execute("CREATE ROLE intruder NOLOGIN")
        conn.execute("GRANT SELECT ON n8n.credentials_entity TO intruder")
        conn.execute("ALTER TABLE n8n.credentials_entity ADD COLUMN note text")
    new = audit_lines(server)[before:]
    assert any("AUDIT: SESSION" in line and "ROLE" in line and "CREATE ROLE" in line for line in new), new
    assert any("GRANT" in line and "user=postgres" in line for line in new), new
    assert any("AUDIT: SESSION" in line and "DDL" in line and "ALTER TABLE" in line for line in new), new


def test_connections_are_logged_with_the_client(server):
    with n8n_session(server):
        pass
    log = server.log_path.read_text(errors="replace")
    assert "connection authorized: user=n8n database=n8n" in log
    assert AUDIT_ROLE in {r[0] for r in server.connect().execute("SELECT rolname FROM pg_roles").fetchall()}
