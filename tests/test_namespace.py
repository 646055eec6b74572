"""namespace.py: Pod Security labels, default-deny + allow network policies, quota sizing, and the component."""

from __future__ import annotations

import pytest

from n8n_platform import k8s, namespace
from n8n_platform.namespace import N8nNamespace, N8nNamespaceArgs, NetworkPlan, QuotaWorkload
from n8n_platform.vocabulary import resources
from tests.harness import run
from tools.ci import gates

FULL = NetworkPlan("n8n", postgres_cidrs=("10.20.0.0/16",), redis_cidrs=("10.20.0.0/16",), patroni_cluster="n8n-db",
                   operator_namespace="postgres-operator", redis_in_cluster=True, keda_namespace="keda",
                   monitoring_namespace="monitoring")


def by_name(plan: NetworkPlan) -> dict[str, dict]:
    return {p["metadata"]["name"]: p for p in namespace.network_policies(plan)}


def test_namespace_enforces_restricted_everywhere():
    labels = namespace.namespace_manifest("n8n")["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "latest"


def test_a_lower_enforced_level_still_audits_and_warns_at_restricted():
    labels = namespace.namespace_manifest("n8n", "baseline")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/audit"] == labels["pod-security.kubernetes.io/warn"] == "restricted"
    assert gates.schema_errors([namespace.namespace_manifest("n8n", "baseline")]) == []
    with pytest.raises(ValueError, match="Pod Security level"):
        namespace.namespace_manifest("n8n", "Baseline")


def test_every_policy_validates_strictly_and_is_namespaced():
    policies = namespace.network_policies(FULL)
    assert gates.schema_errors([*policies, namespace.namespace_manifest("n8n")]) == []
    assert {p["metadata"]["namespace"] for p in policies} == {"n8n"}


def test_default_deny_covers_all_pods_both_ways():
    deny = by_name(FULL)["default-deny"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": []}


def test_dns_goes_only_to_kube_dns():
    [rule] = by_name(FULL)["allow-dns"]["spec"]["egress"]
    assert rule["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                           "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
    assert sorted((p["protocol"], p["port"]) for p in rule["ports"]) == [("TCP", 53), ("UDP", 53)]


def test_database_and_redis_flows():
    p = by_name(FULL)
    clients = p["postgres-clients"]["spec"]
    assert clients["podSelector"]["matchExpressions"][0]["values"] == sorted(namespace.DATABASE_CLIENTS)
    [rule] = clients["egress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 5432}]
    assert {"podSelector": namespace.spilo_selector("n8n-db")} in rule["to"]
    assert {"ipBlock": {"cidr": "10.20.0.0/16"}} in rule["to"]
    redis_server = p["redis-server"]["spec"]
    assert redis_server["podSelector"] == {"matchLabels": k8s.selector("redis")}
    sources = redis_server["ingress"][0]["from"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}}} in sources
    assert p["redis-clients"]["spec"]["egress"][0]["ports"] == [{"protocol": "TCP", "port": 6379}]


def test_patroni_members_talk_to_each_other_and_the_api():
    spec = by_name(FULL)["patroni"]["spec"]
    assert spec["podSelector"] == {"matchLabels": {"application": "spilo", "cluster-name": "n8n-db"}}
    peer = spec["ingress"][0]
    assert sorted(x["port"] for x in peer["ports"]) == [5432, 8008]
    assert spec["egress"][1]["ports"] == [{"protocol": "TCP", "port": 443}]
    assert spec["egress"][1]["to"][0]["ipBlock"]["except"] == ["169.254.0.0/16"]


def test_workflow_egress_is_public_internet_only():
    spec = by_name(FULL)["workflow-egress"]["spec"]
    assert spec["podSelector"]["matchExpressions"][0]["values"] == ["main", "worker"]
    [rule] = spec["egress"]
    block = rule["to"][0]["ipBlock"]
    assert block["cidr"] == "0.0.0.0/0"
    assert "169.254.0.0/16" in block["except"] and "10.0.0.0/8" in block["except"]
    assert sorted(x["port"] for x in rule["ports"]) == [80, 443]


def test_minimal_plan_has_no_data_or_metrics_rules():
    names = set(by_name(NetworkPlan("n8n")))
    assert names == {"default-deny", "allow-dns", "aws-api", "workflow-egress"}


def test_ip_block_keeps_only_exceptions_inside_the_range():
    assert namespace.ip_block("10.0.0.0/16", ["169.254.0.0/16"]) == {"ipBlock": {"cidr": "10.0.0.0/16"}}
    assert namespace.ip_block("0.0.0.0/0", ["169.254.0.0/16"]) == {
        "ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}}


def test_selectors_are_the_shared_k8s_selectors():
    for component in ("main", "webhook", "worker", "redis", "dumps", "bootstrap"):
        assert namespace.SELECTORS[component] == k8s.selector(component)


# --- the database builders' pods against the policies -------------------------------------------------------------

def _matches(selector: dict, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels + matchExpressions)."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for e in selector.get("matchExpressions", []):
        present, value = e["key"] in labels, labels.get(e["key"])
        ok = {"In": present and value in e.get("values", []), "NotIn": not present or value not in e.get("values", []),
              "Exists": present, "DoesNotExist": not present}[e["operator"]]
        if not ok:
            return False
    return True


def _egress(labels: dict[str, str], port: int) -> list[dict]:
    """Peers the pod with ``labels`` may reach on TCP ``port`` (the union over the policies selecting it)."""
    return [peer for p in namespace.network_policies(FULL) if _matches(p["spec"]["podSelector"], labels)
            for rule in p["spec"].get("egress", []) if {"protocol": "TCP", "port": port} in rule["ports"]
            for peer in rule["to"]]


def _database_job_pod_labels(kind: str) -> dict[str, str]:
    from n8n_platform import names
    from n8n_platform.connections import DatabaseConnection, SecretKeyRef
    from n8n_platform.database.bootstrap import bootstrap_manifests
    from n8n_platform.database.common import AdminLogin, S3Location
    from n8n_platform.database.dumps import dump_manifests

    conn = DatabaseConnection(host="n8n-db.n8n.svc", port=5432, database="n8n", user="n8n", schema="n8n",
                              password=SecretKeyRef(names.N8N_SECRET, names.DB_PASSWORD), ssl=True, ca=None)
    if kind == "bootstrap":
        *_, job = bootstrap_manifests(name="b", namespace="n8n", connection=conn, admin=AdminLogin("admin"),
                                      connection_limit=10, statement_timeout_s=60)
        assert job["kind"] == "Job"
        return job["spec"]["template"]["metadata"]["labels"]
    target = S3Location("d", "arn:aws:s3:::d", "dumps/", "arn:aws:kms:eu-west-1:123456789012:key/k", "eu-west-1")
    _, cron = dump_manifests(name="d", namespace="n8n", connection=conn, credentials=conn.password, target=target,
                             role_arn="arn:aws:iam::123456789012:role/d", schedule="0 3 * * *")
    assert cron["kind"] == "CronJob"
    return cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]


@pytest.mark.parametrize("kind", ["bootstrap", "dumps"])
def test_database_job_pods_are_selected_by_the_policies_that_open_postgres(kind):
    labels = _database_job_pod_labels(kind)
    to_postgres = _egress(labels, 5432)
    assert {"podSelector": namespace.spilo_selector("n8n-db")} in to_postgres  # Patroni in the namespace
    assert {"ipBlock": {"cidr": "10.20.0.0/16"}} in to_postgres  # RDS
    patroni_in = by_name(FULL)["patroni"]["spec"]["ingress"]
    assert any(_matches(src["podSelector"], labels) for rule in patroni_in
               if {"protocol": "TCP", "port": 5432} in rule["ports"] for src in rule["from"] if "podSelector" in src)
    to_aws = _egress(labels, 443)
    if kind == "dumps":  # web identity: STS and S3 over 443, not the metadata service
        assert to_aws == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}}]
    else:
        assert to_aws == []


def test_spilo_pods_labelled_by_the_operator_reach_members_the_api_and_s3():
    spilo = {**namespace.SPILO_LABELS, "cluster-name": "n8n-db", "spilo-role": "replica"}
    assert _egress(spilo, 5432) == _egress(spilo, 8008) == [{"podSelector": namespace.spilo_selector("n8n-db")}]
    assert _egress(spilo, 443) == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}}]
    other_cluster = {**spilo, "cluster-name": "other"}
    assert _egress(other_cluster, 5432) == []


# --- quota -------------------------------------------------------------------------------------------------------

WORKLOADS = [
    QuotaWorkload("worker", 10, (resources("500m", "2", "1Gi", "2Gi"), resources("100m", "1", "256Mi", "512Mi"))),
    QuotaWorkload("main", 1, (resources("250m", "1", "512Mi", "1Gi"),)),
]


def test_quota_sums_max_replicas_times_limits_with_headroom():
    hard = namespace.quota_hard(WORKLOADS, headroom=1.5, extra_pods=10)
    # limits.cpu = (10 * (2000 + 1000) + 1000) * 1.5 = 46500m
    assert hard["limits.cpu"] == "46500m"
    assert hard["requests.cpu"] == f"{int((10 * 600 + 250) * 1.5)}m"
    assert hard["limits.memory"] == f"{int((10 * 2560 + 1024) * 1.5)}Mi"
    assert hard["requests.memory"] == f"{int((10 * 1280 + 512) * 1.5)}Mi"
    assert hard["pods"] == "27"  # ceil(11 * 1.5) = 17, + 10
    assert namespace.quota_hard(WORKLOADS, headroom=1.0)["limits.cpu"] == "31000m"
    with pytest.raises(ValueError):
        namespace.quota_hard(WORKLOADS, headroom=0.9)


def test_limit_range_allows_the_biggest_container():
    lr = namespace.limit_range_manifest("n8n-defaults", "n8n", WORKLOADS)
    [limits] = lr["spec"]["limits"]
    assert limits["max"] == {"cpu": "2000m", "memory": "2048Mi"}
    assert gates.schema_errors([lr, namespace.quota_manifest("q", "n8n", namespace.quota_hard(WORKLOADS))]) == []


def test_quota_workloads_follow_the_settings():
    from n8n_platform.settings import from_config

    s = from_config({"environment": "dev", "aws": {"region": "eu-west-1"},
                     "cluster": {"kubeconfig": "~/.kube/config"}, "edge": {"hostname": "n8n.example.com",
                     "controller": "gateway", "acmeEmail": "ops@example.com"},
                     "database": {"engine": "patroni", "patroni": {"members": 2}},
                     "redis": {"mode": "in-cluster"}, "workerPool": {"enabled": False}})
    from n8n_platform.platform import quota_workloads

    workloads = {w.name: w for w in quota_workloads(s)}
    # no dumps without EKS (no archive bucket); the bootstrap Job always runs
    assert set(workloads) == {"main", "webhook", "worker", "patroni", "pooler", "redis", "bootstrap"}
    assert workloads["worker"].max_replicas == s.n8n.worker.max_replicas
    assert len(workloads["worker"].containers) == 2  # n8n + runners sidecar
    assert workloads["patroni"].max_replicas == 2


def test_imports_flow_one_way_the_namespace_knows_no_component():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(namespace))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and not node.module
                 for a in node.names}
    components = {"database", "redis", "n8n", "platform", "secrets", "storage", "addons", "autoscaling",
                  "worker_pool"}
    assert not {m.split(".")[-1] for m in imported} & components, imported
    assert not any(m.startswith(("database", ".database", "n8n.")) for m in imported), imported


# --- component ---------------------------------------------------------------------------------------------------

def test_component_registers_namespace_first_and_protects_it():
    args = N8nNamespaceArgs(name="n8n", pod_security="restricted", network=FULL, quota_workloads=WORKLOADS,
                            quota_headroom=1.5, protect=True)
    rec = run(lambda: N8nNamespace("ns", args))
    ns = rec.one("kubernetes:core/v1:Namespace")
    assert ns.options["protect"] and ns.options["retain_on_delete"]
    policies = rec.find("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    assert len(policies) == len(namespace.network_policies(FULL))
    assert all(ns.name in p.options["depends_on"] for p in policies)
    assert rec.one("kubernetes:core/v1:ResourceQuota").parent == "ns"
    assert gates.schema_errors(rec.manifests()) == []


def test_the_namespace_is_kept_on_delete_only_when_protected_unless_told():
    def registered(**extra):
        args = N8nNamespaceArgs(name="n8n", pod_security="restricted", network=FULL, quota_workloads=WORKLOADS,
                                quota_headroom=1.5, protect=False, **extra)
        return run(lambda: N8nNamespace("ns", args))

    rec = registered()
    assert rec.one("kubernetes:core/v1:Namespace").options["retain_on_delete"] is False
    assert rec.one("n8n:index:N8nNamespace").options["aliases"] == [{"type": "n8n:index:Namespace"}]
    assert registered(retain_on_delete=True).one("kubernetes:core/v1:Namespace").options["retain_on_delete"] is True


def test_from_other_languages_plans_and_workloads_arrive_as_mappings():
    args = {"name": "n8n", "network": {"namespace": "n8n", "redis_in_cluster": True},
            "quota_workloads": [{"name": "worker", "max_replicas": 4,
                                 "containers": [{"cpu_request": "1", "cpu_limit": "2", "memory_request": "1Gi",
                                                 "memory_limit": "2Gi"}]}]}
    rec = run(lambda: N8nNamespace("ns", args))
    quota = next(m for m in rec.manifests() if m["kind"] == "ResourceQuota")
    assert quota["spec"]["hard"]["limits.cpu"] == "12000m"  # 4 workers x 2 CPUs x 1.5 headroom
    assert any(m["metadata"]["name"] == "redis-server" for m in rec.manifests() if m["kind"] == "NetworkPolicy")
    ns = rec.one("kubernetes:core/v1:Namespace")
    assert ns.options["protect"] is False
    assert ns.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_component_enforces_the_given_level():
    args = N8nNamespaceArgs(name="n8n", pod_security="baseline", network=FULL, quota_workloads=WORKLOADS,
                            quota_headroom=1.5, protect=False)
    [ns] = [m for m in run(lambda: N8nNamespace("ns", args)).manifests() if m["kind"] == "Namespace"]
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/warn"] == "restricted"


def test_component_rejects_a_plan_for_another_namespace():
    args = N8nNamespaceArgs(name="other", pod_security="restricted", network=FULL, quota_workloads=WORKLOADS,
                            quota_headroom=1.5, protect=False)
    with pytest.raises(ValueError, match="namespace"):
        run(lambda: N8nNamespace("ns", args))


def _pod_specs(manifests: list[dict]) -> list[tuple[str, dict]]:
    out = []
    for m in manifests:
        spec = m.get("spec", {})
        if m["kind"] in ("Deployment", "StatefulSet", "Job"):
            out.append((m["metadata"]["name"], spec["template"]["spec"]))
        elif m["kind"] == "CronJob":
            out.append((m["metadata"]["name"], spec["jobTemplate"]["spec"]["template"]["spec"]))
    return out


@pytest.mark.parametrize("stack,overrides", [
    ("dev", {}),
    ("prod", {}),
    # small n8n containers next to the fixed-size dumps (pg-dump 1 CPU / 1Gi) and bootstrap Job containers
    ("prod", {"n8n": {role: {"resources": {"cpuRequest": "100m", "cpuLimit": "500m", "memoryRequest": "256Mi",
                                           "memoryLimit": "512Mi"}} for role in ("main", "webhook", "worker")}
              | {"runners": {"cpuRequest": "100m", "cpuLimit": "500m", "memoryRequest": "128Mi",
                             "memoryLimit": "256Mi"}}}),
])
def test_limit_range_admits_every_container_the_stack_creates(stack, overrides):
    from n8n_platform.schema import cpu_millis, quantity_bytes
    from tests.harness import run_stack

    manifests = run_stack(stack, overrides).manifests()
    [limit_range] = [m for m in manifests if m["kind"] == "LimitRange"]
    cap = limit_range["spec"]["limits"][0]["max"]
    pods = _pod_specs(manifests)
    assert any(name.endswith("bootstrap") for name, _ in pods)
    for name, pod in pods:
        for c in [*pod.get("initContainers", []), *pod["containers"]]:
            limits = c["resources"]["limits"]
            assert cpu_millis(limits["cpu"]) <= cpu_millis(cap["cpu"]), (name, c["name"], limits, cap)
            assert quantity_bytes(limits["memory"]) <= quantity_bytes(cap["memory"]), (name, c["name"], limits, cap)


def test_quota_dump_containers_match_the_rendered_cronjob():
    from tests.harness import run_stack

    [cron] = [m for m in run_stack("prod").manifests() if m["kind"] == "CronJob"]
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    rendered = [c["resources"] for c in [*pod.get("initContainers", []), *pod["containers"]]]
    from n8n_platform import k8s
    from n8n_platform.database.dumps import DUMP_RESOURCES, UPLOAD_RESOURCES

    assert [k8s.resources(DUMP_RESOURCES), k8s.resources(UPLOAD_RESOURCES)] == rendered
