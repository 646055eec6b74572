"""Redis for n8n's Bull queue: in-cluster (:class:`Redis`, a StatefulSet with AOF on a PVC) or managed
(:class:`ElastiCacheRedis`). Both hand n8n the same :class:`~n8n_platform.connections.RedisConnection`.

In-cluster: :mod:`.in_cluster` (and redis.conf: :mod:`.conf`); managed: :mod:`.elasticache`; what each is asked to be:
:mod:`.spec`.
"""

from .elasticache import ElastiCacheRedis, ElastiCacheRedisArgs
from .in_cluster import InClusterRedisSpec, Redis, RedisArgs, in_cluster_manifests, quota
from .spec import CacheEngine, CacheEngineName, ElastiCacheSettings, InClusterRedisSettings, RedisMode, RedisSettings

__all__ = ["CacheEngine", "CacheEngineName", "ElastiCacheRedis", "ElastiCacheRedisArgs", "ElastiCacheSettings",
           "InClusterRedisSettings", "InClusterRedisSpec", "Redis", "RedisArgs", "RedisMode", "RedisSettings",
           "in_cluster_manifests", "quota"]
