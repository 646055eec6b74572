"""PostgreSQL audit logging: who connected from where, every DDL and role change, and every write to n8n's
credentials table, with pgaudit. One contract for both engines (RDS parameter group, Patroni parameters).

- **Session auditing** (``pgaudit.log = ddl, role``): every CREATE/ALTER/DROP and GRANT/REVOKE/CREATE ROLE, by
  anyone, logged as ``AUDIT: SESSION``.
- **Object auditing** of ``credentials_entity``: pgaudit logs a statement as ``AUDIT: OBJECT`` when the role named by
  ``pgaudit.role`` holds a privilege the statement uses on the table. :func:`credentials_audit_sql` creates that
  NOLOGIN role and grants it INSERT, UPDATE, DELETE on the table, so only writes to credentials are logged, not the
  execution traffic. The table is created by n8n's first migration, so the grant is placed by the bootstrap Job
  once the table exists (the Job re-runs with each secrets revision).
- **Who and from where**: ``log_connections``/``log_disconnections`` and a ``log_line_prefix`` naming user,
  database, application and client host (RDS fixes its own prefix ``%t:%r:%u@%d:[%p]:``, which carries the same).
  Parameters are logged off (``pgaudit.log_parameter``): inserted values would put secrets in the log.
"""

from __future__ import annotations

from .common import quote_ident, quote_literal

AUDIT_ROLE = "n8n_audit"
"""NOLOGIN role whose privileges select what pgaudit's object auditing logs."""
CREDENTIALS_TABLE = "credentials_entity"
"""n8n's table of (encrypted) credentials."""
LOG_LINE_PREFIX = "%m [%p] user=%u db=%d app=%a client=%h "


def pgaudit_parameters() -> dict[str, str]:
    """pgaudit settings, identical on RDS and Patroni (``shared_preload_libraries`` must also list ``pgaudit``)."""
    return {
        "pgaudit.log": "ddl,role",
        "pgaudit.role": AUDIT_ROLE,
        "pgaudit.log_catalog": "off",
        "pgaudit.log_relation": "on",
        "pgaudit.log_parameter": "off",
        "pgaudit.log_statement_once": "on",
    }


def credentials_audit_sql(user: str, schema: str) -> str:
    """psql lines (run in n8n's database by an admin that may SET ROLE to ``user``) creating the audit role and, once
    n8n created its credentials table, granting the audit role write privileges on it. Idempotent."""
    role, audit, table = quote_literal(user), quote_ident(AUDIT_ROLE), f"{quote_ident(schema)}.{CREDENTIALS_TABLE}"
    return f"""\
-- pgaudit object auditing of writes to n8n's credentials (n8n_platform.database.audit)
DO $audit$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {quote_literal(AUDIT_ROLE)}) THEN
    CREATE ROLE {audit} NOLOGIN;
  END IF;
END
$audit$;
SET ROLE {quote_ident(user)};
DO $audit$
BEGIN
  IF pg_catalog.to_regclass({quote_literal(table)}) IS NOT NULL THEN
    EXECUTE 'GRANT INSERT, UPDATE, DELETE ON {table} TO {audit}';
  ELSE
    RAISE NOTICE 'no % yet (n8n role %): the grant follows at the next bootstrap', {quote_literal(table)}, {role};
  END IF;
END
$audit$;
RESET ROLE;
"""
