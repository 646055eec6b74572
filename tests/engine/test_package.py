"""The component package served to other languages by the real CLI: ``pulumi package get-schema`` runs
components/PulumiPlugin.yaml through the Python language host and gets the committed schema back; ``pulumi package
gen-sdk`` writes Go and TypeScript SDKs that compile; a Pulumi YAML program deploys ``N8nNamespace`` and ``Redis``
through the component provider onto a real API server and destroys them.

What is not upstream here (tools/testing/engine/build.py): the Go and Node.js language hosts are code-generation-only
hosts running pulumi/pkg's own SDK generators (the hosts' modules are not served), and the aws plugin is a schema-only
stand-in (the schema refers to its provider resource). The Go SDK is compiled against an aws SDK generated from that
stand-in's schema (pulumi-aws's sdk/v7 module is not served either); the TypeScript SDK against the real ``@pulumi/aws``
from npm.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from n8n_platform.namespace import N8nNamespace, NetworkPlan, PodSecurity
from n8n_platform.provider import SERVED
from n8n_platform.redis import Redis
from n8n_platform.redis import quota as redis_quota
from tests.engine.conftest import Timer
from tests.engine.test_local_stack import Api
from tools import offline
from tools.testing.engine import build, crds
from tools.testing.engine.cluster import Cluster
from tools.testing.engine.compare import differences
from tools.testing.engine.package import COMPONENTS, PackageCopy, as_served

pytestmark = pytest.mark.engine

NPM_PINS = {"@pulumi/pulumi": "3.270.0", "@pulumi/aws": "7.48.0"}
"""The TypeScript SDK's dependencies as installed for the type check: the generated package.json asks for
@pulumi/aws at the schema's 7.51.1, which the npm registry does not have yet (its newest is 7.48.0; the provider
resource the SDK refers to is the same in every 7.x)."""
NPM_DEV_PINS = {"typescript": "5.9.3", "@types/node": "20.9.5"}
GO_SDK_MODULE = "example.com/pulumi-n8n/sdk"
"""Where Pulumi's Go generator puts a package whose schema names no Go import path."""
AWS_GO_SDK_MODULE = "github.com/pulumi/pulumi-aws/sdk/v7"


def run(argv: list[str], cwd: Path, timeout: float = 900, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})})
    assert result.returncode == 0, f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> PackageCopy:
    with Timer("engine build (warm if cached)"):
        build.build_all()
    return PackageCopy.make(tmp_path_factory.mktemp("package"))


@pytest.fixture(scope="module")
def served_schema(package) -> Path:
    """The schema the CLI gets by starting the plugin (it installs the plugin's virtualenv first)."""
    with Timer("pulumi package get-schema (plugin venv)"):
        result = package.pulumi("package", "get-schema", str(package.directory))
    path = package.directory.parent / "served-schema.json"
    path.write_text(result.stdout)
    return path


def test_get_schema_through_the_plugin_entry_point_returns_the_committed_schema(served_schema):
    served = json.loads(served_schema.read_text())
    assert sorted(served["resources"]) == sorted(f"n8n:index:{component.__name__}" for component in SERVED)
    assert served == as_served(json.loads((COMPONENTS / "schema.json").read_text()))


def gen_sdk(package: PackageCopy, source: str, language: str, out: Path) -> Path:
    package.pulumi("package", "gen-sdk", source, "--language", language, "--out", str(out))
    return out / language


GO_PROGRAM = """package main

import (
	"example.com/pulumi-n8n/sdk/go/n8n"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		queue, err := n8n.NewRedis(ctx, "queue", &n8n.RedisArgs{Namespace: pulumi.String("n8n")})
		if err != nil {
			return err
		}
		ctx.Export("connection", queue.Connection)
		return nil
	})
}
"""


def go_mod(module: str, requires: dict[str, str], replaces: dict[str, str] | None = None) -> str:
    lines = [f"module {module}", "", "go 1.25", "", "require ("]
    lines += [f"\t{path} {version}" for path, version in requires.items()] + [")"]
    lines += [f"replace {path} => {target}" for path, target in (replaces or {}).items()]
    return "\n".join(lines) + "\n"


def test_the_go_sdk_the_cli_generates_builds_and_vets_with_a_program_using_it(package, served_schema, tmp_path):
    pulumi_go = build.SDK_VERSION
    with Timer("pulumi package gen-sdk go"):
        sdk = gen_sdk(package, str(served_schema), "go", tmp_path / "n8n")
        aws = gen_sdk(package, f"aws@{build.AWS_PLUGIN}", "go", tmp_path / "aws")
    assert (sdk / "n8n" / "redis.go").is_file() and (sdk / "n8n" / "n8nApp.go").is_file()
    seed = (Path(build.GO_DIR) / "random" / "go.sum").read_text()  # sdk/v3's graph: no lookups for most sums
    (aws.parent / "go.mod").write_text(go_mod(AWS_GO_SDK_MODULE, {"github.com/pulumi/pulumi/sdk/v3": pulumi_go}))
    (sdk.parent / "go.mod").write_text(go_mod(
        GO_SDK_MODULE, {"github.com/pulumi/pulumi/sdk/v3": pulumi_go, AWS_GO_SDK_MODULE: f"v{build.AWS_PLUGIN}"},
        {AWS_GO_SDK_MODULE: str(aws.parent)}))
    (sdk.parent / "consumer").mkdir()
    (sdk.parent / "consumer" / "main.go").write_text(GO_PROGRAM)
    env = {"GOFLAGS": "-mod=mod"}
    with Timer("go build + vet (generated Go SDK)"):
        for module in (aws.parent, sdk.parent):
            (module / "go.sum").write_text(seed)
            run(["go", "mod", "tidy"], module, env=env)
        run(["nice", "-n", "10", "go", "build", "./..."], sdk.parent)
        run(["nice", "-n", "10", "go", "vet", "./..."], sdk.parent)


def test_the_typescript_sdk_the_cli_generates_type_checks(package, served_schema, tmp_path):
    with Timer("pulumi package gen-sdk nodejs"):
        sdk = gen_sdk(package, str(served_schema), "nodejs", tmp_path)
    manifest = json.loads((sdk / "package.json").read_text())
    assert manifest["name"] == "@pulumi/n8n" and set(manifest["dependencies"]) == set(NPM_PINS)
    manifest["dependencies"], manifest["devDependencies"] = NPM_PINS, NPM_DEV_PINS
    (sdk / "package.json").write_text(json.dumps(manifest, indent=2))
    with Timer("npm install (pinned)"):
        run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund"], sdk)
    with Timer("tsc --noEmit (generated TypeScript SDK)"):
        run(["nice", "-n", "10", "npx", "--no-install", "tsc", "--noEmit", "-p", "."], sdk)
    assert "export class Redis extends pulumi.ComponentResource" in (sdk / "redis.ts").read_text()


NAMESPACE = "yaml-consumer"
REDIS_ARGS = {"name": "queue", "memory": "512Mi", "storage_size": "1Gi", "storage_class": "standard"}
"""The Redis the YAML program declares (its namespace aside), in the Python component's terms."""


def camel(value: Any) -> Any:
    """A Python value as another language writes it: camelCase keys, dataclasses as objects, enums as values,
    unset (None) fields left out."""
    if dataclasses.is_dataclass(value):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), k): camel(v) for k, v in value.items()
                if v is not None}
    if isinstance(value, list | tuple):
        return [camel(item) for item in value]
    return json.loads(json.dumps(value))


def namespace_args() -> dict[str, Any]:
    """N8nNamespace's arguments: an object type (the network plan), an enum, a list of objects (the budget Redis
    needs, from the Python library's own ``quota``)."""
    return {"name": NAMESPACE, "network": NetworkPlan(namespace=NAMESPACE, redis_in_cluster=True),
            "pod_security": PodSecurity.RESTRICTED, "quota_workloads": [redis_quota(memory=REDIS_ARGS["memory"])]}


def yaml_program() -> dict[str, Any]:
    """A Pulumi YAML project using two of the package's components, one's output feeding the other
    (``packages: n8n: .``: it sits in the package directory, where the older Python host built here has to start
    the plugin from)."""
    return {
        "name": "n8n-yaml-consumer", "runtime": "yaml", "packages": {"n8n": "."},
        "resources": {
            "ns": {"type": "n8n:index:N8nNamespace", "properties": camel(namespace_args())},
            "queue": {"type": "n8n:index:Redis",
                      "properties": {"namespace": "${ns.namespaceName}", **camel(REDIS_ARGS)}},
        },
        "outputs": {"namespace": "${ns.namespaceName}", "host": "${queue.host}", "port": "${queue.port}",
                    "connection": "${queue.connection}"},
    }


@pytest.fixture(scope="module")
def cluster(package):
    control_plane = Cluster(build.CACHE / "cluster-package")
    control_plane.stop()  # a control plane left by an interrupted run
    with Timer("control plane start (package)"):
        control_plane.start()
        crds.apply(control_plane)
    yield control_plane
    control_plane.stop()


@pytest.fixture(scope="module")
def python_redis() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The same namespace and Redis from the Python components in-process, under the mock runtime: their
    Kubernetes objects and Redis's connection output as another language sees it."""
    import pulumi

    def program():
        N8nNamespace("ns", namespace_args())
        redis = Redis("queue", {"namespace": NAMESPACE, **REDIS_ARGS})  # what ns.namespaceName resolves to
        pulumi.export("connection", redis.connection)

    recording = offline.run(program)
    return recording.manifests(), camel(recording.exports["connection"])


@pytest.fixture(scope="module")
def yaml_stack(package, cluster) -> dict[str, str]:
    """The YAML program deployed (``pulumi up``); the environment its commands need."""
    import yaml

    (package.directory / "Pulumi.yaml").write_text(yaml.safe_dump(yaml_program(), sort_keys=False))
    env = {"KUBECONFIG": str(cluster.kubeconfig)}
    package.pulumi("stack", "init", "dev", env=env)
    with Timer("pulumi up (YAML: N8nNamespace + Redis)"):
        package.pulumi("up", "--yes", "--skip-preview", env=env)
    return env


def test_a_yaml_program_creates_the_objects_the_python_component_renders(yaml_stack, python_redis, cluster):
    manifests, _ = python_redis
    assert {m["kind"] for m in manifests} >= {"Namespace", "NetworkPolicy", "ResourceQuota", "StatefulSet",
                                              "Service", "ConfigMap", "Certificate"}
    api = Api(cluster)
    mismatches = {}
    for manifest in manifests:
        live = api.get(manifest)
        found = ["missing from the API server"] if live is None else differences(manifest, live)
        if found:
            mismatches[f"{manifest['kind']} {manifest['metadata']['name']}"] = found
    assert not mismatches, json.dumps(mismatches, indent=2)
    pods = cluster.request("GET", f"/api/v1/namespaces/{NAMESPACE}/pods")["items"]
    assert [pod["metadata"]["name"] for pod in pods] == ["queue-0"], "Redis's pod was not admitted"


def stack_outputs(package: PackageCopy, env: dict[str, str]) -> dict[str, Any]:
    return json.loads(package.pulumi("stack", "output", "--json", "--show-secrets", env=env).stdout)


def test_the_yaml_program_gets_the_components_outputs_and_its_children_in_state(package, yaml_stack, python_redis):
    _, connection = python_redis
    outputs = stack_outputs(package, yaml_stack)
    assert outputs["namespace"] == NAMESPACE
    assert outputs["host"] == f"queue.{NAMESPACE}.svc" and outputs["port"] == 6379
    assert outputs["connection"] == connection  # enums inside it (ca.source) as their values
    state = json.loads(package.pulumi("stack", "export", env=yaml_stack).stdout)["deployment"]["resources"]
    for token, child in (("n8n:index:Redis", "kubernetes:apps/v1:StatefulSet"),
                         ("n8n:index:N8nNamespace", "kubernetes:core/v1:Namespace")):
        (component,) = [r for r in state if r["type"] == token]
        children = {r["type"] for r in state if r.get("parent") == component["urn"]}
        assert child in children, (token, children)
    package.pulumi("preview", "--expect-no-changes", env=yaml_stack)


def test_destroy_removes_what_the_yaml_program_created(package, yaml_stack, python_redis, cluster):
    manifests, _ = python_redis
    api = Api(cluster)
    with Timer("pulumi destroy (YAML program)"):
        package.pulumi("destroy", "--yes", env=yaml_stack)
    deadline = time.monotonic() + 120
    remaining = manifests
    while remaining and time.monotonic() < deadline:
        remaining = [m for m in remaining if api.get(m) is not None]
        if remaining:
            time.sleep(2)
    assert not remaining, [f"{m['kind']}/{m['metadata']['name']}" for m in remaining]
    assert not json.loads(package.pulumi("stack", "export", env=yaml_stack).stdout)["deployment"].get("resources")
