"""What n8n's Redis is asked to be: in-cluster or ElastiCache, and each one's knobs.

The ``redis`` section of the stack settings and the vocabulary of :class:`~n8n_platform.redis.Redis` and
:class:`~n8n_platform.redis.ElastiCacheRedis`; their defaults are the platform's."""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads these annotations at run time
# (the components' Args use them); the settings parser reads them with typing.get_type_hints either way.
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from ..schema import MEMORY, Section, between, matches, non_empty, setting


@dataclass(frozen=True, kw_only=True)
class InClusterRedisSettings(Section):
    """Redis as a StatefulSet in the cluster (mode `in-cluster`)."""

    image: str = setting("Redis image, pinned.", "docker.io/library/redis:7.4.6-alpine", check=non_empty)
    memory: str = setting("Container memory limit; `maxmemory` is set to 80% of it.", "1Gi", check=MEMORY)
    storage_size: str = setting("PVC size for the append-only file.", "10Gi", check=MEMORY)
    storage_class: str = setting("StorageClass of the PVC.", "gp3", check=non_empty)


class CacheEngine(StrEnum):
    """Engine of the ElastiCache replication group (``redis.elasticache.engine``)."""

    REDIS = "redis"
    """Redis OSS."""
    VALKEY = "valkey"
    """Valkey, the open-source Redis fork (lower price on ElastiCache)."""


CacheEngineName = Literal["redis", "valkey"]
"""The values of :class:`CacheEngine`, which Python callers may pass instead of the members (case-sensitive)."""
if TYPE_CHECKING:
    CacheEngineArg = CacheEngine | CacheEngineName
else:  # Pulumi's schema analyzer supports no unions: it sees the enum
    CacheEngineArg = CacheEngine


@dataclass(frozen=True, kw_only=True)
class ElastiCacheSettings(Section):
    """Amazon ElastiCache (mode `elasticache`)."""

    engine: CacheEngine = setting("Cache engine.", CacheEngine.VALKEY)
    engine_version: str = setting("Engine version.", "8.1", check=non_empty)
    node_type: str = setting("Cache node type.", "cache.m7g.large",
                             check=matches(r"cache\.[a-z0-9]+\.[a-z0-9]+", "a node type such as cache.m7g.large"))
    nodes: int = setting("Primary + replicas; 2 or more for Multi-AZ failover.", 2, check=between(1, 6))
    snapshot_retention_days: int = setting("Daily snapshots kept.", 7, check=between(0, 35))


class RedisMode(StrEnum):
    """Where n8n's Redis runs (``redis.mode``)."""

    IN_CLUSTER = "in-cluster"
    """A StatefulSet in the cluster."""
    ELASTICACHE = "elasticache"
    """Amazon ElastiCache (managed, Multi-AZ)."""


@dataclass(frozen=True, kw_only=True)
class RedisSettings(Section):
    """Redis, the durable queue between webhook processors, main and workers."""

    mode: RedisMode = setting("`in-cluster` StatefulSet or managed `elasticache`.", RedisMode.ELASTICACHE)
    in_cluster: InClusterRedisSettings = setting("Settings of mode `in-cluster`.", InClusterRedisSettings())
    elasticache: ElastiCacheSettings = setting("Settings of mode `elasticache`.", ElastiCacheSettings())
