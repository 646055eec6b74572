"""Misuse of the library's public arguments, as a new Python user commits it: each case ends in one clear error
naming the component (or connection type), the argument, the value and what is allowed, raised where the argument
enters, before any resource is registered; or, for an Output where a value is formatted into text, in a correct
manifest. The table also runs in a subprocess without PULUMI_ERROR_OUTPUT_STRING (where users run: there
``str(Output)`` is Pulumi's warning text instead of an error), see the last test."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from n8n_platform import (
    ArchiveBucket,
    CaBundle,
    ClusterAddons,
    DatabaseConnection,
    Edge,
    ElastiCacheRedis,
    GithubAccess,
    N8nApp,
    N8nEnvInputs,
    N8nNamespace,
    N8nPlatform,
    NetworkPlan,
    OidcProvider,
    PatroniDatabase,
    RdsDatabase,
    Redis,
    RedisConnection,
    S3Location,
    SecretKeyRef,
    Secrets,
    WorkerAutoscaling,
    WorkerPool,
)
from n8n_platform.arguments import Missing, PlainValueRequired
from n8n_platform.database.spec import DatabaseSettings
from n8n_platform.edge.component import EdgeOidc, EdgeRateLimits
from n8n_platform.observability import CloudWatchTargets, Observability, RuleInputs
from tests.harness import run
from tools.offline import PYTHONPATH, ROOT

PASSWORD = SecretKeyRef("n8n-secrets", "db-password")
DB = dict(host="db.internal", port=5432, database="n8n", user="n8n", schema="n8n", password=PASSWORD, ssl=True)
REDIS = dict(host="redis.internal", port=6379, tls=True, password=SecretKeyRef("n8n-secrets", "redis-password"),
             ca=None, managed=True)


def db(**change: Any) -> DatabaseConnection:
    return DatabaseConnection(**{**DB, **change})


def redis(**change: Any) -> RedisConnection:
    return RedisConnection(**{**REDIS, **change})


def app_args(**change: Any) -> dict[str, Any]:
    """The smallest valid N8nApp Args, with ``change`` (a None value leaves the argument out)."""
    base = {"namespace": "n8n", "hostname": "n8n.example.com", "db": db(), "redis": redis()}
    return {k: v for k, v in {**base, **change}.items() if v is not None}


def app(**change: Any) -> Callable[[], Any]:
    return lambda: N8nApp("n8n", app_args(**change))


def without(args: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in {**args, **change}.items() if v is not None}


def in_cluster_redis(**change: Any) -> Callable[[], Any]:
    return lambda: Redis("redis", without({"namespace": "n8n"}, change))  # type: ignore[arg-type]


CACHE = {"engine": "valkey", "engine_version": "8.1", "node_type": "cache.m7g.large", "nodes": 2,
         "snapshot_retention_days": 7, "vpc_id": "vpc-0a1b2c3d", "subnet_ids": ["subnet-0a1b2c3d"],
         "node_security_group_id": "sg-0123456789abcdef0", "auth_token": "t" * 32, "log_delivery": False,
         "log_retention_days": 30, "protect": False}


def namespace(**change: Any) -> Callable[[], Any]:
    return lambda: N8nNamespace("ns", without({"name": "n8n", "network": NetworkPlan("n8n")}, change))  # type: ignore


def patroni(**change: Any) -> Callable[[], Any]:
    return lambda: PatroniDatabase("db", without({"namespace": "n8n"}, change))  # type: ignore[arg-type]


RDS = {"identifier": "n8n-test", "namespace": "n8n", "vpc_id": "vpc-0a1b2c3d", "subnet_ids": ["subnet-0a1b2c3d"],
       "node_security_group_id": "sg-0123456789abcdef0"}


def rds(**change: Any) -> Callable[[], Any]:
    return lambda: RdsDatabase("db", without(RDS, change))  # type: ignore[arg-type]


def edge(**change: Any) -> Callable[[], Any]:
    from tests.test_edge_component import args as edge_args

    return lambda: Edge("edge", without(edge_args(), change))  # type: ignore[arg-type]


RULES = dict(namespace="n8n", memory_limits={"main": "2Gi", "worker": "2Gi"}, redis_in_cluster=True,
             patroni_cluster=None, dump_cron_job=None)


def observability(**change: Any) -> Callable[[], Any]:
    base = {"namespace": "n8n", "prometheus_release": "kps", "rules": RuleInputs(**RULES), "grafana_folder": "n8n"}
    return lambda: Observability("obs", without(base, change))  # type: ignore[arg-type]


def archive(**change: Any) -> Callable[[], Any]:
    base = {"pitr_days": 7, "dumps": True, "dump_retention_days": 35, "protect": False}
    return lambda: ArchiveBucket("archive", without(base, change))  # type: ignore[arg-type]


def secrets(**change: Any) -> Callable[[], Any]:
    return lambda: Secrets("secrets", without({"namespace": "n8n"}, change))  # type: ignore[arg-type]


def autoscaling(**change: Any) -> Callable[[], Any]:
    base = {"namespace": "n8n", "deployment": "n8n-worker", "redis": redis()}
    return lambda: WorkerAutoscaling("scaler", without(base, change))  # type: ignore[arg-type]


def pool(**change: Any) -> Callable[[], Any]:
    from tests.test_worker_pool import args as pool_args

    return lambda: WorkerPool("pool", without(pool_args(), change))  # type: ignore[arg-type]


def addons(**change: Any) -> Callable[[], Any]:
    from tests.test_addons import args as addons_args

    return lambda: ClusterAddons("addons", without(addons_args(), change))  # type: ignore[arg-type]


def github(**change: Any) -> Callable[[], Any]:
    base = {"repository": "acme/n8n-infra", "environments": ["dev", "prod"]}
    return lambda: GithubAccess("github", without(base, change))  # type: ignore[arg-type]


def cache(**change: Any) -> Callable[[], Any]:
    return lambda: ElastiCacheRedis("cache", without(CACHE, change))  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[], Any]
    error: type[Exception]
    message: str
    """Must appear in the error: it names the component, the argument, the value and what is allowed."""


CASES = [
    # --- N8nApp ---------------------------------------------------------------------------------------------------
    Case("N8nApp protocol typo", app(protocol="htps"), ValueError,
         "N8nApp: argument 'protocol' = 'htps' must be 'http' or 'https'"),
    Case("N8nApp protocol case", app(protocol="HTTPS"), ValueError,
         "N8nApp: argument 'protocol' = 'HTTPS' must be 'http' or 'https'"),
    Case("N8nApp log_level", app(log_level="verbose"), ValueError,
         "N8nApp: argument 'log_level' = 'verbose' must be 'error', 'warn', 'info' or 'debug'"),
    Case("N8nApp db missing", app(db=None), Missing,
         "N8nApp: argument 'db' is required (a DatabaseConnection: how n8n reaches PostgreSQL)"),
    Case("N8nApp redis missing", app(redis=None), Missing, "N8nApp: argument 'redis' is required"),
    Case("N8nApp namespace missing", app(namespace=None), Missing, "N8nApp: argument 'namespace' is required"),
    Case("N8nApp hostname missing", app(hostname=None), Missing, "N8nApp: argument 'hostname' is required"),
    Case("N8nApp args not a mapping", lambda: N8nApp("n8n", None), TypeError,  # type: ignore[arg-type]
         "N8nApp: argument 'args' must be a mapping (N8nAppArgs), not NoneType"),
    Case("N8nApp db mapping port string", app(db={**DB, "port": "5432"}), TypeError,
         "N8nApp: argument 'db.port' = '5432' must be a whole number (int) between 1 and 65535"),
    Case("N8nApp redis mapping ca source case", app(redis={**REDIS, "ca": {"source": "Secret", "name": "r",
                                                                            "key": "ca.crt"}}), ValueError,
         "N8nApp: argument 'redis.ca.source' = 'Secret' must be 'configMap' or 'secret'"),
    Case("N8nApp db not a connection", app(db="postgres://db"), TypeError,
         "N8nApp: argument 'db' must be a DatabaseConnection, not str"),
    Case("N8nApp worker_concurrency negative", app(worker_concurrency=-5), ValueError,
         "N8nApp: argument 'worker_concurrency' = -5 must be a whole number (int) >= 1"),
    Case("N8nApp worker_concurrency zero", app(worker_concurrency=0), ValueError,
         "N8nApp: argument 'worker_concurrency' = 0 must be a whole number (int) >= 1"),
    Case("N8nApp worker_concurrency string", app(worker_concurrency="10"), TypeError,
         "N8nApp: argument 'worker_concurrency' = '10' must be a whole number (int) >= 1"),
    Case("N8nApp graceful_shutdown_seconds", app(graceful_shutdown_seconds=-30), ValueError,
         "N8nApp: argument 'graceful_shutdown_seconds' = -30 must be a whole number (int) >= 0"),
    Case("N8nApp main_replicas bool", app(main_replicas=True), TypeError,
         "N8nApp: argument 'main_replicas' = True must be a whole number (int) >= 1"),
    Case("N8nApp hostname with scheme", app(hostname="https://n8n.example.com/"), ValueError,
         "N8nApp: argument 'hostname' = 'https://n8n.example.com/' must be a lowercase DNS name such as "
         "n8n.example.com (no scheme, port, path or trailing slash)"),
    Case("N8nApp hostname number", app(hostname=12345), TypeError,
         "N8nApp: argument 'hostname' = 12345 must be a lowercase DNS name"),
    Case("N8nApp version", app(version="latest"), ValueError,
         "N8nApp: argument 'version' = 'latest' must be an n8n 2.x release such as 2.40.7"),
    Case("N8nApp licensed string", app(licensed="false"), TypeError,
         "N8nApp: argument 'licensed' = 'false' must be True or False (a bool"),
    Case("N8nApp metrics string", app(metrics="true"), TypeError,
         "N8nApp: argument 'metrics' = 'true' must be True or False"),
    Case("N8nApp spot_pool int", app(spot_pool=1), TypeError,
         "N8nApp: argument 'spot_pool' = 1 must be True or False"),
    Case("N8nApp secret_name too long", app(secret_name="s" * 300), ValueError,
         f"N8nApp: argument 'secret_name' = '{'s' * 300}' must be a Kubernetes object name (lowercase letters, "
         "digits, '-' and '.', starting and ending alphanumeric, at most 253 characters)"),
    Case("N8nApp secret_name uppercase", app(secret_name="N8N_Secrets"), ValueError,
         "N8nApp: argument 'secret_name' = 'N8N_Secrets' must be a Kubernetes object name"),
    Case("N8nApp namespace too long", app(namespace="N" * 80), ValueError,
         f"N8nApp: argument 'namespace' = '{'N' * 80}' must be a DNS label (lowercase letters, digits and '-', "
         "starting and ending alphanumeric) of at most 63 characters"),
    Case("N8nApp memory_limit GB", app(main_resources={"memoryLimit": "2GB"}), ValueError,
         "N8nApp: argument 'main_resources.memoryLimit' = '2GB' must be a Kubernetes memory quantity string such "
         "as 512Mi, 1.5Gi or 2G"),
    Case("N8nApp cpu_limit cores", app(worker_resources={"cpuLimit": "2 cores"}), ValueError,
         "N8nApp: argument 'worker_resources.cpuLimit' = '2 cores' must be a Kubernetes cpu quantity string such "
         "as 250m, 0.5 or 2"),
    Case("N8nApp memory request above limit", app(main_resources={"memoryRequest": "3Gi", "memoryLimit": "2Gi"}),
         ValueError, "N8nApp: argument 'main_resources.memoryRequest' = '3Gi' must be at most memoryLimit (2Gi)"),
    Case("N8nApp cpu request above limit", app(runners_resources={"cpu_request": "2", "cpu_limit": "1500m"}),
         ValueError, "N8nApp: argument 'runners_resources.cpuRequest' = '2' must be at most cpuLimit (1500m)"),
    Case("N8nApp cpu a number", app(webhook_resources={"cpuLimit": 2}), TypeError,
         "N8nApp: argument 'webhook_resources.cpuLimit' = 2 must be a Kubernetes cpu quantity string"),
    Case("N8nApp proxy_hops float", app(proxy_hops=1.0), TypeError,
         "N8nApp: argument 'proxy_hops' = 1.0 must be a whole number (int) >= 0"),
    Case("N8nApp Output version", app(version=pulumi.Output.from_input("2.40.7")), PlainValueRequired,
         "N8nApp: argument 'version' must be a plain value known when the program runs, not an Output"),
    # --- Redis ----------------------------------------------------------------------------------------------------
    Case("Redis namespace missing", in_cluster_redis(namespace=None), Missing,
         "Redis: argument 'namespace' is required (the namespace Redis runs in)"),
    Case("Redis memory GB", in_cluster_redis(memory="1GB"), ValueError,
         "Redis: argument 'memory' = '1GB' must be a Kubernetes memory quantity string such as 512Mi, 1.5Gi or 2G"),
    Case("Redis memory a number", in_cluster_redis(memory=1024), TypeError,
         "Redis: argument 'memory' = 1024 must be a Kubernetes memory quantity string"),
    Case("Redis storage_size", in_cluster_redis(storage_size="10 GiB"), ValueError,
         "Redis: argument 'storage_size' = '10 GiB' must be a Kubernetes memory quantity string"),
    Case("Redis protect string", in_cluster_redis(protect="false"), TypeError,
         "Redis: argument 'protect' = 'false' must be True or False (a bool; use Config.get_bool for config "
         "values)"),
    Case("Redis retain_on_delete string", in_cluster_redis(retain_on_delete="no"), TypeError,
         "Redis: argument 'retain_on_delete' = 'no' must be True or False"),
    Case("Redis issuer_kind case", in_cluster_redis(issuer_kind="clusterissuer"), ValueError,
         "Redis: argument 'issuer_kind' = 'clusterissuer' must be 'ClusterIssuer' or 'Issuer'"),
    Case("Redis password_secret long", in_cluster_redis(password_secret="x" * 300), ValueError,
         "Redis: argument 'password_secret' = '" + "x" * 300 + "' must be a Kubernetes object name"),
    Case("Redis name uppercase", in_cluster_redis(name="Queue"), ValueError,
         "Redis: argument 'name' = 'Queue' must be a DNS label"),
    Case("Redis namespace underscore", in_cluster_redis(namespace="n8n_prod"), ValueError,
         "Redis: argument 'namespace' = 'n8n_prod' must be a DNS label"),
    Case("ElastiCacheRedis nodes string", cache(nodes="2"), TypeError,
         "ElastiCacheRedis: argument 'nodes' = '2' must be a whole number (int) between 1 and 6"),
    Case("ElastiCacheRedis nodes zero", cache(nodes=0), ValueError,
         "ElastiCacheRedis: argument 'nodes' = 0 must be a whole number (int) between 1 and 6"),
    Case("ElastiCacheRedis protect string", cache(protect="false"), TypeError,
         "ElastiCacheRedis: argument 'protect' = 'false' must be True or False"),
    Case("ElastiCacheRedis engine case", cache(engine="Valkey"), ValueError,
         "ElastiCacheRedis: argument 'engine' = 'Valkey' must be 'redis' or 'valkey'"),
    Case("ElastiCacheRedis engine_version", cache(engine_version="latest"), ValueError,
         "ElastiCacheRedis: argument 'engine_version' = 'latest' must be an engine version such as 8.1"),
    Case("ElastiCacheRedis vpc_id missing", cache(vpc_id=None), Missing,
         "ElastiCacheRedis: argument 'vpc_id' is required"),
    Case("ElastiCacheRedis subnet_ids a string", cache(subnet_ids="subnet-0a1b2c3d"), TypeError,
         "ElastiCacheRedis: argument 'subnet_ids' = 'subnet-0a1b2c3d' must be a non-empty list of subnet ids"),
    # --- databases ------------------------------------------------------------------------------------------------
    Case("PatroniDatabase namespace missing", patroni(namespace=None), Missing,
         "PatroniDatabase: argument 'namespace' is required"),
    Case("PatroniDatabase protect string", patroni(protect="false"), TypeError,
         "PatroniDatabase: argument 'protect' = 'false' must be True or False"),
    Case("PatroniDatabase retain_on_delete string", patroni(retain_on_delete="true"), TypeError,
         "PatroniDatabase: argument 'retain_on_delete' = 'true' must be True or False"),
    Case("PatroniDatabase namespace uppercase", patroni(namespace="N8N"), ValueError,
         "PatroniDatabase: argument 'namespace' = 'N8N' must be a DNS label"),
    Case("PatroniDatabase members zero", patroni(patroni={"members": 0}), ValueError,
         "PatroniDatabase: invalid argument 'patroni' (1 problem(s)):\n  - patroni.members = 0: must be "
         "between 1 and 9"),
    Case("PatroniDatabase given the stack's whole database section", patroni(database=DatabaseSettings()), TypeError,
         "PatroniDatabase: argument 'database' must be an N8nDatabase (name, user, schema, limits), not the "
         "stack's DatabaseSettings"),
    Case("RdsDatabase vpc_id missing", rds(vpc_id=None), Missing, "RdsDatabase: argument 'vpc_id' is required"),
    Case("RdsDatabase subnet_ids a string", rds(subnet_ids="subnet-0a1b2c3d"), TypeError,
         "RdsDatabase: argument 'subnet_ids' = 'subnet-0a1b2c3d' must be a non-empty list of subnet ids"),
    Case("RdsDatabase protect string", rds(protect="false"), TypeError,
         "RdsDatabase: argument 'protect' = 'false' must be True or False"),
    Case("RdsDatabase tags not strings", rds(tags={"team": 7}), TypeError,
         "RdsDatabase: argument 'tags' = {'team': 7} must be a mapping of strings to strings"),
    Case("RdsDatabase ca_bundle_pem a path", rds(ca_bundle_pem="/etc/ssl/rds.pem"), TypeError,
         "RdsDatabase: argument 'ca_bundle_pem' = '/etc/ssl/rds.pem' must be a PEM bundle of certificates"),
    Case("S3Location prefix without slash", lambda: S3Location("b", "arn:aws:s3:::b", "wal", "k", "eu-west-1"),
         ValueError, "S3Location: argument 'prefix' = 'wal' must be a key prefix with a trailing slash, such as wal/"),
    Case("S3Location region", lambda: S3Location("b", "arn:aws:s3:::b", "wal/", "k", "Ireland"), ValueError,
         "S3Location: argument 'region' = 'Ireland' must be an AWS region such as eu-west-1"),
    # --- N8nNamespace and NetworkPlan -------------------------------------------------------------------------------
    Case("N8nNamespace network missing", namespace(network=None), Missing,
         "N8nNamespace: argument 'network' is required (a NetworkPlan: what the network policies need to know"),
    Case("N8nNamespace name missing", namespace(name=None), Missing, "N8nNamespace: argument 'name' is required"),
    Case("N8nNamespace name long and uppercase", namespace(name="N" * 80), ValueError,
         f"N8nNamespace: argument 'name' = '{'N' * 80}' must be a DNS label (lowercase letters, digits and '-', "
         "starting and ending alphanumeric) of at most 54 characters"),
    Case("N8nNamespace pod_security case", namespace(pod_security="Restricted"), ValueError,
         "N8nNamespace: argument 'pod_security' = 'Restricted' must be 'restricted', 'baseline' or 'privileged'"),
    Case("N8nNamespace protect string", namespace(protect="false"), TypeError,
         "N8nNamespace: argument 'protect' = 'false' must be True or False"),
    Case("N8nNamespace quota_headroom below one", namespace(quota_headroom=0.5), ValueError,
         "N8nNamespace: argument 'quota_headroom' = 0.5 must be a number >= 1"),
    Case("N8nNamespace quota_headroom string", namespace(quota_headroom="1.5"), TypeError,
         "N8nNamespace: argument 'quota_headroom' = '1.5' must be a number >= 1"),
    Case("N8nNamespace quota_workloads empty", namespace(quota_workloads=[]), TypeError,
         "N8nNamespace: argument 'quota_workloads' = [] must be a non-empty list of QuotaWorkload"),
    Case("N8nNamespace quota memory GB", namespace(quota_workloads=[
        {"name": "w", "max_replicas": 1, "containers": [{"memoryLimit": "2GB"}]}]), ValueError,
         "N8nNamespace: argument 'quota_workloads[0].containers[0].memoryLimit' = '2GB' must be a Kubernetes memory "
         "quantity string"),
    Case("N8nNamespace network for another namespace", namespace(network=NetworkPlan("other")), ValueError,
         "N8nNamespace: argument 'network': network plan is for namespace 'other', not 'n8n': its namespace must "
         "be the argument 'name'"),
    Case("NetworkPlan Output in postgres_cidrs",
         lambda: NetworkPlan("n8n", postgres_cidrs=[pulumi.Output.from_input("10.0.0.0/16")]), PlainValueRequired,
         "NetworkPlan: argument 'postgres_cidrs[0]' must be a plain value known when the program runs, not an Output"),
    Case("NetworkPlan bad CIDR", lambda: NetworkPlan("n8n", redis_cidrs=["10.0.0.1/16"]), ValueError,
         "NetworkPlan: argument 'redis_cidrs[0]' = '10.0.0.1/16' must be a CIDR with zero host bits, such as "
         "10.0.0.0/16 or 2001:db8::/32"),
    Case("NetworkPlan CIDR a string not a list", lambda: NetworkPlan("n8n", postgres_cidrs="10.0.0.0/16"), TypeError,
         "NetworkPlan: argument 'postgres_cidrs' = '10.0.0.0/16' must be a list"),
    Case("NetworkPlan egress port", lambda: NetworkPlan("n8n", egress_ports=[443, "80"]), TypeError,
         "NetworkPlan: argument 'egress_ports[1]' = '80' must be a whole number (int) between 1 and 65535"),
    Case("NetworkPlan redis_in_cluster string", lambda: NetworkPlan("n8n", redis_in_cluster="true"), TypeError,
         "NetworkPlan: argument 'redis_in_cluster' = 'true' must be True or False"),
    # --- Edge -------------------------------------------------------------------------------------------------------
    Case("Edge hostname with scheme", edge(hostname="https://n8n.example.com/"), ValueError,
         "Edge: argument 'hostname' = 'https://n8n.example.com/' must be a lowercase DNS name"),
    Case("Edge controller case", edge(controller="ALB"), ValueError,
         "Edge: argument 'controller' = 'ALB' must be 'alb' or 'gateway'"),
    Case("Edge rate_limits missing", edge(rate_limits=None), Missing, "Edge: argument 'rate_limits' is required"),
    Case("Edge waf string", edge(waf="false"), TypeError, "Edge: argument 'waf' = 'false' must be True or False"),
    Case("Edge webhook_processors string", edge(webhook_processors="true"), TypeError,
         "Edge: argument 'webhook_processors' = 'true' must be True or False"),
    Case("Edge idle timeout string", edge(idle_timeout_seconds="300"), TypeError,
         "Edge: argument 'idle_timeout_seconds' = '300' must be a whole number (int) between 1 and 4000"),
    Case("Edge editor CIDR", edge(editor_allowed_cidrs=["203.0.113.7"]), ValueError,
         "Edge: argument 'editor_allowed_cidrs[0]' = '203.0.113.7' must be a CIDR with zero host bits"),
    Case("Edge service name", edge(services={"main": "n8n main", "webhook": "n8n-webhook"}), ValueError,
         "Edge: argument 'services.main' = 'n8n main' must be a Kubernetes object name"),
    Case("Edge partition", edge(partition="china"), ValueError,
         "Edge: argument 'partition' = 'china' must be 'aws', 'aws-cn' or 'aws-us-gov'"),
    Case("EdgeRateLimits below WAF minimum", lambda: EdgeRateLimits(login_per_minute=5), ValueError,
         "EdgeRateLimits: invalid argument(s) (1 problem(s)):\n  - login_per_minute = 5: must be at least 10"),
    Case("EdgeOidc issuer not https", lambda: EdgeOidc(issuer="idp.example.com", authorization_endpoint="https://a",
                                                      token_endpoint="https://t", user_info_endpoint="https://u",
                                                      client_id="n8n"), ValueError,
         "EdgeOidc: invalid argument(s) (1 problem(s)):\n  - issuer = 'idp.example.com': must be an https:// URL"),
    # --- Observability ----------------------------------------------------------------------------------------------
    Case("Observability rules missing", observability(rules=None), Missing,
         "Observability: argument 'rules' is required"),
    Case("Observability release label", observability(prometheus_release="kube prometheus"), ValueError,
         "Observability: argument 'prometheus_release' = 'kube prometheus' must be a Kubernetes label value"),
    Case("RuleInputs memory limit GB", lambda: RuleInputs(**{**RULES, "memory_limits": {"main": "2GB"}}), ValueError,
         "RuleInputs: argument 'memory_limits.main' = '2GB' must be a Kubernetes memory quantity string"),
    Case("RuleInputs unknown role", lambda: RuleInputs(**{**RULES, "memory_limits": {"runner": "1Gi"}}), ValueError,
         "RuleInputs: argument 'memory_limits' = 'runner' must be 'main', 'webhook' or 'worker'"),
    Case("RuleInputs redis_in_cluster string", lambda: RuleInputs(**{**RULES, "redis_in_cluster": "yes"}), TypeError,
         "RuleInputs: argument 'redis_in_cluster' = 'yes' must be True or False"),
    Case("CloudWatchTargets connection_limit float", lambda: CloudWatchTargets("k", connection_limit=100.0),
         TypeError, "CloudWatchTargets: argument 'connection_limit' = 100.0 must be a whole number (int) >= 0"),
    Case("CloudWatchTargets e-mail", lambda: CloudWatchTargets("k", emails=["ops"]), ValueError,
         "CloudWatchTargets: argument 'emails[0]' = 'ops' must be an e-mail address"),
    # --- the other components -------------------------------------------------------------------------------------
    Case("ArchiveBucket pitr_days string", archive(pitr_days="7"), TypeError,
         "ArchiveBucket: argument 'pitr_days' = '7' must be a whole number (int) >= 1"),
    Case("ArchiveBucket dumps missing", archive(dumps=None), Missing, "ArchiveBucket: argument 'dumps' is required"),
    Case("ArchiveBucket protect string", archive(protect="false"), TypeError,
         "ArchiveBucket: argument 'protect' = 'false' must be True or False"),
    Case("ArchiveBucket replica_region", archive(replica_region="Frankfurt"), ValueError,
         "ArchiveBucket: argument 'replica_region' = 'Frankfurt' must be an AWS region such as eu-west-1"),
    Case("Secrets namespace missing", secrets(namespace=None), Missing, "Secrets: argument 'namespace' is required"),
    Case("Secrets escrow string", secrets(escrow="false"), TypeError,
         "Secrets: argument 'escrow' = 'false' must be True or False"),
    Case("Secrets protect string", secrets(protect="true"), TypeError,
         "Secrets: argument 'protect' = 'true' must be True or False"),
    Case("WorkerAutoscaling redis missing", autoscaling(redis=None), Missing,
         "WorkerAutoscaling: argument 'redis' is required"),
    Case("WorkerAutoscaling max_replicas zero", autoscaling(max_replicas=0), ValueError,
         "WorkerAutoscaling: argument 'max_replicas' = 0 must be a whole number (int) >= 1"),
    Case("WorkerAutoscaling min above max", autoscaling(min_replicas=5, max_replicas=3), ValueError,
         "WorkerAutoscaling: argument 'min_replicas' = 5 must be at most max_replicas (3)"),
    Case("WorkerAutoscaling keda string", autoscaling(keda="false"), TypeError,
         "WorkerAutoscaling: argument 'keda' = 'false' must be True or False"),
    Case("WorkerPool desired outside range", pool(desired_nodes=20), ValueError,
         "WorkerPool: argument 'desired_nodes' = 20 must be between min_nodes (1) and max_nodes (10)"),
    Case("WorkerPool disk float", pool(disk_size_gb=80.0), TypeError,
         "WorkerPool: argument 'disk_size_gb' = 80.0 must be a whole number (int) between 20 and 16384"),
    Case("WorkerPool subnet", pool(subnet_ids=["10.0.0.0/24"]), ValueError,
         "WorkerPool: argument 'subnet_ids[0]' = '10.0.0.0/24' must be a subnet id such as subnet-0a1b2c3d"),
    Case("WorkerPool cluster_name missing", pool(cluster_name=None), Missing,
         "WorkerPool: argument 'cluster_name' is required"),
    Case("ClusterAddons keda string", addons(keda="true"), TypeError,
         "ClusterAddons: argument 'keda' = 'true' must be True or False"),
    Case("ClusterAddons acme_email", addons(acme_email="ops"), ValueError,
         "ClusterAddons: argument 'acme_email' = 'ops' must be an e-mail address"),
    Case("GithubAccess repository", github(repository="n8n-infra"), ValueError,
         "GithubAccess: argument 'repository' = 'n8n-infra' must be <owner>/<name> of a GitHub repository"),
    Case("GithubAccess environments missing", github(environments=None), Missing,
         "GithubAccess: argument 'environments' is required"),
    Case("N8nEnvInputs protocol", lambda: N8nEnvInputs(hostname="n8n.example.com", db=db(), redis=redis(),
                                                       protocol="htps"), ValueError,
         "N8nEnvInputs: argument 'protocol' = 'htps' must be 'http' or 'https'"),
    Case("N8nEnvInputs worker_concurrency", lambda: N8nEnvInputs(hostname="n8n.example.com", db=db(),
                                                                 redis=redis(), worker_concurrency=0), ValueError,
         "N8nEnvInputs: argument 'worker_concurrency' = 0 must be a whole number (int) >= 1"),
    Case("OidcProvider issuer without scheme", lambda: OidcProvider(
        "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/X",
        "oidc.eks.eu-west-1.amazonaws.com/id/X"), ValueError,
         "OidcProvider: argument 'issuer' = 'oidc.eks.eu-west-1.amazonaws.com/id/X' must be the cluster's https:// "
         "issuer URL"),
    Case("N8nPlatform settings missing", lambda: N8nPlatform("n8n", {}), Missing,  # type: ignore[typeddict-item]
         "N8nPlatform: argument 'settings' is required"),
    # --- connection types ---------------------------------------------------------------------------------------
    Case("DatabaseConnection port negative", lambda: db(port=-1), ValueError,
         "DatabaseConnection: argument 'port' = -1 must be a whole number (int) between 1 and 65535"),
    Case("DatabaseConnection port float", lambda: db(port=5432.0), TypeError,
         "DatabaseConnection: argument 'port' = 5432.0 must be a whole number (int) between 1 and 65535"),
    Case("DatabaseConnection port string", lambda: db(port="5432"), TypeError,
         "DatabaseConnection: argument 'port' = '5432' must be a whole number (int) between 1 and 65535"),
    Case("DatabaseConnection port too big", lambda: db(port=70000), ValueError,
         "DatabaseConnection: argument 'port' = 70000 must be a whole number (int) between 1 and 65535"),
    Case("DatabaseConnection ssl string", lambda: db(ssl="false"), TypeError,
         "DatabaseConnection: argument 'ssl' = 'false' must be True or False"),
    Case("DatabaseConnection host URL", lambda: db(host="postgres://db:5432"), ValueError,
         "DatabaseConnection: argument 'host' = 'postgres://db:5432' must be a lowercase DNS name or IP address"),
    Case("DatabaseConnection password missing", lambda: db(password=None), TypeError,
         "DatabaseConnection: argument 'password' is required (a SecretKeyRef)"),
    Case("DatabaseConnection password a string", lambda: db(password="hunter2"), TypeError,
         "DatabaseConnection: argument 'password' must be a SecretKeyRef, not str"),
    Case("DatabaseConnection pooler case", lambda: db(pooler="PgBouncer"), ValueError,
         "DatabaseConnection: argument 'pooler' = 'PgBouncer' must be 'pgbouncer' or 'rds-proxy'"),
    Case("DatabaseConnection database empty", lambda: db(database=""), ValueError,
         "DatabaseConnection: argument 'database' = '' must be a non-empty string"),
    Case("RedisConnection tls string", lambda: redis(tls="true"), TypeError,
         "RedisConnection: argument 'tls' = 'true' must be True or False"),
    Case("RedisConnection port float", lambda: redis(port=6379.0), TypeError,
         "RedisConnection: argument 'port' = 6379.0 must be a whole number (int) between 1 and 65535"),
    Case("RedisConnection managed string", lambda: redis(managed="no"), TypeError,
         "RedisConnection: argument 'managed' = 'no' must be True or False"),
    Case("CaBundle source case", lambda: CaBundle("Secret", "redis-tls", "ca.crt"), ValueError,
         "CaBundle: argument 'source' = 'Secret' must be 'configMap' or 'secret'"),
    Case("CaBundle source unknown", lambda: CaBundle("file", "redis-tls", "ca.crt"), ValueError,
         "CaBundle: argument 'source' = 'file' must be 'configMap' or 'secret'"),
    Case("CaBundle key path", lambda: CaBundle("secret", "redis-tls", "certs/ca.crt"), ValueError,
         "CaBundle: argument 'key' = 'certs/ca.crt' must be a Secret/ConfigMap key"),
    Case("SecretKeyRef secret name", lambda: SecretKeyRef("My Secret", "password"), ValueError,
         "SecretKeyRef: argument 'secret' = 'My Secret' must be a Kubernetes object name"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_table_each_misuse_ends_in_one_clear_error(case: Case) -> None:
    with pytest.raises(case.error) as refused:
        run(case.build)
    assert case.message in str(refused.value)


def test_table_every_case_names_its_component_and_argument() -> None:
    for case in CASES:
        component = case.id.split()[0]
        assert case.message.startswith(f"{component}: ") and "argument" in case.message, case.id
        assert "must be" in case.message or "is required" in case.message, case.id


def _env_of(recording: Any, deployment: str) -> dict[str, Any]:
    manifest = next(r for r in recording.resources if r.type == "kubernetes:apps/v1:Deployment"
                    and r.inputs["metadata"]["name"] == deployment)
    container = next(c for c in manifest.inputs["spec"]["template"]["spec"]["containers"] if c["name"] == "n8n")
    return {e["name"]: e.get("value") for e in container["env"]}


def test_an_output_port_is_placed_as_the_number_in_the_deployment_env() -> None:
    def program() -> None:
        port = pulumi.Output.from_input(6543)
        N8nApp("n8n", app_args(db=db(port=port), redis=redis(port=pulumi.Output.from_input(6380))))

    env = _env_of(run(program), "n8n-worker")
    assert env["DB_POSTGRESDB_PORT"] == "6543"
    assert env["QUEUE_BULL_REDIS_PORT"] == "6380"


def test_valid_strings_of_the_enums_and_decimal_quantities_are_accepted() -> None:
    recording = run(app(protocol="http", log_level="debug", main_resources={"memoryLimit": "1.5Gi",
                                                                           "memoryRequest": "1Gi"}))
    env = _env_of(recording, "n8n-main")
    assert env["N8N_PROTOCOL"] == "http" and env["N8N_LOG_LEVEL"] == "debug"
    assert env["N8N_EDITOR_BASE_URL"] == "http://n8n.example.com/"
    assert "--max-old-space-size=" in env["NODE_OPTIONS"] and "=0" not in env["NODE_OPTIONS"]
    assert CaBundle("secret", "r", "ca.crt").source == "secret"


def test_the_table_holds_where_users_run_without_pulumi_error_output_string() -> None:
    """Our test runtime sets PULUMI_ERROR_OUTPUT_STRING (str(Output) raises); a user's program does not. With it
    off, each case still ends in its error, and an Output port still renders as the number."""
    env = {**os.environ, "PYTHONPATH": PYTHONPATH, "PULUMI_ERROR_OUTPUT_STRING": "0"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                           "-k", "not where_users_run and not really_runs", __file__], capture_output=True,
                          text=True, timeout=300, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert f"{len(CASES) + 5} passed" in done.stdout


def test_the_subprocess_really_runs_without_the_setting() -> None:
    env = {**os.environ, "PYTHONPATH": PYTHONPATH, "PULUMI_ERROR_OUTPUT_STRING": "0"}
    probe = "import tools.offline, pulumi; print(f'{pulumi.Output.from_input(1)}'[:20])"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env=env,
                          cwd=ROOT)
    assert done.stdout.startswith("Calling __str__"), done.stdout + done.stderr


def test_a_decimal_redis_memory_sizes_maxmemory() -> None:
    recording = run(in_cluster_redis(memory="1.5Gi"))
    conf = next(r for r in recording.resources if r.type == "kubernetes:core/v1:ConfigMap").inputs["data"]
    assert f"maxmemory {int(1.5 * 2**30 * 0.8)}" in conf["redis.conf"]
    assert Redis.quota({"memory": "1.5Gi"}).containers[0].memory_limit == "1.5Gi"


def test_n8n_namespace_alone_admits_the_defaults_of_n8n_app_and_redis() -> None:
    """Without quota_workloads: no ResourceQuota and no LimitRange maximum (nothing declared to size them from); with
    the components' own quota shares, the budget and the per-container maximum fit their default pods."""
    from n8n_platform.schema import cpu_millis, quantity_bytes

    def program() -> None:
        N8nNamespace("ns", {"name": "n8n", "network": NetworkPlan("n8n")})
        Redis("redis", {"namespace": "n8n"})
        N8nApp("n8n", app_args())

    alone = run(program).manifests()
    assert not [m for m in alone if m["kind"] == "ResourceQuota"]
    [limits] = [m["spec"]["limits"][0] for m in alone if m["kind"] == "LimitRange"]
    assert "max" not in limits

    sized = run(namespace(quota_workloads=[*N8nApp.quota(), Redis.quota()])).manifests()
    [hard] = [m["spec"]["hard"] for m in sized if m["kind"] == "ResourceQuota"]
    [maximum] = [m["spec"]["limits"][0]["max"] for m in sized if m["kind"] == "LimitRange"]
    pods = [m["spec"]["template"]["spec"] | {"replicas": m["spec"].get("replicas", 1)}
            for m in alone if m["kind"] in ("Deployment", "StatefulSet")]
    total = {"requests.cpu": 0, "limits.cpu": 0, "requests.memory": 0, "limits.memory": 0}
    for pod in pods:
        for c in pod["containers"]:
            r = c["resources"]
            assert cpu_millis(r["limits"]["cpu"]) <= cpu_millis(maximum["cpu"]), c["name"]
            assert quantity_bytes(r["limits"]["memory"]) <= quantity_bytes(maximum["memory"]), c["name"]
            for kind in ("requests", "limits"):
                total[f"{kind}.cpu"] += pod["replicas"] * cpu_millis(r[kind]["cpu"])
                total[f"{kind}.memory"] += pod["replicas"] * quantity_bytes(r[kind]["memory"])
    assert len(pods) == 4
    for key, used in total.items():
        allowed = cpu_millis(hard[key]) if key.endswith("cpu") else quantity_bytes(hard[key])
        assert 0 < used <= allowed, key
    assert sum(p["replicas"] for p in pods) <= int(hard["pods"])


def test_the_examples_run_where_users_run_without_pulumi_error_output_string() -> None:
    env = {**os.environ, "PYTHONPATH": PYTHONPATH, "PULUMI_ERROR_OUTPUT_STRING": "0"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                           str(ROOT / "tests" / "test_examples.py")], capture_output=True, text=True, timeout=600,
                          env=env, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "Calling __str__" not in done.stdout + done.stderr
