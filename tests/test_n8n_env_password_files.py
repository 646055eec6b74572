"""Where n8n reads its database and Redis passwords: the n8n Secret's mount (wherever ``secrets_dir`` puts it) when
the password lives there, else a mount per connection named after its purpose (the workloads mount exactly these)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from n8n_platform import names
from n8n_platform.connections import CONNECTION_SECRETS_DIR, SecretKeyRef
from n8n_platform.n8n.env import n8n_env
from tests.test_n8n_env_pinned import DB, INPUTS, REDIS


@pytest.mark.parametrize("role", ["main", "worker"])
def test_passwords_in_the_n8n_secret_are_read_from_its_mount(role):
    e = n8n_env(role, replace(INPUTS, secrets_dir="/run/n8n"))
    assert e["DB_POSTGRESDB_PASSWORD_FILE"] == f"/run/n8n/{names.DB_PASSWORD}"
    assert e["QUEUE_BULL_REDIS_PASSWORD_FILE"] == f"/run/n8n/{names.REDIS_PASSWORD}"


def test_passwords_in_other_secrets_are_read_from_a_mount_per_connection():
    db, redis = replace(DB, password=SecretKeyRef("rds-master", "password")), \
        replace(REDIS, password=SecretKeyRef("elasticache-auth", "token"))
    e = n8n_env("worker", replace(INPUTS, db=db, redis=redis, secrets_dir="/run/n8n"))
    assert e["DB_POSTGRESDB_PASSWORD_FILE"] == f"{CONNECTION_SECRETS_DIR}/db/password"
    assert e["QUEUE_BULL_REDIS_PASSWORD_FILE"] == f"{CONNECTION_SECRETS_DIR}/redis/token"
