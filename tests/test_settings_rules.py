"""Every settings rule, each triggered by a test that reads its whole message, with its boundary tried on both
sides; the schema's building blocks on their own; and the defaults and constants users rely on.

Complements test_settings.py (the stack files and a first pass over bad input). `make mutate MODULE=settings`
measures how much of settings.py and schema.py these tests pin."""

import contextvars
import copy
import dataclasses
import functools
import json
import types
from typing import Literal

import pytest

from n8n_platform import schema, settings, vocabulary
from n8n_platform.database import spec as database_spec
from n8n_platform.n8n import spec as n8n_spec
from n8n_platform.schema import MISSING, Problem, SettingsError, setting
from n8n_platform.settings import from_config
from tests.harness import load_stack_config
from tools import offline

# --- helpers ------------------------------------------------------------------------------------------------------

# The dev stack moved off EKS: a kubeconfig, no spot pool, the Gateway edge. Valid as it stands.
PORTABLE = {"cluster": {"name": None, "kubeconfig": "/etc/kube/config"}, "workerPool": {"enabled": False},
            "edge": {"controller": "gateway"}}


@functools.cache
def _stack(stack: str) -> dict:
    return load_stack_config(stack)[0]


def raw_config(stack: str, *overrides: dict) -> dict:
    """The stack's raw config with ``overrides`` merged in order (None deletes a key); the files are read once."""
    raw = copy.deepcopy(_stack(stack))
    for override in overrides:
        offline._merge(raw, override)
    return raw


def lines(stack: str, *overrides: dict) -> list[str]:
    """Every problem `stack` with ``overrides`` has, one line each as the user reads them ([] when valid)."""
    try:
        from_config(raw_config(stack, *overrides))
    except SettingsError as error:
        assert str(error).splitlines()[1:] == [f"  - {p}" for p in error.problems]
        return [str(p) for p in error.problems]
    return []


def valid(stack: str, *overrides: dict) -> settings.Settings:
    return from_config(raw_config(stack, *overrides))


OIDC = {"issuer": "https://idp.example.com", "authorizationEndpoint": "https://idp.example.com/authorize",
        "tokenEndpoint": "https://idp.example.com/token", "userInfoEndpoint": "https://idp.example.com/userinfo",
        "clientId": "n8n"}


# --- cross-field rules: (stack, overrides, the exact line), and a neighbour that stays valid ----------------------

RULES = [
    ("both-cluster-sources", "dev", {"cluster": {"kubeconfig": "/etc/kube/config"}},
     "n8n:cluster.name = 'platform-dev': set exactly one of cluster.name (EKS lookup) and cluster.kubeconfig"),
    ("no-cluster-source", "dev", {"cluster": {"name": None}},
     "n8n:cluster.name = None: set exactly one of cluster.name (EKS lookup) and cluster.kubeconfig"),
    ("context-without-kubeconfig", "dev", {"cluster": {"context": "admin@dev"}},
     "n8n:cluster.context = 'admin@dev': only valid together with cluster.kubeconfig"),
    ("rds-without-vpc-id", "dev", {"database": {"engine": "rds"}, "cluster": {"vpcId": None}},
     "n8n:cluster.vpcId = None: database.engine 'rds' and redis.mode 'elasticache' need cluster.vpcId, "
     "cluster.vpcCidr, cluster.privateSubnetIds and cluster.nodeSecurityGroupId"),
    ("rds-without-vpc-cidr", "dev", {"database": {"engine": "rds"}, "cluster": {"vpcCidr": None}},
     "n8n:cluster.vpcId = 'vpc-0a1b2c3d4e5f60718': database.engine 'rds' and redis.mode 'elasticache' need "
     "cluster.vpcId, cluster.vpcCidr, cluster.privateSubnetIds and cluster.nodeSecurityGroupId"),
    ("rds-without-subnets", "dev", {"database": {"engine": "rds"}, "cluster": {"privateSubnetIds": []},
                                    "workerPool": {"enabled": False}},
     "n8n:cluster.vpcId = 'vpc-0a1b2c3d4e5f60718': database.engine 'rds' and redis.mode 'elasticache' need "
     "cluster.vpcId, cluster.vpcCidr, cluster.privateSubnetIds and cluster.nodeSecurityGroupId"),
    ("elasticache-without-node-security-group", "dev", {"redis": {"mode": "elasticache"},
                                                        "cluster": {"nodeSecurityGroupId": None}},
     "n8n:cluster.vpcId = 'vpc-0a1b2c3d4e5f60718': database.engine 'rds' and redis.mode 'elasticache' need "
     "cluster.vpcId, cluster.vpcCidr, cluster.privateSubnetIds and cluster.nodeSecurityGroupId"),
    ("rds-off-eks", "dev", PORTABLE, {"database": {"engine": "rds"}},
     "n8n:cluster.name = None: RDS and ElastiCache are created only for an EKS cluster (cluster.name)"),
    ("elasticache-off-eks", "dev", PORTABLE, {"redis": {"mode": "elasticache"}},
     "n8n:cluster.name = None: RDS and ElastiCache are created only for an EKS cluster (cluster.name)"),
    ("multi-main-without-license", "dev", {"n8n": {"multiMain": True, "main": {"replicas": 2, "maxReplicas": 2}}},
     "n8n:n8n.multiMain = True: multi-main needs an Enterprise license: set the secret n8n:licenseActivationKey"),
    ("no-main-unlicensed", "dev", {"n8n": {"main": {"replicas": 0}}},
     "n8n:n8n.main.replicas = 0: must be 1 unless n8n.multiMain is true (licensed)"),
    ("two-mains-unlicensed", "dev", {"n8n": {"main": {"replicas": 2, "maxReplicas": 2}}},
     "n8n:n8n.main.replicas = 2: must be 1 unless n8n.multiMain is true (licensed)"),
    ("multi-main-with-one-replica", "dev", {"licenseActivationKey": "licence", "n8n": {"multiMain": True}},
     "n8n:n8n.main.replicas = 1: multi-main needs at least 2 replicas"),
    ("main-max-below-replicas", "dev", {"licenseActivationKey": "licence",
                                        "n8n": {"multiMain": True, "main": {"replicas": 3, "maxReplicas": 2}}},
     "n8n:n8n.main.maxReplicas = 2: must be at least n8n.main.replicas (3)"),
    ("webhook-max-below-replicas", "dev", {"n8n": {"webhook": {"replicas": 3, "maxReplicas": 2}}},
     "n8n:n8n.webhook.maxReplicas = 2: must be at least n8n.webhook.replicas (3)"),
    ("worker-min-above-max", "dev", {"n8n": {"worker": {"minReplicas": 4, "maxReplicas": 3}}},
     "n8n:n8n.worker.minReplicas = 4: must not exceed n8n.worker.maxReplicas (3)"),
    ("public-schema", "dev", {"database": {"schema": "public"}},
     "n8n:database.schema = 'public': must be a dedicated schema; n8n's role owns it and nothing else"),
    ("rds-max-storage-below-allocated", "prod", {"database": {"rds": {"maxAllocatedStorageGb": 99}}},
     "n8n:database.rds.maxAllocatedStorageGb = 99: must be at least database.rds.allocatedStorageGb (100)"),
    ("synchronous-single-member", "dev", {"database": {"patroni": {"members": 1, "synchronous": True}}},
     "n8n:database.patroni.synchronous = True: synchronous replication needs database.patroni.members >= 2"),
    ("restore-into-its-source", "dev", {"database": {"patroni": {"restore": {
        "sourceCluster": "n8n-postgres", "targetTime": "2026-11-20T03:00:00Z"}}}},
     "n8n:database.patroni.restore.sourceCluster = 'n8n-postgres': must differ from database.patroni.clusterName: "
     "restore into a new cluster so both keep their archive"),
    ("restore-off-eks", "dev", PORTABLE, {"database": {"patroni": {"restore": {
        "sourceCluster": "n8n-old", "targetTime": "2026-11-20T03:00:00Z"}}}},
     "n8n:database.patroni.restore = '(set)': restoring from the WAL archive needs an EKS cluster (cluster.name)"),
    ("single-patroni-member", "dev", {"database": {"patroni": {"members": 1}}},
     "n8n:database.patroni.members = 1: must be 2 or more: the operator's PodDisruptionBudget keeps the primary "
     "(minAvailable 1), which a single member can never satisfy, so node drains would block"),
    ("prod-two-patroni-members", "prod", {"database": {"engine": "patroni", "patroni": {"members": 2}}},
     "n8n:database.patroni.members = 2: prod needs 3 or more members: with 2, one failover or node drain leaves "
     "no standby"),
    ("prod-single-cache-node", "prod", {"redis": {"elasticache": {"nodes": 1}}},
     "n8n:redis.elasticache.nodes = 1: prod needs 2 or more nodes for Multi-AZ failover"),
    ("alb-without-certificate", "dev", {"edge": {"certificateArn": None}},
     "n8n:edge.certificateArn = None: edge.controller 'alb': the ALB terminates TLS with an ACM certificate: set "
     "edge.certificateArn, or edge.zoneId to have the stack request one"),
    ("gateway-without-acme-email", "dev", {"edge": {"controller": "gateway", "acmeEmail": None}},
     "n8n:edge.acmeEmail = None: edge.controller 'gateway' issues certificates with ACME: set a contact e-mail"),
    ("alb-off-eks", "dev", PORTABLE, {"edge": {"controller": "alb"}},
     "n8n:edge.controller = 'alb': the AWS Load Balancer Controller needs an EKS cluster (cluster.name)"),
    ("spot-pool-off-eks", "dev", PORTABLE, {"workerPool": {"enabled": True}},
     "n8n:workerPool.enabled = True: the spot node group needs an EKS cluster (cluster.name)"),
    ("spot-pool-without-subnets", "dev", {"cluster": {"privateSubnetIds": []}},
     "n8n:cluster.privateSubnetIds = []: the spot worker pool needs subnets"),
    ("graviton-types", "dev", {"workerPool": {"instanceTypes": ["m6i.large", "c6gn.large", "m5.large", "r7gd.large"]}},
     "n8n:workerPool.instanceTypes = ['m6i.large', 'c6gn.large', 'm5.large', 'r7gd.large']: x86_64 instance types "
     "only (the node group uses the x86_64 AMI); Graviton types given: ['c6gn.large', 'r7gd.large']"),
    ("two-distinct-types", "dev", {"workerPool": {"instanceTypes": ["m6i.large", "m6a.large", "m6i.large"]}},
     "n8n:workerPool.instanceTypes = ['m6i.large', 'm6a.large', 'm6i.large']: list 3 or more distinct instance "
     "types of similar size (spot capacity diversification)"),
    ("shutdown-past-the-spot-notice", "dev", {"n8n": {"gracefulShutdownSeconds": 101}},
     "n8n:n8n.gracefulShutdownSeconds = 101: at most 100 with the spot worker pool: a worker's grace period "
     "(shutdown + 15 s) must end inside the two-minute spot interruption notice"),
    ("desired-below-min", "dev", {"workerPool": {"minNodes": 2, "maxNodes": 3, "desiredNodes": 1}},
     "n8n:workerPool.desiredNodes = 1: must lie between workerPool.minNodes (2) and workerPool.maxNodes (3)"),
    ("desired-above-max", "dev", {"workerPool": {"minNodes": 0, "maxNodes": 2, "desiredNodes": 3}},
     "n8n:workerPool.desiredNodes = 3: must lie between workerPool.minNodes (0) and workerPool.maxNodes (2)"),
    # edge (#8)
    ("alb-without-a-source-cidr", "dev", {"cluster": {"vpcCidr": None}},
     "n8n:edge.subnetCidrs = []: edge.controller 'alb' sends traffic from its subnets to the pods: set "
     "edge.subnetCidrs or cluster.vpcCidr so the network policy can admit it"),
    ("zone-on-gateway", "dev", {"edge": {"controller": "gateway", "zoneId": "Z0123456789ABC"}},
     "n8n:edge.zoneId = 'Z0123456789ABC': only with edge.controller 'alb' (the gateway's certificate comes from "
     "ACME)"),
    ("oidc-on-gateway", "dev", {"edge": {"controller": "gateway", "oidc": OIDC}, "oidcClientSecret": "s3cret"},
     "n8n:edge.oidc = '(set)': OIDC in front of the editor needs edge.controller 'alb' (authenticate-oidc)"),
    ("oidc-without-secret", "dev", {"edge": {"oidc": OIDC}},
     "n8n:oidcClientSecret = None: edge.oidc needs its client secret: pulumi config set --secret "
     "n8n:oidcClientSecret ..."),
    ("secret-without-oidc", "dev", {"oidcClientSecret": "s3cret"},
     "n8n:oidcClientSecret = '(secret)': only valid together with edge.oidc"),
    ("alb-allow-list-without-waf", "dev", {"edge": {"editorAllowedCidrs": ["203.0.113.0/24"]}},
     "n8n:edge.editorAllowedCidrs = ['203.0.113.0/24']: on the ALB the allow-list is a WAF rule scoped to the "
     "editor paths: set edge.waf true (an ALB-wide CIDR list would also lock out webhooks)"),
    ("prod-alb-without-waf", "prod", {"edge": {"waf": False, "editorAllowedCidrs": []}},
     "n8n:edge.waf = False: prod needs the WAF (rate limits on login and API, managed rule groups)"),
    ("login-limit-above-api", "dev", {"edge": {"rateLimits": {"loginPerMinute": 601}}},
     "n8n:edge.rateLimits = {'loginPerMinute': 601, 'apiPerMinute': 600, 'webhookPerMinute': 1200}: must be "
     "ordered loginPerMinute <= apiPerMinute <= webhookPerMinute"),
    ("api-limit-above-webhooks", "dev", {"edge": {"rateLimits": {"apiPerMinute": 1201}}},
     "n8n:edge.rateLimits = {'loginPerMinute': 10, 'apiPerMinute': 1201, 'webhookPerMinute': 1200}: must be "
     "ordered loginPerMinute <= apiPerMinute <= webhookPerMinute"),
    ("cooldown-equal-to-shutdown", "dev", {"n8n": {"gracefulShutdownSeconds": 90},
                                           "autoscaling": {"cooldownSeconds": 90}},
     "n8n:autoscaling.cooldownSeconds = 90: must exceed n8n.gracefulShutdownSeconds (90)"),
]


@pytest.mark.parametrize("case", RULES, ids=[case[0] for case in RULES])
def test_each_cross_field_rule_names_the_key_the_value_and_what_is_allowed(case):
    _, stack, *overrides, expected = case
    assert expected in lines(stack, *overrides)


# The same rules just inside their boundary, or with what makes them hold: no problem at all.
ALLOWED = [
    ("kubeconfig-only", "dev", PORTABLE),
    ("kubeconfig-with-context", "dev", PORTABLE, {"cluster": {"context": "admin@dev"}}),
    ("patroni-and-in-cluster-redis-need-no-vpc", "dev", {"cluster": {"vpcId": None, "nodeSecurityGroupId": None}}),
    ("licensed-multi-main-with-two-replicas", "dev", {"licenseActivationKey": "licence",
                                                      "n8n": {"multiMain": True, "main": {"replicas": 2,
                                                                                          "maxReplicas": 2}}}),
    ("webhook-max-equal-to-replicas", "dev", {"n8n": {"webhook": {"replicas": 2, "maxReplicas": 2}}}),
    ("worker-min-equal-to-max", "dev", {"n8n": {"worker": {"minReplicas": 3, "maxReplicas": 3}}}),
    ("rds-max-storage-equal-to-allocated", "prod", {"database": {"rds": {"maxAllocatedStorageGb": 100}}}),
    ("synchronous-with-two-members", "dev", {"database": {"patroni": {"members": 2, "synchronous": True}}}),
    ("patroni-rules-wait-for-engine-patroni", "prod", {"database": {"patroni": {"members": 1}}}),
    ("restore-from-another-cluster", "dev", {"database": {"patroni": {"restore": {
        "sourceCluster": "n8n-old", "targetTime": "2026-11-20T03:00:00Z"}}}}),
    ("prod-three-patroni-members", "prod", {"database": {"engine": "patroni", "patroni": {"members": 3}}}),
    ("dev-single-cache-node", "dev", {"redis": {"mode": "elasticache", "elasticache": {"nodes": 1}}}),
    ("prod-in-cluster-redis", "prod", {"redis": {"mode": "in-cluster", "elasticache": {"nodes": 1}}}),
    ("gateway-without-certificate", "dev", {"edge": {"controller": "gateway", "certificateArn": None}}),
    ("alb-without-acme-email", "dev", {"edge": {"acmeEmail": None}}),
    ("no-pool-no-subnets", "dev", {"workerPool": {"enabled": False}, "cluster": {"privateSubnetIds": []}}),
    ("three-distinct-types", "dev", {"workerPool": {"instanceTypes": ["m6i.large", "m6a.large", "m5.large"]}}),
    ("shutdown-exactly-at-the-spot-limit", "dev", {"n8n": {"gracefulShutdownSeconds": 100},
                                                   "autoscaling": {"cooldownSeconds": 101}}),
    ("long-shutdown-without-the-spot-pool", "dev", {"workerPool": {"enabled": False},
                                                    "n8n": {"gracefulShutdownSeconds": 600},
                                                    "autoscaling": {"cooldownSeconds": 601}}),
    ("desired-at-min", "dev", {"workerPool": {"minNodes": 1, "maxNodes": 2, "desiredNodes": 1}}),
    ("desired-at-max", "dev", {"workerPool": {"minNodes": 1, "maxNodes": 2, "desiredNodes": 2}}),
    ("alb-with-a-zone-instead-of-a-certificate", "dev", {"edge": {"certificateArn": None,
                                                                   "zoneId": "Z0123456789ABC"}}),
    ("alb-with-subnet-cidrs-instead-of-the-vpc", "dev", {"cluster": {"vpcCidr": None},
                                                          "edge": {"subnetCidrs": ["10.10.0.0/24"]}}),
    ("oidc-with-its-secret", "dev", {"edge": {"oidc": OIDC}, "oidcClientSecret": "s3cret"}),
    ("alb-allow-list-with-waf", "dev", {"edge": {"editorAllowedCidrs": ["203.0.113.0/24"], "waf": True}}),
    ("gateway-allow-list-needs-no-waf", "dev", PORTABLE, {"edge": {"editorAllowedCidrs": ["203.0.113.0/24"]}}),
    ("prod-gateway-without-waf", "prod", {"edge": {"controller": "gateway", "waf": False,
                                                   "acmeEmail": "ops@example.com"}}),
    ("equal-rate-limits", "dev", {"edge": {"rateLimits": {"loginPerMinute": 600, "apiPerMinute": 600,
                                                          "webhookPerMinute": 600}}}),
    ("cooldown-one-second-longer", "dev", {"n8n": {"gracefulShutdownSeconds": 90},
                                           "autoscaling": {"cooldownSeconds": 91}}),
]


@pytest.mark.parametrize("case", ALLOWED, ids=[case[0] for case in ALLOWED])
def test_settings_just_inside_each_rule_are_accepted(case):
    _, stack, *overrides = case
    assert lines(stack, *overrides) == []


def test_a_portable_stack_is_not_on_eks_and_an_eks_stack_is():
    assert valid("dev", PORTABLE).on_eks is False
    assert valid("dev").on_eks is True


# --- resources: every container, both rules, both sides ---------------------------------------------------------

CONTAINERS = {  # message key -> where it is set
    "n8n.main.resources": ("n8n", "main", "resources"),
    "n8n.webhook.resources": ("n8n", "webhook", "resources"),
    "n8n.worker.resources": ("n8n", "worker", "resources"),
    "n8n.runners": ("n8n", "runners"),
    "database.patroni.resources": ("database", "patroni", "resources"),
    "database.pooler.resources": ("database", "pooler", "resources"),
}


def test_every_container_the_settings_size_is_checked():
    rows = schema.describe(settings.Settings)
    assert {r["key"].removesuffix(".cpuRequest") for r in rows if r["key"].endswith(".cpuRequest")} == set(CONTAINERS)


def at(path: tuple[str, ...], value: dict) -> dict:
    for part in reversed(path):
        value = {part: value}
    return value


@pytest.mark.parametrize("key", CONTAINERS)
def test_a_request_above_its_limit_is_named_per_container(key):
    path = CONTAINERS[key]
    cpu = lines("dev", at(path, {"cpuRequest": "1001m", "cpuLimit": "1"}))
    assert f"n8n:{key}.cpuRequest = '1001m': must not exceed {key}.cpuLimit (1)" in cpu
    memory = lines("dev", at(path, {"memoryRequest": "1025Mi", "memoryLimit": "1Gi"}))
    assert f"n8n:{key}.memoryRequest = '1025Mi': must not exceed {key}.memoryLimit (1Gi)" in memory
    assert lines("dev", at(path, {"cpuRequest": "1000m", "cpuLimit": "1", "memoryRequest": "1024Mi",
                                  "memoryLimit": "1Gi"})) == []


@pytest.mark.parametrize("key", ["n8n.main.resources", "n8n.webhook.resources", "n8n.worker.resources"])
def test_n8n_containers_need_at_least_256Mi(key):
    path = CONTAINERS[key]
    small = {"memoryRequest": "128Mi", "memoryLimit": "255Mi"}
    assert f"n8n:{key}.memoryLimit = '255Mi': n8n needs at least 256Mi" in lines("dev", at(path, small))
    assert lines("dev", at(path, {"memoryRequest": "128Mi", "memoryLimit": "256Mi"})) == []


@pytest.mark.parametrize("key", ["n8n.runners", "database.patroni.resources"])
def test_the_256Mi_floor_is_only_for_n8n_itself(key):
    assert lines("dev", at(CONTAINERS[key], {"memoryRequest": "64Mi", "memoryLimit": "128Mi"})) == []


# --- per-field rules at their boundaries --------------------------------------------------------------------------

FIELD_BOUNDS = [  # overrides at the edge that passes, the same key one step beyond, the exact line
    ({"n8n": {"worker": {"concurrency": 5}}}, {"n8n": {"worker": {"concurrency": 4}}},
     "n8n:n8n.worker.concurrency = 4: must be between 5 and 200"),
    ({"n8n": {"worker": {"concurrency": 200}}}, {"n8n": {"worker": {"concurrency": 201}}},
     "n8n:n8n.worker.concurrency = 201: must be between 5 and 200"),
    ({"n8n": {"executionMaxCount": 100}}, {"n8n": {"executionMaxCount": 99}},
     "n8n:n8n.executionMaxCount = 99: must be at least 100"),
    ({"autoscaling": {"cooldownSeconds": 30}, "n8n": {"gracefulShutdownSeconds": 10}},
     {"autoscaling": {"cooldownSeconds": 29}, "n8n": {"gracefulShutdownSeconds": 10}},
     "n8n:autoscaling.cooldownSeconds = 29: must be at least 30"),
    ({"encryptionKey": "k" * 32}, {"encryptionKey": "k" * 31},
     "n8n:encryptionKey = '(secret)': must be at least 32 characters"),
    ({"database": {"rds": {"performanceInsightsRetentionDays": 62}}},
     {"database": {"rds": {"performanceInsightsRetentionDays": 63}}},
     "n8n:database.rds.performanceInsightsRetentionDays = 63: must be 7, 731 or a multiple of 31"),
    ({"database": {"rds": {"monitoringIntervalSeconds": 1}}}, {"database": {"rds": {"monitoringIntervalSeconds": 2}}},
     "n8n:database.rds.monitoringIntervalSeconds = 2: must be one of 1, 5, 10, 15, 30, 60"),
    ({"database": {"rds": {"engineVersion": "16"}}}, {"database": {"rds": {"engineVersion": "15"}}},
     "n8n:database.rds.engineVersion = '15': must be '16' or '17' (the major version only)"),
    ({"database": {"patroni": {"postgresVersion": "16"}}}, {"database": {"patroni": {"postgresVersion": "18"}}},
     "n8n:database.patroni.postgresVersion = '18': must be '16' or '17'"),
    ({"licenseActivationKey": "x"}, {"licenseActivationKey": "", "n8n": {"timezone": ""}},
     "n8n:n8n.timezone = '': must not be empty"),
]


@pytest.mark.parametrize(("inside", "beyond", "expected"), FIELD_BOUNDS,
                         ids=[c[2].split(" =")[0] for c in FIELD_BOUNDS])
def test_field_rules_hold_exactly_at_their_bounds(inside, beyond, expected):
    assert lines("prod", inside) == []
    assert lines("prod", beyond) == [expected]


def test_performance_insights_accepts_its_three_kinds_of_retention():
    for days in (7, 731, 31, 93):
        assert lines("prod", {"database": {"rds": {"performanceInsightsRetentionDays": days}}}) == []


# --- the defaults: the safe production choice, and what the docs promise -----------------------------------------

def test_defaults_are_the_safe_production_choice():
    d = settings.Settings(environment="prod", aws=settings.AwsSettings(region="eu-west-1"),
                          edge=settings.EdgeSettings(hostname="n8n.example.com"))
    assert (d.namespace, d.protect, d.encryption_key, d.license_activation_key) == ("n8n", True, None, None)
    assert (d.database.engine, d.database.rds.multi_az, d.database.rds.engine_version) == ("rds", True, "17")
    assert (d.database.rds.backup_retention_days, d.database.rds.allocated_storage_gb) == (14, 100)
    assert d.database.rds.max_allocated_storage_gb is None
    assert (d.database.name, d.database.user, d.database.schema) == ("n8n", "n8n", "n8n")
    assert (d.database.connection_limit, d.database.statement_timeout_seconds) == (200, 300)
    pat = d.database.patroni
    assert (pat.cluster_name, pat.members, pat.synchronous, pat.postgres_version) == ("n8n-postgres", 3, True, "17")
    assert (pat.base_backup_schedule, pat.base_backups_to_retain, pat.restore) == ("0 1 * * *", 7, None)
    assert d.redis.mode == "elasticache" and d.redis.elasticache.nodes == 2 and d.redis.elasticache.engine == "valkey"
    assert d.redis.in_cluster.memory == "1Gi" and d.redis.in_cluster.image.startswith("docker.io/library/redis:7")
    n8n = d.n8n
    assert (n8n.version, n8n.multi_main, n8n.log_level, n8n.timezone) == (n8n_spec.N8N_VERSION, False, "info", "UTC")
    assert (n8n.main.replicas, n8n.main.max_replicas) == (1, 1)
    assert (n8n.webhook.replicas, n8n.webhook.max_replicas) == (2, 10)
    assert (n8n.worker.min_replicas, n8n.worker.max_replicas, n8n.worker.concurrency) == (3, 20, 10)
    assert (n8n.graceful_shutdown_seconds, n8n.execution_max_age_hours, n8n.execution_max_count) == (60, 336, 50000)
    assert n8n.image == "docker.n8n.io/n8nio/n8n" and n8n.runners_image == "docker.n8n.io/n8nio/runners"
    assert (d.edge.controller, d.edge.acme_server, d.edge.waf, d.edge.editor_allowed_cidrs) == (
        "alb", "production", True, [])
    rate = d.edge.rate_limits
    assert (rate.webhook_per_minute, rate.api_per_minute, rate.login_per_minute) == (1200, 600, 10)
    assert (d.backups.pitr_days, d.backups.dumps, d.backups.dump_retention_days) == (14, True, 35)
    assert d.worker_pool.enabled and len(set(d.worker_pool.instance_types)) >= 3
    assert (d.autoscaling.keda, d.autoscaling.jobs_per_worker, d.autoscaling.cooldown_seconds) == (True, 0, 300)
    assert all(dataclasses.astuple(d.addons)) and len(dataclasses.fields(d.addons)) >= 6
    assert d.observability.enabled and d.observability.prometheus_release == "kube-prometheus-stack"
    assert d.cluster.kubernetes_version == "1.33" and d.cluster.private_subnet_ids == []


def test_the_defaults_pass_their_own_rules():
    """A prod stack that sets only what is required is valid: every default satisfies every rule."""
    raw = {"environment": "prod", "aws": {"region": "eu-west-1"},
           "cluster": {"name": "c", "vpcId": "vpc-0a1b2c3d", "vpcCidr": "10.0.0.0/16",
                       "privateSubnetIds": ["subnet-0a1b2c3d"], "nodeSecurityGroupId": "sg-0a1b2c3d"},
           "edge": {"hostname": "n8n.example.com", "certificateArn": "arn:aws:acm:eu-west-1:1:certificate/x"}}
    assert from_config(raw).n8n.worker.resources == vocabulary.resources("500m", "2", "1Gi", "2Gi")


def test_role_defaults_differ_per_role_and_containers_fit_their_limits():
    n8n = settings.N8nSettings()
    assert n8n.main.resources == vocabulary.resources("500m", "2", "1Gi", "2Gi")
    assert n8n.webhook.resources == vocabulary.resources("250m", "1", "512Mi", "1Gi")
    assert n8n.runners == vocabulary.resources("100m", "1", "256Mi", "512Mi")
    assert vocabulary.Resources() == vocabulary.resources("250m", "1", "512Mi", "1Gi")
    assert database_spec.PatroniSettings().resources == vocabulary.resources("500m", "2", "2Gi", "4Gi")


def test_constants():
    assert settings.NAMESPACE == "n8n"
    assert n8n_spec.N8N_VERSION == "2.40.7"  # the version the real-n8n e2e test installs and runs
    assert settings.SPOT_SAFE_SHUTDOWN_SECONDS + 15 < 120 and settings.SPOT_SAFE_SHUTDOWN_SECONDS >= 100
    assert settings.secret_keys() == ["encryptionKey", "licenseActivationKey", "oidcClientSecret"]



@pytest.mark.parametrize(("key", "value", "allowed"), [
    ("encryptionKey", "a-short-secret", "must be at least 32 characters"),
    ("encryptionKey", 12345678901234567890, "must be a string"),
    ("licenseActivationKey", ["lic-secret"], "must be a string"),
])
def test_a_problem_with_a_secret_names_the_key_never_the_value(key, value, allowed):
    shown = lines("dev", {key: value})
    assert f"n8n:{key} = '(secret)': {allowed}" in shown
    assert not [line for line in shown if str(value) in line]


@pytest.mark.parametrize(("instance_type", "arm"), [
    ("m7g.xlarge", True), ("c6gn.large", True), ("r7gd.2xlarge", True), ("t4g.small", True), ("x2gd.large", True),
    ("m6i.xlarge", False), ("m6a.large", False), ("m5.large", False), ("t3a.large", False), ("g5.xlarge", False),
    ("c7i.large", False), ("inf2.xlarge", False),
])
def test_graviton_families_are_recognised(instance_type, arm):
    assert bool(settings.GRAVITON.match(instance_type)) is arm


@pytest.mark.parametrize(("rule", "good", "bad"), [
    (vocabulary.SUBNET_ID, ["subnet-0a1b2c3d", "subnet-0a1b2c3d4e5f60718"], ["subnet-0a1b2c3", "subnet-0A1B2C3D",
                                                                          "subnet-0a1b2c3d4e5f607189", "sg-0a1b2c3d"]),
    (settings.INSTANCE_TYPE, ["m6i.large", "c6gn.2xlarge", "u-6tb1.metal"], ["M6i.large", "m6i", "6i.large"]),
])
def test_module_level_id_rules(rule, good, bad):
    assert [rule(v) for v in good] == [None] * len(good)
    assert all(rule(v) is not None for v in bad)


@pytest.mark.parametrize(("value", "why"), [
    ("203.0.113.0/24", None), ("2001:db8::/32", None), ("0.0.0.0/0", None),
    ("10.0.0.1/8", "must be a CIDR with zero host bits, such as 203.0.113.0/24 or 2001:db8::/32"),
    ("not a network", "must be a CIDR with zero host bits, such as 203.0.113.0/24 or 2001:db8::/32"),
    ("10.0.0.1", "must be a CIDR with a prefix length, such as 203.0.113.0/24"),
])
def test_cidr_rule(value, why):
    assert vocabulary.cidr(value) == why


# --- reading Pulumi config ----------------------------------------------------------------------------------------

def test_load_reads_the_n8n_namespace_from_the_engine(monkeypatch):
    from pulumi.runtime import config as runtime_config

    raw, _ = load_stack_config("dev")
    engine = {"aws:region": "us-east-1"}  # another namespace, first: skipped, and reading goes on
    engine |= {f"n8n:{key}": json.dumps(value) if isinstance(value, (dict, list)) else str(value)
               for key, value in raw.items()}
    engine["n8n:config:namespace"] = engine.pop("n8n:namespace")  # Pulumi's legacy `n8n:config:key` form
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(engine))

    def read() -> settings.Settings:
        runtime_config.CONFIG.set({"n8n:n8n": json.dumps({"logLevel": "warn"})})  # set by the engine: wins
        return settings.load()

    loaded = contextvars.copy_context().run(read)
    assert loaded == from_config({**raw, "n8n": {"logLevel": "warn"}})
    assert loaded.namespace == "n8n-dev" and loaded.protect is False and loaded.n8n.log_level == "warn"


@pytest.mark.parametrize(("text", "value"), [
    ('{"engine": "rds"}', {"engine": "rds"}), ('["a", "b"]', ["a", "b"]), ("3", "3"), ("true", "true"),
    ('"quoted"', '"quoted"'), ("not json", "not json"), ("", ""),
])
def test_structured_values_are_decoded_and_scalars_kept_as_text(text, value):
    assert settings._decode(text) == value


# --- the schema's building blocks ---------------------------------------------------------------------------------
# Sections are declared inside a fixture, not at import: a mutation tool that switches mutants per test sees only
# code that runs during the test (declarations at import time ran before any mutant was active). This module has no
# `from __future__ import annotations`, so their annotations are the classes themselves, resolvable from here.

@pytest.fixture
def sec():
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Inner:
        """A nested section."""

        size: int = setting("How big.", 1, check=schema.at_least(1))
        tags: list[str] = setting("Tags.", ["a"])

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Outer:
        """A top-level section."""

        name: str = setting("The name.")
        mode: Literal["fast", "safe"] = setting("Mode.", "safe")
        ratio: float = setting("A ratio.", 0.5)
        on: bool = setting("Switch.", False)
        note: str | None = setting("A note.", None, check=schema.non_empty, secret=True)
        limits: dict[str, int] = setting("Limits.", {})
        ports: list[int] = setting("Ports.", [])
        inner_part: Inner = setting("The inner part.", Inner(size=2))

    def parse(raw):
        problems: list[Problem] = []
        return schema.parse(Outer, raw, "", problems), [str(p) for p in problems]

    return types.SimpleNamespace(Inner=Inner, Outer=Outer, parse=parse)


def test_setting_records_doc_rule_and_secrecy(sec):
    fields = {f.name: f for f in dataclasses.fields(sec.Outer)}
    assert fields["note"].metadata == {"doc": "A note.", "check": schema.non_empty, "secret": True}
    assert fields["mode"].metadata == {"doc": "Mode.", "check": None, "secret": False}
    assert fields["mode"].default == "safe" and fields["name"].default is MISSING
    assert fields["name"].default_factory is MISSING


def test_parse_fills_defaults_from_the_enclosing_field(sec):
    value, problems = sec.parse({"name": "x"})
    assert problems == []
    assert value == sec.Outer(name="x", inner_part=sec.Inner(size=2, tags=["a"]))
    partly, _ = sec.parse({"name": "x", "innerPart": {"tags": []}})
    assert partly.inner_part == sec.Inner(size=2, tags=[])


def test_mutable_defaults_are_copied_per_instance(sec):
    first, second = sec.Outer(name="a"), sec.Outer(name="b")
    assert first.ports == [] and first.ports is not second.ports and first.limits is not second.limits
    assert first.limits == {} and sec.Inner().tags == ["a"] and sec.Inner().tags is not sec.Inner().tags
    parsed, _ = sec.parse({"name": "x"})
    assert parsed.inner_part.tags == ["a"] and parsed.inner_part.tags is not sec.Inner().tags
    assert schema._copy([1]) == [1] and schema._copy({"a": 1}) == {"a": 1} and schema._copy("s") == "s"


def test_parse_reports_every_problem_with_its_path(sec):
    value, problems = sec.parse({"mode": "slow", "extra": 1, "innerPart": {"size": 0, "colour": "red"},
                                 "ports": [80, "http"], "limits": {"cpu": "lots"}, "ratio": True, "on": "yes"})
    assert value is None
    assert problems == [
        "extra = 1: unknown key; allowed keys: name, mode, ratio, on, note, limits, ports, innerPart",
        "name = (not set): required: The name.",
        "mode = 'slow': must be one of 'fast', 'safe'",
        "ratio = True: must be a number",
        "on = 'yes': must be a boolean (true or false)",
        "limits.cpu = 'lots': must be a whole number",
        "ports[1] = 'http': must be a whole number",
        "innerPart.colour = 'red': unknown key; allowed keys: size, tags",
        "innerPart.size = 0: must be at least 1",
    ]


def test_parse_wants_objects_lists_and_maps_where_declared(sec):
    assert sec.parse("text")[1] == [
        "(config) = 'text': must be an object with the keys name, mode, ratio, on, note, limits, ports, innerPart"]
    assert sec.parse({"name": "x", "innerPart": 3})[1] == [
        "innerPart = 3: must be an object with the keys size, tags"]
    assert sec.parse({"name": "x", "ports": 80})[1] == ["ports = 80: must be a list of a whole number"]
    assert sec.parse({"name": "x", "limits": [1]})[1] == ["limits = [1]: must be an object of a whole number values"]


def test_strings_from_the_cli_become_numbers_and_booleans(sec):
    value, problems = sec.parse({"name": "x", "ratio": "-2.5", "on": "TRUE", "ports": ["-1", 2],
                                 "innerPart": {"size": "7"}, "limits": {"a": "3"}})
    assert problems == []
    assert (value.ratio, value.on, value.ports, value.inner_part.size, value.limits) == (-2.5, True, [-1, 2], 7,
                                                                                         {"a": 3})
    assert sec.parse({"name": "x", "on": "False"})[0].on is False
    assert sec.parse({"name": "x", "on": True})[0].on is True
    assert sec.parse({"name": "x", "ratio": 2})[0].ratio == 2.0
    assert sec.parse({"name": "x", "ratio": "3"})[0].ratio == 3.0
    assert sec.parse({"name": "x", "ports": ["1.5"]})[1] == ["ports[0] = '1.5': must be a whole number"]
    assert sec.parse({"name": "x", "ports": [True]})[1] == ["ports[0] = True: must be a whole number"]
    assert sec.parse({"name": "x", "ratio": "1."})[1] == ["ratio = '1.': must be a number"]
    assert sec.parse({"name": 3})[1] == ["name = 3: must be a string"]


def test_an_empty_optional_is_unset_but_an_empty_required_string_is_checked(sec):
    assert sec.parse({"name": "x", "note": ""})[0].note is None
    assert sec.parse({"name": "x", "note": None})[0].note is None
    assert sec.parse({"name": "x", "note": "hi"})[0].note == "hi"
    assert sec.parse({"name": "", "note": "hi"})[0].name == ""


def test_a_rule_runs_only_on_a_value_of_the_right_type(sec):
    assert sec.parse({"name": "x", "innerPart": {"size": "big"}})[1] == [
        "innerPart.size = 'big': must be a whole number"]


def test_problem_and_error_text():
    assert str(Problem("a.b", MISSING, "required")) == "a.b = (not set): required"
    assert str(Problem("a", [1], "no")) == "a = [1]: no"
    error = SettingsError([Problem("a", 1, "x"), Problem("b", "y", "z")])
    assert str(error) == "invalid stack configuration (2 problem(s)):\n  - a = 1: x\n  - b = 'y': z"
    assert isinstance(error, ValueError) and len(error.problems) == 2


RULE_CASES = [  # (rule factory, its arguments, value, why) -- the rule is built inside the test
    ("at_least", (3,), 3, None), ("at_least", (3,), 2, "must be at least 3"),
    ("between", (1, 5), 1, None), ("between", (1, 5), 5, None),
    ("between", (1, 5), 0, "must be between 1 and 5"), ("between", (1, 5), 6, "must be between 1 and 5"),
    ("matches", ("[a-z]+", "letters"), "abc", None), ("matches", ("[a-z]+", "letters"), "abc1", "must be letters"),
    ("matches", ("[a-z]+", "letters"), "1abc", "must be letters"),
]


@pytest.mark.parametrize(("factory", "args", "value", "why"), RULE_CASES)
def test_rules(factory, args, value, why):
    assert getattr(schema, factory)(*args)(value) == why


def test_each_and_non_empty():
    each = schema.each(schema.at_least(2))
    assert (each([2, 3]), each([])) == (None, None)
    assert each([3, 1, 0]) == "every item must be at least 2 (bad item: 1)"
    letters = schema.each(schema.matches("[a-z]+", "letters"))
    assert letters(["ok", "NO"]) == "every item must be letters (bad item: 'NO')"
    assert (schema.non_empty("x"), schema.non_empty(""), schema.non_empty([])) == (
        None, "must not be empty", "must not be empty")


@pytest.mark.parametrize(("rule", "good", "bad"), [
    ("DNS_LABEL", ["a", "n8n-dev", "a" * 63, "0a"], ["", "-a", "a-", "A", "a" * 64, "a_b", "a.b"]),
    ("CPU", ["250m", "2", "0.5", "10"], ["", "m", "2.", "1.5m", "two", "-1", ".5"]),
    ("MEMORY", ["512Mi", "2Gi", "1Ti", "4Ki", "1000", "1k", "5M", "3G", "1T"], ["2GB", "1.5Gi", "Gi", "2gi", ""]),
    ("CRON", ["15 2 * * *", "*/5 * * * 1-5"], ["* * * *", "* * * * * *", "nightly", ""]),
])
def test_quantity_and_schedule_rules(rule, good, bad):
    check = getattr(schema, rule)
    assert [check(v) for v in good] == [None] * len(good)
    assert [v for v in bad if check(v) is None] == []


def test_quantities_in_every_unit():
    units = {"": 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9,
             "T": 10**12}
    assert {unit: schema.quantity_bytes(f"3{unit}") for unit in units} == {u: 3 * f for u, f in units.items()}
    assert (schema.cpu_millis("250m"), schema.cpu_millis("2"), schema.cpu_millis("0.5")) == (250, 2000, 500)


def test_names(sec):
    assert [schema.camel(n) for n in ("name", "private_subnet_ids", "a_b")] == ["name", "privateSubnetIds", "aB"]
    assert (schema.join("", "a"), schema.join("x.y", "a")) == ("a", "x.y.a")
    assert schema._plain(int | None) is int and schema._plain(int) is int and schema._plain(int | str) == int | str
    assert schema._name(sec.Inner) == "an object" and schema._name(Literal["a", "b"]) == "one of 'a', 'b'"
    assert schema._name(bytes) == str(bytes) and schema._name(int | None) == "a whole number"


def test_field_default_of_a_plain_a_factory_and_a_required_field(sec):
    fields = {f.name: f for f in dataclasses.fields(sec.Outer)}
    assert schema.field_default(fields["mode"]) == "safe"
    assert schema.field_default(fields["ports"]) == [] and schema.field_default(fields["name"]) is MISSING
    assert schema.field_default(fields["inner_part"]) == sec.Inner(size=2)


def test_describe_lists_every_setting_with_type_default_and_doc(sec):
    rows = schema.describe(sec.Outer, "top")
    assert rows == [
        {"key": "top.name", "type": "string", "default": "(required)", "doc": "The name."},
        {"key": "top.mode", "type": "`fast` \\| `safe`", "default": "safe", "doc": "Mode."},
        {"key": "top.ratio", "type": "number", "default": 0.5, "doc": "A ratio."},
        {"key": "top.on", "type": "boolean", "default": False, "doc": "Switch."},
        {"key": "top.note", "type": "string (optional)", "default": None, "doc": "A note."},
        {"key": "top.limits", "type": "map of integer", "default": {}, "doc": "Limits."},
        {"key": "top.ports", "type": "list of integer", "default": [], "doc": "Ports."},
        {"key": "top.innerPart", "type": "object", "default": "", "doc": "The inner part."},
        {"key": "top.innerPart.size", "type": "integer", "default": 2, "doc": "How big."},
        {"key": "top.innerPart.tags", "type": "list of string", "default": ["a"], "doc": "Tags."},
    ]
    assert schema.describe(sec.Inner)[0]["key"] == "size" and schema.describe(sec.Inner)[0]["default"] == 1
    assert schema.describe(sec.Inner, defaults=sec.Inner(size=9))[0]["default"] == 9
    assert schema._type_name(bytes) == str(bytes)
