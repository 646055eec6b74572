"""A setting typed as an enum arrives as that enum's member, not as the bare string of the stack file: code may compare
it by identity or match on it, and other languages see the enum's name in the schema."""

from __future__ import annotations

from n8n_platform.database.spec import DatabaseEngine
from n8n_platform.edge.spec import EdgeController
from n8n_platform.n8n.spec import LogLevel
from n8n_platform.redis.spec import RedisMode
from tests.test_settings_rules import valid


def test_strings_from_the_stack_file_become_enum_members():
    s = valid("prod", {"n8n": {"logLevel": "warn"}, "database": {"engine": "patroni", "patroni": {"members": 3}},
                       "redis": {"mode": "in-cluster"}, "edge": {"controller": "alb"}})
    assert s.n8n.log_level is LogLevel.WARN
    assert s.database.engine is DatabaseEngine.PATRONI
    assert s.redis.mode is RedisMode.IN_CLUSTER
    assert s.edge.controller is EdgeController.ALB
