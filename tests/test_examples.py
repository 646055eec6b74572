"""examples/: each small Pulumi project runs under the mock runtime exactly as `pulumi up` would run its
__main__.py, and registers what its README promises."""

import runpy
from pathlib import Path

import pytest
import yaml

from tests.harness import run
from tools.ci import gates
from tools.offline import ROOT, load_stack_config

EXAMPLES = ROOT / "examples"


def _program(folder: str):
    path = EXAMPLES / folder / "__main__.py"

    def program() -> None:  # returns nothing for the mock runtime to await (run_path returns the globals)
        runpy.run_path(str(path), run_name="__main__")

    return program


@pytest.mark.parametrize("folder", ["redis", "n8n-on-existing-data", "platform-on-kubeconfig",
                                    "platform-on-new-account"])
def test_every_example_is_a_python_pulumi_project_on_this_library(folder):
    project = yaml.safe_load((EXAMPLES / folder / "Pulumi.yaml").read_text())
    assert project["runtime"]["name"] == "python" and project["description"]
    assert "../../components" in (EXAMPLES / folder / "requirements.txt").read_text().split()
    assert (EXAMPLES / folder / "__main__.py").read_text().startswith('"""')


def test_redis_on_its_own_with_your_issuer_and_password_secret():
    rec = run(_program("redis"))
    redis = rec.one("n8n:index:Redis")
    assert redis.name == "queue"
    objects = {(m["kind"], m["metadata"]["name"]) for m in rec.manifests()}
    assert {("StatefulSet", "queue"), ("Service", "queue-headless"), ("Secret", "queue-auth")} <= objects
    cert = next(m for m in rec.manifests() if m["kind"] == "Certificate")
    assert cert["spec"]["issuerRef"]["name"] == "team-ca" and cert["metadata"]["namespace"] == "automation"
    sts = rec.one("kubernetes:apps/v1:StatefulSet")
    assert sts.options["protect"] and sts.options["retain_on_delete"]
    assert "queue-auth" in sts.options["depends_on"]
    assert rec.exports["host"] == "queue.automation.svc" and rec.exports["caSecret"] == "queue-tls"
    assert gates.schema_errors([m for m in rec.manifests() if m["kind"] != "Certificate"]) == []


def test_n8n_app_on_a_database_and_redis_you_already_have():
    rec = run(_program("n8n-on-existing-data"))
    deployments = [m for m in rec.manifests() if m["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} == {"n8n-main", "n8n-webhook", "n8n-worker"}
    for d in deployments:
        pod = d["spec"]["template"]["spec"]
        secrets = {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
        assert {"team-postgres", "team-redis", "n8n-secrets"} <= secrets
        env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
        assert env["DB_POSTGRESDB_HOST"] == "postgres.data.svc" and env["QUEUE_BULL_REDIS_HOST"] == "redis.data.svc"
    assert rec.exports["editorUrl"] == "https://n8n.example.com/"
    assert not [r for r in rec.resources if r.type.startswith("aws:")]
    assert gates.schema_errors(rec.manifests()) == []


def test_the_whole_platform_on_a_kubeconfig_cluster_without_aws(tmp_path: Path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "lab",
        "clusters": [{"name": "lab", "cluster": {"server": "https://127.0.0.1:6443"}}],
        "users": [{"name": "me", "user": {"token": "t"}}],
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "me"}}]}))
    raw, secrets = load_stack_config("example", {"cluster": {"kubeconfig": str(kubeconfig)}},
                                     root=EXAMPLES / "platform-on-kubeconfig")
    rec = run(_program("platform-on-kubeconfig"), stack="example", config=raw, secret_keys=secrets)
    assert rec.one("n8n:index:N8nPlatform").name == "n8n"
    assert not [r for r in rec.resources if r.type.startswith("aws:")]
    types = {r.type for r in rec.resources}
    assert {"n8n:index:PatroniDatabase", "n8n:index:Redis", "n8n:index:N8nApp"} <= types
    assert rec.exports["editorUrl"] == "https://n8n.example.com/"
    assert rec.one("pulumi:providers:kubernetes").name == "cluster"


def test_the_whole_platform_in_an_empty_account_through_the_example_s_main():
    from tools.offline import credentials_of_stack

    raw, secrets = load_stack_config("example", root=EXAMPLES / "platform-on-new-account")
    rec = run(_program("platform-on-new-account"), stack="example", config=raw, secret_keys=secrets,
              invokes=credentials_of_stack(raw))
    cluster = rec.one("n8n:index:Cluster")
    assert rec.one("aws:eks/cluster:Cluster").parent == cluster.name
    assert {"n8n:index:N8nPlatform", "n8n:index:RdsDatabase", "n8n:index:EncryptedStorageClass"} <= {
        r.type for r in rec.resources}
    assert rec.exports["clusterName"] == "n8n-staging" and rec.exports["editorUrl"] == "https://n8n.staging.example.com/"
