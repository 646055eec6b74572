"""namespace.py pinned: every network policy of a full plan exactly as rendered, each optional flow switched on and
off on its own, the quota and LimitRange arithmetic at its edges, and the constants the policies are made of.
(test_namespace.py proves the policies against the real pods; this file notices any change to them.)"""

from __future__ import annotations

import dataclasses

import pytest

from n8n_platform import k8s, namespace
from n8n_platform.namespace import NetworkPlan, QuotaWorkload
from n8n_platform.vocabulary import resources

FULL = NetworkPlan("n8n", postgres_cidrs=("10.20.0.0/16",), redis_cidrs=("10.30.0.0/16",), patroni_cluster="n8n-db",
                   operator_namespace="postgres-operator", redis_in_cluster=True, keda_namespace="keda",
                   monitoring_namespace="monitoring")

N8N = {"matchLabels": {"app.kubernetes.io/name": "n8n"},
       "matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "In",
                             "values": ["main", "webhook", "worker"]}]}
CLIENTS = {"matchLabels": {"app.kubernetes.io/name": "n8n"},
           "matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "In",
                                 "values": ["bootstrap", "dumps", "main", "webhook", "worker"]}]}
RUNNERS = {"matchLabels": {"app.kubernetes.io/name": "n8n"},
           "matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "In",
                                 "values": ["main", "worker"]}]}
REDIS_PODS = {"matchLabels": {"app.kubernetes.io/name": "n8n", "app.kubernetes.io/component": "redis"}}
SPILO = {"matchLabels": {"application": "spilo", "cluster-name": "n8n-db"}}
PUBLIC_443 = {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}}


def ns(name: str) -> dict:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def tcp(*ports: int) -> list[dict]:
    return [{"protocol": "TCP", "port": p} for p in ports]


EXPECTED_FULL = {
    "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": []},
    "allow-dns": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
        "to": [{**ns("kube-system"), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]},
    "postgres-clients": {"podSelector": CLIENTS, "policyTypes": ["Egress"], "egress": [{
        "to": [{"podSelector": SPILO}, {"ipBlock": {"cidr": "10.20.0.0/16"}}], "ports": tcp(5432)}]},
    "redis-server": {"podSelector": REDIS_PODS, "policyTypes": ["Ingress"], "ingress": [{
        "from": [{"podSelector": N8N}, ns("keda")], "ports": tcp(6379)}]},
    "redis-clients": {"podSelector": N8N, "policyTypes": ["Egress"], "egress": [{
        "to": [{"podSelector": REDIS_PODS}, {"ipBlock": {"cidr": "10.30.0.0/16"}}], "ports": tcp(6379)}]},
    "patroni": {"podSelector": SPILO, "policyTypes": ["Ingress", "Egress"], "ingress": [
        {"from": [{"podSelector": SPILO}], "ports": tcp(5432, 8008)},
        {"from": [{"podSelector": CLIENTS}], "ports": tcp(5432)},
        {"from": [ns("postgres-operator")], "ports": tcp(5432, 8008)},
    ], "egress": [
        {"to": [{"podSelector": SPILO}], "ports": tcp(5432, 8008)},
        {"to": [PUBLIC_443], "ports": tcp(443)},
    ]},
    "aws-api": {"podSelector": {"matchLabels": {"n8n.io/aws-access": "true"}}, "policyTypes": ["Egress"],
                "egress": [{"to": [PUBLIC_443], "ports": tcp(443)}]},
    "workflow-egress": {"podSelector": RUNNERS, "policyTypes": ["Egress"], "egress": [{
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                                              "100.64.0.0/10", "169.254.0.0/16"]}}],
        "ports": tcp(80, 443)}]},
    "metrics-n8n": {"podSelector": N8N, "policyTypes": ["Ingress"], "ingress": [{
        "from": [ns("monitoring")], "ports": tcp(5678)}]},
    "metrics-redis": {"podSelector": REDIS_PODS, "policyTypes": ["Ingress"], "ingress": [{
        "from": [ns("monitoring")], "ports": tcp(9121)}]},
    "metrics-patroni": {"podSelector": SPILO, "policyTypes": ["Ingress"], "ingress": [{
        "from": [ns("monitoring")], "ports": tcp(8008, 9187)}]},
}


def specs(plan: NetworkPlan) -> dict[str, dict]:
    policies = namespace.network_policies(plan)
    for p in policies:
        assert (p["apiVersion"], p["kind"]) == ("networking.k8s.io/v1", "NetworkPolicy")
        assert p["metadata"] == k8s.metadata(p["metadata"]["name"], plan.namespace, "network-policy")
    return {p["metadata"]["name"]: p["spec"] for p in policies}


def test_a_full_plan_renders_exactly_these_policies_in_this_order():
    rendered = specs(FULL)
    assert list(rendered) == list(EXPECTED_FULL)
    for name, spec in EXPECTED_FULL.items():
        assert rendered[name] == spec, name


POOLER = {"matchLabels": {"application": "db-connection-pooler", "connection-pooler": "n8n-db-pooler"}}


def test_a_pooler_sits_between_n8n_and_the_members_and_opens_nothing_else():
    rendered = specs(dataclasses.replace(FULL, patroni_pooler=True))
    expected = dict(EXPECTED_FULL)
    expected["postgres-clients"] = {**EXPECTED_FULL["postgres-clients"], "egress": [{
        "to": [{"podSelector": SPILO}, {"podSelector": POOLER}, {"ipBlock": {"cidr": "10.20.0.0/16"}}],
        "ports": tcp(5432)}]}
    patroni = EXPECTED_FULL["patroni"]
    expected["patroni"] = {**patroni, "ingress": [*patroni["ingress"][:2],
                                                  {"from": [{"podSelector": POOLER}], "ports": tcp(5432)},
                                                  patroni["ingress"][2]]}
    order = list(EXPECTED_FULL)
    order.insert(order.index("patroni"), "pooler")
    expected["pooler"] = {"podSelector": POOLER, "policyTypes": ["Ingress", "Egress"],
                          "ingress": [{"from": [{"podSelector": N8N}], "ports": tcp(5432)}],
                          "egress": [{"to": [{"podSelector": SPILO}], "ports": tcp(5432)}]}
    assert list(rendered) == order
    for name in order:
        assert rendered[name] == expected[name], name


def test_rds_only_opens_the_vpc_and_no_patroni_rules():
    rendered = specs(NetworkPlan("n8n", postgres_cidrs=("10.20.0.0/16",)))
    assert rendered["postgres-clients"]["egress"] == [{"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}],
                                                       "ports": tcp(5432)}]
    assert not {"patroni", "metrics-patroni", "redis-server", "redis-clients"} & set(rendered)


def test_patroni_only_opens_its_pods_and_an_operator_is_optional():
    rendered = specs(NetworkPlan("n8n", patroni_cluster="n8n-db"))
    assert rendered["postgres-clients"]["egress"][0]["to"] == [{"podSelector": SPILO}]
    assert rendered["patroni"]["ingress"] == EXPECTED_FULL["patroni"]["ingress"][:2]


def test_elasticache_only_opens_the_vpc_and_no_redis_server_rule():
    rendered = specs(NetworkPlan("n8n", redis_cidrs=("10.30.0.0/16",)))
    assert rendered["redis-clients"]["egress"] == [{"to": [{"ipBlock": {"cidr": "10.30.0.0/16"}}],
                                                    "ports": tcp(6379)}]
    assert "redis-server" not in rendered


def test_in_cluster_redis_without_keda_admits_only_n8n():
    rendered = specs(NetworkPlan("n8n", redis_in_cluster=True))
    assert rendered["redis-server"]["ingress"] == [{"from": [{"podSelector": N8N}], "ports": tcp(6379)}]
    assert rendered["redis-clients"]["egress"] == [{"to": [{"podSelector": REDIS_PODS}], "ports": tcp(6379)}]


def test_monitoring_scrapes_only_what_exists():
    rendered = specs(NetworkPlan("n8n", monitoring_namespace="monitoring"))
    assert [n for n in rendered if n.startswith("metrics-")] == ["metrics-n8n"]
    assert "metrics-n8n" not in specs(NetworkPlan("n8n"))


def test_workflow_egress_follows_ports_and_private_ranges():
    rendered = specs(NetworkPlan("n8n", egress_ports=(443, 8443), private_egress_cidrs=("10.50.0.0/16",)))
    [rule] = rendered["workflow-egress"]["egress"]
    assert rule["ports"] == tcp(443, 8443)
    assert rule["to"][1:] == [{"ipBlock": {"cidr": "10.50.0.0/16"}}]


def test_plan_defaults():
    plan = NetworkPlan("x")
    assert (plan.postgres_cidrs, plan.redis_cidrs, plan.patroni_cluster, plan.operator_namespace) == ([], [], None,
                                                                                                    None)
    assert (plan.redis_in_cluster, plan.keda_namespace, plan.monitoring_namespace) == (False, None, None)
    assert (plan.egress_ports, plan.private_egress_cidrs) == ([80, 443], [])


def test_constants():
    assert {c: k8s.selector(c) for c in ("main", "webhook", "worker", "redis", "dumps",
                                                                  "bootstrap")} == namespace.SELECTORS
    assert namespace.SPILO_LABELS == {"application": "spilo"}
    assert namespace.AWS_ACCESS_LABEL == ("n8n.io/aws-access", "true")
    assert namespace.N8N_COMPONENTS == ("main", "webhook", "worker")
    assert namespace.DATABASE_CLIENTS == ("main", "webhook", "worker", "dumps", "bootstrap")
    assert namespace.WORKFLOW_RUNNERS == ("main", "worker")
    assert (namespace.POSTGRES_PORT, namespace.PATRONI_API_PORT, namespace.REDIS_PORT) == (5432, 8008, 6379)
    assert (namespace.REDIS_EXPORTER_PORT, namespace.POSTGRES_EXPORTER_PORT) == (9121, 9187)
    assert namespace.LINK_LOCAL == "169.254.0.0/16"
    assert namespace.POD_SECURITY_LEVELS == ("privileged", "baseline", "restricted")


# --- building blocks ----------------------------------------------------------------------------------------------

def test_pod_security_labels_exactly():
    assert namespace.pod_security_labels("privileged") == {
        "pod-security.kubernetes.io/enforce": "privileged", "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted", "pod-security.kubernetes.io/audit-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/warn-version": "latest",
    }
    assert namespace.pod_security_labels()["pod-security.kubernetes.io/enforce"] == "restricted"
    with pytest.raises(ValueError) as caught:
        namespace.pod_security_labels("strict")
    assert str(caught.value) == ("unknown Pod Security level 'strict'; expected one of "
                                 "('privileged', 'baseline', 'restricted')")


def test_namespace_manifest_exactly():
    assert namespace.namespace_manifest("n8n-dev", "baseline") == {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": k8s.metadata("n8n-dev", None, "namespace",
                                 extra_labels=namespace.pod_security_labels("baseline"))}
    assert namespace.namespace_manifest("n8n")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == \
        "restricted"


@pytest.mark.parametrize(("cidr", "excepted", "expected"), [
    ("0.0.0.0/0", ["169.254.0.0/16", "10.0.0.0/8"], ["169.254.0.0/16", "10.0.0.0/8"]),
    ("10.0.0.0/8", ["10.0.0.0/8"], None),  # the range itself is not an exception inside it
    ("10.0.0.0/8", ["10.1.0.0/16", "192.168.0.0/16"], ["10.1.0.0/16"]),
    ("::/0", ["169.254.0.0/16"], None),  # IPv4 exceptions never go into an IPv6 block
    ("10.0.0.0/16", [], None),
])
def test_ip_block_exceptions(cidr, excepted, expected):
    block = {"cidr": cidr, "except": expected} if expected else {"cidr": cidr}
    assert namespace.ip_block(cidr, excepted) == {"ipBlock": block}


def test_selectors():
    assert namespace.components_selector(["worker", "main"]) == RUNNERS
    assert namespace.spilo_selector("n8n-db") == SPILO
    assert namespace.namespace_selector("keda") == ns("keda")["namespaceSelector"]


# --- quota --------------------------------------------------------------------------------------------------------

WORKLOADS = [
    QuotaWorkload("worker", 10, (resources("500m", "2", "1Gi", "2Gi"), resources("100m", "1", "256Mi", "512Mi"))),
    QuotaWorkload("main", 1, (resources("250m", "1", "512Mi", "1Gi"),)),
]


def test_quota_hard_exactly_with_the_default_headroom_and_spare_pods():
    assert namespace.quota_hard(WORKLOADS) == {
        "requests.cpu": "9375m", "limits.cpu": "46500m", "requests.memory": "19968Mi", "limits.memory": "39936Mi",
        "pods": "27"}


def test_quota_rounds_up():
    odd = [QuotaWorkload("x", 1, (resources("1m", "1m", "1", "1"),))]
    assert namespace.quota_hard(odd, headroom=1.5, extra_pods=0) == {
        "requests.cpu": "2m", "limits.cpu": "2m", "requests.memory": "1Mi", "limits.memory": "1Mi", "pods": "2"}


def test_quota_edges():
    assert namespace.quota_hard(WORKLOADS, headroom=1)["pods"] == "21"
    assert namespace.quota_hard([QuotaWorkload("idle", 0, (resources("1", "1", "1Gi", "1Gi"),))],
                                extra_pods=3) == {"requests.cpu": "0m", "limits.cpu": "0m", "requests.memory": "0Mi",
                                                  "limits.memory": "0Mi", "pods": "3"}
    with pytest.raises(ValueError) as headroom:
        namespace.quota_hard(WORKLOADS, headroom=0.99)
    assert str(headroom.value) == "headroom must be >= 1, got 0.99"
    with pytest.raises(ValueError) as negative:
        namespace.quota_hard([QuotaWorkload("ghost", -1, ())])
    assert str(negative.value) == "ghost: max_replicas must be >= 0"


def test_quota_manifest_exactly():
    hard = {"pods": "3"}
    manifest = namespace.quota_manifest("n8n-budget", "n8n", hard)
    assert manifest == {"apiVersion": "v1", "kind": "ResourceQuota",
                        "metadata": k8s.metadata("n8n-budget", "n8n", "quota"), "spec": {"hard": {"pods": "3"}}}
    assert manifest["spec"]["hard"] is not hard


@pytest.mark.parametrize(("workloads", "default", "default_request", "maximum"), [
    (WORKLOADS, ("500m", "512Mi"), ("100m", "128Mi"), ("2000m", "2048Mi")),
    ([QuotaWorkload("s", 1, (resources("50m", "300m", "64Mi", "256Mi"),))], ("300m", "256Mi"), ("100m", "128Mi"),
     ("300m", "256Mi")),
    ([QuotaWorkload("t", 1, (resources("10m", "50m", "16Mi", "64Mi"),))], ("50m", "64Mi"), ("50m", "64Mi"),
     ("50m", "64Mi")),
    ([], ("500m", "512Mi"), ("100m", "128Mi"), None),  # nothing declared, nothing to bound: N8nApp's 2/2Gi fit (#25)
])
def test_limit_range_defaults_never_exceed_the_maximum(workloads, default, default_request, maximum):
    manifest = namespace.limit_range_manifest("n8n-defaults", "n8n", workloads)
    bound = {} if maximum is None else {"max": {"cpu": maximum[0], "memory": maximum[1]}}
    assert manifest == {
        "apiVersion": "v1", "kind": "LimitRange", "metadata": k8s.metadata("n8n-defaults", "n8n", "quota"),
        "spec": {"limits": [{
            "type": "Container",
            "default": {"cpu": default[0], "memory": default[1]},
            "defaultRequest": {"cpu": default_request[0], "memory": default_request[1]},
            **bound,
        }]},
    }


def quota_workloads(settings):
    from n8n_platform.platform import quota_workloads  # the composer sizes the namespace from the settings (#10)

    return quota_workloads(settings)


def _settings(stack: str, overrides: dict | None = None):
    from n8n_platform.settings import from_config
    from tests.harness import load_stack_config

    raw, _ = load_stack_config(stack, overrides)
    return from_config(raw)


def test_quota_workloads_of_the_dev_stack():
    from n8n_platform.database.bootstrap import JOB_RESOURCES
    from n8n_platform.observability.exporters import POSTGRES_EXPORTER_RESOURCES, REDIS_EXPORTER_RESOURCES
    from n8n_platform.redis import InClusterRedisSpec

    s = _settings("dev")
    got = {w.name: w for w in quota_workloads(s)}
    assert list(got) == ["main", "webhook", "worker", "patroni", "pooler", "redis", "bootstrap"]
    assert got["pooler"] == QuotaWorkload("pooler", 2, (s.database.pooler.resources,))
    assert got["main"] == QuotaWorkload("main", 1, (s.n8n.main.resources,))
    assert got["webhook"] == QuotaWorkload("webhook", 2, (s.n8n.webhook.resources,))
    assert got["worker"] == QuotaWorkload("worker", 3, (s.n8n.worker.resources, s.n8n.runners))
    redis = resources(InClusterRedisSpec.cpu_request, InClusterRedisSpec.cpu_limit, "512Mi", "512Mi")
    # with observability on (the default), the metrics exporters ride along as sidecars (#9)
    assert got["patroni"] == QuotaWorkload("patroni", 2, (s.database.patroni.resources, POSTGRES_EXPORTER_RESOURCES))
    assert got["redis"] == QuotaWorkload("redis", 1, (redis, REDIS_EXPORTER_RESOURCES))
    assert got["bootstrap"] == QuotaWorkload("bootstrap", 1, (JOB_RESOURCES,))
    quiet = {w.name: w for w in quota_workloads(_settings("dev", {"observability": {"enabled": False}}))}
    assert quiet["patroni"].containers == (s.database.patroni.resources,) and quiet["redis"].containers == (redis,)


def test_quota_workloads_of_the_prod_stack_include_the_dumps():
    from n8n_platform.database.dumps import DUMP_RESOURCES, UPLOAD_RESOURCES

    got = {w.name: w for w in quota_workloads(_settings("prod"))}
    assert list(got) == ["main", "webhook", "worker", "bootstrap", "dumps"]
    assert got["dumps"] == QuotaWorkload("dumps", 1, (DUMP_RESOURCES, UPLOAD_RESOURCES))
    no_dumps = quota_workloads(_settings("prod", {"backups": {"dumps": False}}))
    assert [w.name for w in no_dumps] == ["main", "webhook", "worker", "bootstrap"]


def test_component_sizes_the_budget_from_its_arguments():
    from n8n_platform.namespace import N8nNamespace, N8nNamespaceArgs
    from tests.harness import run

    args = N8nNamespaceArgs(name="n8n", pod_security="restricted", network=NetworkPlan("n8n"),
                            quota_workloads=WORKLOADS, quota_headroom=1.0, protect=False)
    holder = {}

    def program():
        holder["component"] = N8nNamespace("ns", args)

    manifests = {m["kind"]: m for m in run(program).manifests()}
    assert manifests["ResourceQuota"] == namespace.quota_manifest("n8n-budget", "n8n",
                                                                  namespace.quota_hard(WORKLOADS, 1.0))
    assert manifests["LimitRange"] == namespace.limit_range_manifest("n8n-defaults", "n8n", WORKLOADS)
    assert holder["component"].namespace is not None
    with pytest.raises(ValueError) as caught:
        run(lambda: N8nNamespace("ns", {**args, "name": "other"}))
    assert "network plan is for namespace 'n8n', not 'other'" in str(caught.value)
