"""An enum-typed argument given by a Python caller as a string outside the enum fails at once, naming the component,
the argument, the value and what is allowed (other languages are held to the schema's enum by Pulumi itself)."""

import pytest

from n8n_platform import ClusterAddons, ElastiCacheRedis, N8nNamespace
from n8n_platform.arguments import member
from n8n_platform.namespace import NetworkPlan, PodSecurity
from tests.harness import run
from tests.test_addons import args as addons_args

CACHE = {"engine_version": "8.1", "node_type": "cache.m7g.large", "nodes": 2, "snapshot_retention_days": 7,
         "vpc_id": "vpc-0a1b2c3d", "subnet_ids": ["subnet-0a1b2c3d"], "node_security_group_id": "sg-0123456789abcdef0",
         "auth_token": None, "log_delivery": False, "log_retention_days": 30, "protect": False}


@pytest.mark.parametrize(("build", "message"), [
    (lambda: N8nNamespace("ns", {"name": "n8n", "network": NetworkPlan("n8n"), "pod_security": "strict"}),
     "N8nNamespace: argument 'pod_security' = 'strict' must be 'restricted', 'baseline' or 'privileged'"),
    (lambda: ClusterAddons("addons", addons_args(acme_server="prod")),
     "ClusterAddons: argument 'acme_server' = 'prod' must be 'staging' or 'production'"),
    (lambda: ElastiCacheRedis("cache", {**CACHE, "engine": "memcached"}),
     "ElastiCacheRedis: argument 'engine' = 'memcached' must be 'redis' or 'valkey'"),
], ids=["namespace pod_security", "addons acme_server", "elasticache engine"])
def test_a_string_outside_the_enum_is_refused_naming_what_is_allowed(build, message):
    with pytest.raises(ValueError) as refused:
        run(build)
    assert str(refused.value) == message


def test_a_member_or_its_value_is_the_member():
    assert member("C", "level", "baseline", PodSecurity) is PodSecurity.BASELINE
    assert member("C", "level", PodSecurity.RESTRICTED, PodSecurity) is PodSecurity.RESTRICTED


def test_the_enums_args_use_and_the_strings_type_checkers_accept_are_exported_from_the_root():
    """Each enum an Args field takes is importable from the package root, with a ``<Enum>Name`` Literal of its
    values; the Args hints are ``<Enum> | <Enum>Name`` for type checkers (the enum alone for Pulumi's analyzer)."""
    from typing import get_args

    import n8n_platform

    for enum in ("AcmeServer", "CacheEngine", "CaSource", "EdgeController", "LogLevel", "PodSecurity", "Pooler",
                 "Protocol"):
        kind, name = getattr(n8n_platform, enum), getattr(n8n_platform, f"{enum}Name")
        assert enum in n8n_platform.__all__ and f"{enum}Name" in n8n_platform.__all__
        assert list(get_args(name)) == [m.value for m in kind], enum
