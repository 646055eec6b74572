"""n8n_platform: Pulumi components for production n8n 2.x in queue mode on AWS and Kubernetes.

Import every public component and its Args from here::

    from n8n_platform import Redis, RedisArgs, N8nApp, N8nAppArgs

The components compose into :class:`N8nPlatform` (one environment from validated :class:`Settings`) or stand alone
in your own Pulumi program with Outputs from your resources. See the README's component sections for what each one
creates, what it needs first, its outputs and what it keeps on delete.
"""

from .addons import ClusterAddons, ClusterAddonsArgs
from .arguments import Missing, PlainValueRequired
from .autoscaling import WorkerAutoscaling, WorkerAutoscalingArgs
from .cluster import ClusterFacts
from .connections import (
    CaBundle,
    CaSource,
    CaSourceName,
    DatabaseConnection,
    Pooler,
    PoolerName,
    RedisConnection,
    SecretKeyRef,
)
from .database import (
    DatabaseDumps,
    DatabaseDumpsArgs,
    PatroniDatabase,
    PatroniDatabaseArgs,
    RdsDatabase,
    RdsDatabaseArgs,
)
from .database.common import AdminLogin, S3Location
from .database.spec import DatabaseSettings, N8nDatabase, PatroniSettings, PoolerSettings, RdsSettings
from .edge.component import Edge, EdgeArgs, EdgeOidc, EdgeRateLimits
from .edge.routes import Endpoints
from .edge.spec import AcmeServer, AcmeServerName, EdgeController, EdgeControllerName
from .eks_cluster import Cluster, ClusterArgs
from .github_access import GithubAccess, GithubAccessArgs
from .irsa import OidcProvider
from .n8n.app import N8nApp, N8nAppArgs
from .n8n.env import N8nEnvInputs, Protocol, ProtocolName
from .n8n.spec import LogLevel, LogLevelName
from .namespace import N8nNamespace, N8nNamespaceArgs, NetworkPlan, PodSecurity, PodSecurityName, QuotaWorkload
from .network import ClusterNetwork
from .observability import AlarmSpec, CloudWatchTargets, RuleInputs, RuleThresholds
from .observability.component import Observability, ObservabilityArgs
from .platform import N8nPlatform, PlatformArgs
from .redis import ElastiCacheRedis, ElastiCacheRedisArgs, Redis, RedisArgs
from .redis.spec import CacheEngine, CacheEngineName
from .schema import SettingsError
from .secrets import Secrets, SecretsArgs
from .settings import Settings, from_config, load
from .storage import ArchiveBucket, ArchiveBucketArgs
from .storage_class import EncryptedStorageClass, EncryptedStorageClassArgs
from .vocabulary import Resources
from .worker_pool import WorkerPool, WorkerPoolArgs

__version__ = "0.4.0"
"""The package version: the wheel's, the component provider's (``PulumiPlugin.yaml``) and the CHANGELOG's top entry."""

COMPONENTS = (ArchiveBucket, Cluster, ClusterAddons, DatabaseDumps, Edge, ElastiCacheRedis, EncryptedStorageClass,
              GithubAccess, N8nApp, N8nNamespace, N8nPlatform, Observability, PatroniDatabase, RdsDatabase, Redis,
              Secrets, WorkerAutoscaling, WorkerPool)
"""Every public ComponentResource of the library."""

__all__ = [
    "COMPONENTS",
    "AcmeServer",
    "AcmeServerName",
    "AdminLogin",
    "AlarmSpec",
    "ArchiveBucket",
    "ArchiveBucketArgs",
    "CaBundle",
    "CaSource",
    "CaSourceName",
    "CacheEngine",
    "CacheEngineName",
    "CloudWatchTargets",
    "Cluster",
    "ClusterAddons",
    "ClusterAddonsArgs",
    "ClusterArgs",
    "ClusterFacts",
    "ClusterNetwork",
    "DatabaseConnection",
    "DatabaseDumps",
    "DatabaseDumpsArgs",
    "DatabaseSettings",
    "Edge",
    "EdgeArgs",
    "EdgeController",
    "EdgeControllerName",
    "EdgeOidc",
    "EdgeRateLimits",
    "ElastiCacheRedis",
    "ElastiCacheRedisArgs",
    "EncryptedStorageClass",
    "EncryptedStorageClassArgs",
    "Endpoints",
    "GithubAccess",
    "GithubAccessArgs",
    "LogLevel",
    "LogLevelName",
    "Missing",
    "N8nApp",
    "N8nAppArgs",
    "N8nDatabase",
    "N8nEnvInputs",
    "N8nNamespace",
    "N8nNamespaceArgs",
    "N8nPlatform",
    "NetworkPlan",
    "Observability",
    "ObservabilityArgs",
    "OidcProvider",
    "PatroniDatabase",
    "PatroniDatabaseArgs",
    "PatroniSettings",
    "PlainValueRequired",
    "PlatformArgs",
    "PodSecurity",
    "PodSecurityName",
    "Pooler",
    "PoolerName",
    "PoolerSettings",
    "Protocol",
    "ProtocolName",
    "QuotaWorkload",
    "RdsDatabase",
    "RdsDatabaseArgs",
    "RdsSettings",
    "Redis",
    "RedisArgs",
    "RedisConnection",
    "Resources",
    "RuleInputs",
    "RuleThresholds",
    "S3Location",
    "SecretKeyRef",
    "Secrets",
    "SecretsArgs",
    "Settings",
    "SettingsError",
    "WorkerAutoscaling",
    "WorkerAutoscalingArgs",
    "WorkerPool",
    "WorkerPoolArgs",
    "__version__",
    "from_config",
    "load",
]
