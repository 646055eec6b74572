"""PostgreSQL for n8n: RDS or Patroni (Zalando operator), the least-privilege n8n role, nightly dumps.

Both engines produce the same :class:`~n8n_platform.connections.DatabaseConnection`, so switching engine changes
no n8n code.
"""

from .bootstrap import bootstrap_manifests, bootstrap_sql
from .common import AdminLogin, S3Location
from .dumps import DatabaseDumps, DatabaseDumpsArgs, dump_command
from .patroni import PatroniDatabase, PatroniDatabaseArgs, postgresql_manifest
from .patroni_config import patroni_config
from .rds import RdsDatabase, RdsDatabaseArgs

__all__ = [
    "AdminLogin",
    "DatabaseDumps",
    "DatabaseDumpsArgs",
    "PatroniDatabase",
    "PatroniDatabaseArgs",
    "RdsDatabase",
    "RdsDatabaseArgs",
    "S3Location",
    "bootstrap_manifests",
    "bootstrap_sql",
    "dump_command",
    "patroni_config",
    "postgresql_manifest",
]
