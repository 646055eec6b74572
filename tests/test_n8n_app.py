"""N8nApp under the mock runtime: what it registers, how children hang together, outputs, no secrets in plain text."""

from __future__ import annotations

import dataclasses
import json

import pulumi
import pytest

from n8n_platform import names
from n8n_platform.connections import CaBundle, DatabaseConnection, RedisConnection, SecretKeyRef
from n8n_platform.n8n.app import ENV_ARGS, N8nApp, N8nAppArgs
from n8n_platform.n8n.env import N8nEnvInputs
from n8n_platform.n8n.spec import N8nSettings
from tests.harness import is_secret, plain, run
from tools.ci import gates

N8N = N8nSettings()
APP = "n8n:index:N8nApp"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
DB = DatabaseConnection(host="db.internal", port=5432, database="n8n", user="n8n", schema="n8n",
                        password=SecretKeyRef(names.N8N_SECRET, names.DB_PASSWORD), ssl=True,
                        ca=CaBundle(source="configMap", name="rds-ca", key="ca.pem"))
REDIS = RedisConnection(host="redis.internal", port=6379, tls=True,
                        password=SecretKeyRef(names.N8N_SECRET, names.REDIS_PASSWORD), ca=None, managed=True)
ENV = N8nEnvInputs(hostname="n8n.example.com", db=DB, redis=REDIS, worker_concurrency=10)


def args(webhook: int = 2, env: N8nEnvInputs = ENV, **extra) -> N8nAppArgs:
    base = N8nAppArgs(
        namespace="n8n", **{key: getattr(env, key) for key in ENV_ARGS}, image=N8N.image,
        runners_image=N8N.runners_image, main_replicas=1, main_resources=N8N.main.resources,
        webhook_replicas=webhook, webhook_max_replicas=10, webhook_resources=N8N.webhook.resources,
        worker_replicas=3, worker_resources=N8N.worker.resources, runners_resources=N8N.runners, spot_pool=True)
    return {**base, **extra}


def record(a: N8nAppArgs | None = None, *, before=None):
    def program():
        deps = before() if before else None
        app = N8nApp("n8n", a or args(), pulumi.ResourceOptions(depends_on=deps) if deps else None)
        for key in ("main_service", "webhook_service", "worker_service", "worker_deployment", "service_port",
                    "editor_url", "webhook_url"):
            pulumi.export(key, getattr(app, key))
    return run(program)


REC = record()


def test_registers_the_component_and_its_kubernetes_objects():
    app = REC.one(APP)
    assert app.name == "n8n"
    kinds = sorted(r.type.rsplit(":", 1)[1] for r in REC.descendants("n8n"))
    assert kinds == sorted(["ServiceAccount"] * 3 + ["Deployment"] * 3 + ["Service"] * 3
                           + ["PodDisruptionBudget"] * 2 + ["HorizontalPodAutoscaler"])


def test_every_child_is_parented_to_the_component_and_named_after_it():
    children = REC.descendants("n8n")
    assert children
    assert all(r.parent == "n8n" for r in children)
    assert all(r.name.startswith("n8n-") for r in children)


def test_autoscaled_deployments_leave_the_replica_count_to_the_autoscaler():
    ignored = {r.name: r.options["ignore_changes"] for r in REC.find(DEPLOYMENT)}
    assert ignored == {"n8n-deployment-n8n-main": [], "n8n-deployment-n8n-webhook": ["spec.replicas"],
                       "n8n-deployment-n8n-worker": ["spec.replicas"]}


def test_deployments_wait_for_their_service_account():
    for role in ("main", "webhook", "worker"):
        d = REC.one(DEPLOYMENT, f"n8n-deployment-n8n-{role}")
        assert f"n8n-serviceaccount-n8n-{role}" in d.options["depends_on"]


def test_webhook_processors_and_workers_roll_only_after_main():
    # The engine awaits main's rollout (ready = migrated) before it replaces the others (workloads.rollout_after).
    deps = {role: REC.one(DEPLOYMENT, f"n8n-deployment-n8n-{role}").options["depends_on"]
            for role in ("main", "webhook", "worker")}
    assert "n8n-deployment-n8n-main" in deps["webhook"]
    assert "n8n-deployment-n8n-main" in deps["worker"]
    assert not any("deployment" in d for d in deps["main"])
    assert "n8n-deployment-n8n-webhook" not in deps["worker"]  # the two others roll in parallel


def test_workers_drain_their_executions_within_the_grace_period():
    worker = next(m for m in REC.manifests() if m["kind"] == "Deployment" and m["metadata"]["name"] == "n8n-worker")
    pod = worker["spec"]["template"]["spec"]
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert int(env["N8N_GRACEFUL_SHUTDOWN_TIMEOUT"]) < pod["terminationGracePeriodSeconds"]


def test_outputs_name_the_services_and_urls():
    assert REC.exports == {
        "main_service": "n8n-main", "webhook_service": "n8n-webhook", "worker_service": "n8n-worker",
        "worker_deployment": "n8n-worker", "service_port": 5678,
        "editor_url": "https://n8n.example.com/", "webhook_url": "https://n8n.example.com/",
    }


def test_without_webhook_processors_main_serves_webhooks():
    rec = record(args(webhook=0))
    assert rec.exports["webhook_service"] == "n8n-main"
    assert not [r for r in rec.descendants("n8n") if "webhook" in r.name]


def test_invalid_shapes_stop_the_program():
    with pytest.raises(ValueError, match="main_replicas = 2: multi-main needs an Enterprise license"):
        record(args(main_replicas=2))
    with pytest.raises(TypeError, match="unexpected argument 'env'"):
        record({**args(), "env": ENV})
    with pytest.raises(ValueError, match="'worker_replicas' = -1"):
        record(args(worker_replicas=-1))


def test_webhook_processors_follow_the_webhook_replicas():
    rec = record(args(webhook=0))
    main = next(m for m in rec.manifests() if m["kind"] == "Deployment")
    env = {e["name"]: e["value"] for e in main["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "N8N_DISABLE_PRODUCTION_MAIN_PROCESS" not in env  # main serves production webhooks itself


def test_depends_on_reaches_every_workload():
    def secret():
        import pulumi_kubernetes as k8s

        return [k8s.core.v1.Secret("n8n-secret", metadata={"name": names.N8N_SECRET, "namespace": "n8n"},
                                   string_data={"encryption-key": pulumi.Output.secret("k" * 40)})]

    rec = record(before=secret)
    for d in rec.find(DEPLOYMENT):
        assert "n8n-secret" in d.options["depends_on"]


def test_registered_manifests_pass_strict_validation():
    manifests = REC.manifests()
    assert len(manifests) == 12
    assert gates.schema_errors(manifests) == []


def test_secrets_are_not_in_plain_text():
    secret_host = pulumi.Output.secret("db-7f3a.private.internal")

    def with_secret_host():
        env = dataclasses.replace(ENV, db=dataclasses.replace(DB, host=secret_host))
        N8nApp("n8n", args(env=env))

    rec = run(with_secret_host)
    main = rec.one(DEPLOYMENT, "n8n-deployment-n8n-main")
    env = main.inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    host = next(e["value"] for e in env if e["name"] == "DB_POSTGRESDB_HOST")
    assert is_secret(host) and plain(host) == "db-7f3a.private.internal"  # secret where it is placed
    text = json.dumps(rec.manifests())
    assert "db-7f3a.private.internal" not in text
    # nothing the component registers carries a secret value: n8n reads every secret from the mounted Secret
    assert not [r for r in rec.resources if r.type == "kubernetes:core/v1:Secret"]
    names_in_env = {e["name"] for m in REC.manifests() if m["kind"] == "Deployment"
                    for c in m["spec"]["template"]["spec"]["containers"] for e in c["env"]}
    assert {"N8N_ENCRYPTION_KEY", "DB_POSTGRESDB_PASSWORD", "QUEUE_BULL_REDIS_PASSWORD"}.isdisjoint(names_in_env)
    assert "N8N_ENCRYPTION_KEY_FILE" in names_in_env


def test_secrets_revision_annotates_every_pod_template_in_the_clear_so_specs_stay_reviewable():
    rec = run(lambda: N8nApp("n8n", args(secrets_revision=pulumi.Output.secret("0123456789abcdef"))))
    deployments = rec.find(DEPLOYMENT)
    assert len(deployments) == 3
    for d in deployments:
        # a secret annotation would make the whole spec read back as one secret (see secrets.placeable_revision)
        annotations = d.inputs["spec"]["template"]["metadata"]["annotations"]
        assert not is_secret(annotations[names.SECRETS_REVISION_ANNOTATION]), d.name
        assert annotations[names.SECRETS_REVISION_ANNOTATION] == "0123456789abcdef", d.name


def test_a_different_secrets_revision_changes_every_pod_template():
    def templates(rev: str) -> dict:
        rec = run(lambda: N8nApp("n8n", args(secrets_revision=pulumi.Output.secret(rev))))
        return {d.name: d.inputs["spec"]["template"] for d in rec.find(DEPLOYMENT)}

    before, after = templates("0123456789abcdef"), templates("fedcba9876543210")
    assert before.keys() == after.keys()
    assert all(before[name] != after[name] for name in before)


# --- Args as public API ---------------------------------------------------------------------------------------------


def _env_of(manifests: list[dict], deployment: str) -> dict:
    d = next(m for m in manifests if m["kind"] == "Deployment" and m["metadata"]["name"] == deployment)
    return {e["name"]: e["value"] for e in d["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_namespace_hostname_and_connections_alone_reproduce_the_platform_defaults():
    rec = record({"namespace": "n8n", "hostname": "n8n.example.com", "db": DB, "redis": REDIS})
    assert gates.schema_errors(rec.manifests()) == []
    worker = next(m for m in rec.manifests() if m["kind"] == "Deployment" and m["metadata"]["name"] == "n8n-worker")
    assert worker["spec"]["replicas"] == N8N.worker.min_replicas
    container = worker["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"{N8N.image}:{ENV.version}"
    assert container["resources"]["limits"] == {"cpu": N8N.worker.resources.cpu_limit,
                                                "memory": N8N.worker.resources.memory_limit}
    assert "tolerations" not in worker["spec"]["template"]["spec"]  # no spot pool unless told


def test_connection_passwords_are_read_from_the_secrets_their_references_name():
    env = dataclasses.replace(ENV, db=dataclasses.replace(DB, password=SecretKeyRef("team-db", "password")),
                              redis=dataclasses.replace(REDIS, password=SecretKeyRef("team-redis", "auth")))
    rec = record(args(env=env))
    manifests = rec.manifests()
    assert gates.schema_errors(manifests) == []
    for role in ("main", "webhook", "worker"):
        variables = _env_of(manifests, f"n8n-{role}")
        assert variables["DB_POSTGRESDB_PASSWORD_FILE"] == "/etc/n8n/connection-secrets/db/password"
        assert variables["QUEUE_BULL_REDIS_PASSWORD_FILE"] == "/etc/n8n/connection-secrets/redis/auth"
        pod = next(m for m in manifests if m["kind"] == "Deployment"
                   and m["metadata"]["name"] == f"n8n-{role}")["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["db-password"]["secret"] == {"secretName": "team-db", "defaultMode": 0o440,
                                                    "items": [{"key": "password", "path": "password"}]}
        assert volumes["redis-password"]["secret"]["secretName"] == "team-redis"
        mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        assert mounts["db-password"] == "/etc/n8n/connection-secrets/db"
        assert mounts["redis-password"] == "/etc/n8n/connection-secrets/redis"


def test_references_into_the_n8n_secret_keep_the_single_mount():
    manifests = REC.manifests()
    variables = _env_of(manifests, "n8n-main")
    assert variables["DB_POSTGRESDB_PASSWORD_FILE"] == f"/etc/n8n/secrets/{names.DB_PASSWORD}"
    pod = next(m for m in manifests if m["kind"] == "Deployment")["spec"]["template"]["spec"]
    assert "db-password" not in {v["name"] for v in pod["volumes"]}


def test_two_apps_share_a_namespace_under_their_own_prefix():
    def program():
        N8nApp("a", args())
        N8nApp("b", args(name_prefix="n8n-b"))

    rec = run(program)
    names_b = {m["metadata"]["name"] for m in rec.manifests() if m["metadata"]["name"].startswith("n8n-b-")}
    assert names_b == {"n8n-b-main", "n8n-b-webhook", "n8n-b-worker"}
    b_services = [m for m in rec.manifests() if m["kind"] == "Service" and m["metadata"]["name"].startswith("n8n-b")]
    assert all(m["spec"]["selector"]["app.kubernetes.io/instance"] == "n8n-b" for m in b_services)
    b_worker = next(m for m in rec.manifests() if m["metadata"]["name"] == "n8n-b-worker"
                    and m["kind"] == "Deployment")
    assert b_worker["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/instance"] == "n8n-b"
    assert b_worker["spec"]["template"]["spec"]["serviceAccountName"] == "n8n-b-worker"
    hpa = next(m for m in rec.manifests() if m["kind"] == "HorizontalPodAutoscaler"
               and m["metadata"]["name"] == "n8n-b-webhook")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "n8n-b-webhook"
    assert gates.schema_errors(rec.manifests()) == []


def test_resources_as_plain_mappings_and_an_output_hostname():
    out = {}

    def program():
        app = N8nApp("n8n", {"namespace": "n8n", "hostname": pulumi.Output.from_input("flows.example.org"),
                             "db": DB, "redis": REDIS, "worker_resources": {"cpuRequest": "2", "memoryLimit": "4Gi"}})
        out["url"] = app.editor_url

    rec = run(program)
    worker = next(m for m in rec.manifests() if m["kind"] == "Deployment" and m["metadata"]["name"] == "n8n-worker")
    limits = worker["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert limits["requests"]["cpu"] == "2" and limits["limits"]["memory"] == "4Gi"
    assert limits["limits"]["cpu"] == N8N.worker.resources.cpu_limit
    variables = _env_of(rec.manifests(), "n8n-main")
    assert variables["N8N_EDITOR_BASE_URL"] == "https://flows.example.org/"
    assert variables["N8N_HOST"] == "flows.example.org"
