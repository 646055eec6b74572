"""The library as a Pulumi component package for other languages: every public component is served (its schema
inferred by Pulumi's own analyzer, every input and output documented, the committed schema current, and the
component constructed through the component provider under mocks).

The analyzer runs in a fresh interpreter: inside a long test process its docstring lookup (inspect.getsource on the
Args class) was seen to miss a field now and then, depending on which modules ran before."""

import json
import subprocess
import sys

import pulumi
import pytest

import n8n_platform
from n8n_platform import provider
from tests.harness import run
from tests.wire import construct
from tools.offline import PYTHONPATH, ROOT

SCHEMA_FILE = ROOT / "components" / "schema.json"


def fresh(code: str, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": PYTHONPATH, "PATH": "/usr/bin:/bin"})


ANALYZE = """
import json
from n8n_platform import provider
served = provider.provider()  # Pulumi's analyzer, plus the descriptions settings sections keep in setting()
out = {name: {"description": d.description, "inputs": {k: v.description for k, v in d.inputs.items()},
              "outputs": {k: v.description for k, v in d.outputs.items()}}
       for name, d in served._component_defs.items()}
types = {name: {"description": t.description,
                "properties": {k: v.description for k, v in (t.properties or {}).items()}}
         for name, t in served._type_defs.items()}
print(json.dumps({"components": out, "types": types}))
"""


@pytest.fixture(scope="module")
def inferred() -> dict:
    done = fresh(ANALYZE)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_pulumi_infers_a_documented_schema_for_every_served_component(inferred):
    assert set(inferred["components"]) == {c.__name__ for c in n8n_platform.COMPONENTS}  # every public one
    for name, schema in inferred["components"].items():
        assert schema["description"], name
        assert schema["inputs"] and schema["outputs"], name
        undocumented = [k for k, doc in {**schema["inputs"], **schema["outputs"]}.items() if not doc]
        assert undocumented == [], name
        assert all(key[0].islower() and "_" not in key for key in schema["inputs"])  # camelCase wire names


def test_the_connection_types_are_documented_schema_types(inferred):
    types = inferred["types"]
    assert {"RedisConnection", "DatabaseConnection", "SecretKeyRef", "CaBundle", "LogLevel"} <= set(types)
    for name, t in types.items():
        assert t["description"], name
        assert all(doc for doc in t["properties"].values()), name


def test_the_committed_schema_is_current():
    done = fresh("from n8n_platform.provider import schema; print(schema(), end='')")
    assert done.returncode == 0, done.stderr
    assert SCHEMA_FILE.read_text() == done.stdout, (
        "components/schema.json is stale: PYTHONPATH=.:components python -m n8n_platform.provider > "
        "components/schema.json")
    assert json.loads(done.stdout)["version"] == n8n_platform.__version__


# --- construction through the component provider ------------------------------------------------------------------
# Inputs as another language sends them: camelCase names, complex types as plain mappings, enums as their values.

DB = {"host": "db.example.internal", "port": 5432, "database": "n8n", "user": "n8n", "schema": "n8n",
      "password": {"secret": "team-db", "key": "password"}, "ssl": True,
      "ca": {"source": "configMap", "name": "db-ca", "key": "ca.pem"}}
REDIS = {"host": "redis.example.internal", "port": 6379, "tls": True, "managed": True,
         "password": {"secret": "team-redis", "key": "auth"}}

WIRE_INPUTS = {
    "ArchiveBucket": {"pitrDays": 7, "dumps": True, "dumpRetentionDays": 30, "protect": False},
    "ElastiCacheRedis": {"engine": "valkey", "engineVersion": "8.1", "nodeType": "cache.t4g.small", "nodes": 2,
                         "snapshotRetentionDays": 1, "vpcId": "vpc-0a1b2c3d", "subnetIds": ["subnet-0a1b2c3d"],
                         "nodeSecurityGroupId": "sg-0a1b2c3d", "authToken": "TokenToken0123456789",
                         "logDelivery": False, "logRetentionDays": 30, "protect": False},
    "N8nApp": {"namespace": "flows", "hostname": "flows.example.com", "db": DB, "redis": REDIS, "logLevel": "debug",
               "webhookReplicas": 1, "workerResources": {"cpuRequest": "1", "memoryLimit": "3Gi"}},
    "Redis": {"namespace": "flows", "name": "queue"},
    "Edge": {"namespace": "flows", "hostname": "flows.example.com", "controller": "alb",
             "services": {"main": "n8n-main"}, "webhookProcessors": False, "rateLimits": {"loginPerMinute": 20},
             "editorAllowedCidrs": ["203.0.113.0/24"], "idleTimeoutSeconds": 300, "deregistrationDelaySeconds": 70,
             "zoneId": "Z0123456789ABC", "sourceCidrs": ["10.0.0.0/16"], "region": "eu-west-1",
             "oidc": {"issuer": "https://idp.example.com", "authorizationEndpoint": "https://idp.example.com/a",
                      "tokenEndpoint": "https://idp.example.com/t", "userInfoEndpoint": "https://idp.example.com/u",
                      "clientId": "n8n"}, "oidcClientSecret": "very-secret-value"},
    "GithubAccess": {"repository": "acme/flows", "environments": ["dev", "prod"]},
    "ClusterAddons": {"certManager": True, "keda": True, "acmeServer": "production", "acmeEmail": "ops@example.com"},
    "N8nNamespace": {"name": "flows", "podSecurity": "baseline",
                     "network": {"namespace": "flows", "postgresCidrs": ["10.0.0.0/16"], "monitoringNamespace": "mon"},
                     "quotaWorkloads": [{"name": "worker", "maxReplicas": 3, "containers": [{"cpuLimit": "2"}]}]},
    "WorkerAutoscaling": {"namespace": "flows", "deployment": "n8n-worker", "redis": REDIS, "maxReplicas": 8},
    "DatabaseDumps": {"namespace": "flows", "connection": DB, "schedule": "0 3 * * *",
                      "target": {"bucketName": "dumps", "bucketArn": "arn:aws:s3:::dumps", "prefix": "dumps/",
                                 "kmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/k", "region": "eu-west-1"},
                      "oidc": {"arn": "arn:aws:iam::123456789012:oidc-provider/oidc.example.com/id/X",
                               "issuer": "https://oidc.example.com/id/X"}},
    "Secrets": {"namespace": "flows", "escrow": False, "protect": False},
    "RdsDatabase": {"identifier": "flows-db", "namespace": "flows", "vpcId": "vpc-0a1b2c3d",
                    "subnetIds": ["subnet-0a1b2c3d", "subnet-1a1b2c3d"], "nodeSecurityGroupId": "sg-0a1b2c3d",
                    "n8nPassword": "p" * 40,
                    "database": {"connectionLimit": 50},
                    "rds": {"instanceClass": "db.t4g.medium", "multiAz": False}},
    "PatroniDatabase": {"namespace": "flows", "clusterName": "n8n-flows",
                        "patroni": {"members": 2, "volumeSize": "20Gi", "resources": {"cpuLimit": "1"}},
                        "archive": {"bucketName": "wal", "bucketArn": "arn:aws:s3:::wal", "prefix": "wal/",
                                    "kmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/k", "region": "eu-west-1"},
                        "oidc": {"arn": "arn:aws:iam::123456789012:oidc-provider/oidc.example.com/id/X",
                                 "issuer": "https://oidc.example.com/id/X"}},
    "Observability": {"namespace": "flows", "prometheusRelease": "kps", "grafanaFolder": "n8n",
                      "rules": {"namespace": "flows", "memoryLimits": {"main": "2Gi", "worker": "2Gi"},
                                "redisInCluster": True, "thresholds": {"queueBacklogJobs": 7}},
                      "cloudwatch": {"kmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/k",
                                     "elasticacheMembers": ["queue-001"], "emails": ["ops@example.com"],
                                     "rdsProxyName": "flows-db", "rdsProxyClients": 40,
                                     "moreAlarms": {"custom": {"namespace": "AWS/S3", "metricName": "BucketSizeBytes",
                                                               "dimensions": {"BucketName": "dumps"},
                                                               "statistic": "Maximum",
                                                               "comparisonOperator": "GreaterThanThreshold",
                                                               "threshold": 1e12, "alarmDescription": "big"}}}},
    "WorkerPool": {"clusterName": "c", "subnetIds": ["subnet-0a1b2c3d"], "instanceTypes": ["m6i.large", "m5.large",
                   "m6a.large"], "minNodes": 0, "maxNodes": 3, "desiredNodes": 1, "diskSizeGb": 50,
                   "partition": "aws", "tags": {"team": "flows"}},
    "Cluster": {"clusterName": "flows", "region": "eu-west-1", "partition": "aws", "vpcCidr": "10.30.0.0/16",
                "availabilityZones": 2, "natPerAz": False, "kubernetesVersion": "1.35",
                "systemNodeInstanceType": "m6i.large", "systemNodes": 1, "publicAccessCidrs": [],
                "adminRoleArns": ["arn:aws:iam::123456789012:role/ops"], "protect": False, "tags": {"team": "flows"}},
    "EncryptedStorageClass": {"kmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/k"},
    "N8nPlatform": {  # the stack settings as a TypeScript or YAML program writes them, over an existing EKS cluster
        "settings": {
            "environment": "prod", "namespace": "flows",
            "aws": {"region": "eu-west-1", "accountId": "123456789012", "tags": {"team": "flows"}},
            "cluster": {"name": "platform-prod", "vpcId": "vpc-0a1b2c3d", "vpcCidr": "10.20.0.0/16",
                        "privateSubnetIds": ["subnet-0a1b2c3d", "subnet-1a1b2c3d"],
                        "nodeSecurityGroupId": "sg-0a1b2c3d"},
            "n8n": {"logLevel": "warn", "worker": {"minReplicas": 2, "maxReplicas": 12,
                                                   "resources": {"cpuLimit": "2", "memoryLimit": "3Gi"}}},
            "database": {"engine": "rds", "rds": {"instanceClass": "db.m7g.xlarge"}},
            "redis": {"mode": "elasticache", "elasticache": {"engine": "redis", "engineVersion": "7.1"}},
            "edge": {"hostname": "flows.example.com", "controller": "alb", "zoneId": "Z0123456789ABC",
                     "editorAllowedCidrs": ["203.0.113.0/24"], "rateLimits": {"loginPerMinute": 20}},
            "observability": {"alarmEmails": ["ops@example.com"]},
        },
        "oidc": {"arn": "arn:aws:iam::123456789012:oidc-provider/oidc.example.com/id/X",
                 "issuer": "https://oidc.example.com/id/X"},
    },
}


def test_every_served_component_has_wire_inputs_here():
    assert set(WIRE_INPUTS) == {c.__name__ for c in provider.SERVED}


@pytest.mark.parametrize("name", sorted(WIRE_INPUTS))
def test_the_component_provider_constructs_it_under_mocks(name):
    served = provider.provider()
    results = {}

    def program():
        results["result"] = served.construct(name, f"n8n:index:{name}", WIRE_INPUTS[name],
                                             pulumi.ResourceOptions())

    rec = run(program)
    component = rec.one(f"n8n:index:{name}")
    assert rec.descendants(component.name), f"{name} registered no children"
    state = results["result"].state
    schema = json.loads(SCHEMA_FILE.read_text())["resources"][f"n8n:index:{name}"]
    assert set(state) <= set(schema["properties"]) and state, name


def test_wire_inputs_reach_the_manifests():
    served = provider.provider()
    rec = run(lambda: served.construct("app", "n8n:index:N8nApp", WIRE_INPUTS["N8nApp"], pulumi.ResourceOptions()))
    worker = next(m for m in rec.manifests() if m["kind"] == "Deployment" and m["metadata"]["name"] == "n8n-worker")
    container = worker["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["N8N_LOG_LEVEL"] == "debug" and env["N8N_HOST"] == "flows.example.com"
    assert env["DB_POSTGRESDB_PASSWORD_FILE"] == "/etc/n8n/connection-secrets/db/password"
    assert container["resources"]["requests"]["cpu"] == "1" and container["resources"]["limits"]["memory"] == "3Gi"
    assert worker["metadata"]["namespace"] == "flows"


def test_the_plugin_entry_point_serves_the_committed_schema_over_grpc():
    """What `pulumi package add` starts: components/__main__.py as a provider process that prints its port and
    answers GetSchema, here called over gRPC as the CLI does."""
    import grpc
    from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

    process = subprocess.Popen([sys.executable, "__main__.py", "127.0.0.1:1"], cwd=ROOT / "components",
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={"PYTHONPATH": str(ROOT / "components"), "PATH": "/usr/bin:/bin"})
    try:
        port = int(process.stdout.readline().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            reply = provider_pb2_grpc.ResourceProviderStub(channel).GetSchema(
                provider_pb2.GetSchemaRequest(version=0), timeout=60)
        assert json.loads(reply.schema) == json.loads(SCHEMA_FILE.read_text())
    finally:
        process.terminate()
        process.wait(timeout=30)



# --- N8nPlatform from another language: the settings object is checked and honoured like stack config -------------

def construct_platform(inputs: dict):
    served = provider.provider()
    return run(lambda: served.construct("n8n", "n8n:index:N8nPlatform", inputs, pulumi.ResourceOptions()))


def test_wire_settings_reach_the_platforms_resources():
    rec = construct_platform(WIRE_INPUTS["N8nPlatform"])
    assert rec.one("aws:elasticache/replicationGroup:ReplicationGroup").inputs["engine"] == "redis"
    assert rec.one("aws:rds/instance:Instance").inputs["instanceClass"] == "db.m7g.xlarge"
    assert rec.find("aws:wafv2/webAcl:WebAcl") and not rec.find("kubernetes:acid.zalan.do/v1:postgresql")
    worker = next(m for m in rec.manifests() if m["kind"] == "Deployment" and m["metadata"]["name"] == "n8n-worker")
    container = worker["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "N8N_LOG_LEVEL", "value": "warn"} in container["env"]
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "3Gi"}
    assert worker["metadata"]["namespace"] == "flows"


def test_a_kubeconfig_cluster_from_another_language_needs_no_oidc_and_no_aws(tmp_path):
    settings = {"environment": "dev", "namespace": "flows", "aws": {"region": "eu-west-1"},
                "cluster": {"kubeconfig": "~/.kube/config", "context": "kind-flows"},
                "database": {"engine": "patroni", "patroni": {"members": 2, "synchronous": False}},
                "redis": {"mode": "in-cluster"}, "workerPool": {"enabled": False},
                "edge": {"hostname": "flows.example.com", "controller": "gateway", "acmeServer": "staging",
                         "acmeEmail": "ops@example.com"}}
    rec = construct_platform({"settings": settings})
    assert not [r for r in rec.resources if r.type.startswith("aws:")]
    kinds = {m["kind"] for m in rec.manifests()}
    assert {"Gateway", "HTTPRoute", "StatefulSet", "postgresql"} <= kinds and "Ingress" not in kinds
    issuer = next(m for m in rec.manifests() if m["kind"] == "ClusterIssuer" and "acme" in m["spec"])
    assert "staging" in issuer["spec"]["acme"]["server"]


def platform_error(inputs: dict) -> str:
    with pytest.raises(Exception) as caught:
        construct_platform(inputs)
    return str(caught.value)


def test_bad_wire_settings_fail_naming_every_key_value_and_what_is_allowed():
    settings = {**WIRE_INPUTS["N8nPlatform"]["settings"], "namespace": "Flows!"}
    settings["n8n"] = {**settings["n8n"], "worker": {"concurrency": 2}, "timezone": ""}
    message = platform_error({**WIRE_INPUTS["N8nPlatform"], "settings": settings})
    assert "settings.namespace = 'Flows!': must be a DNS label" in message
    assert "settings.n8n.worker.concurrency = 2: must be between 5 and 200" in message
    assert "settings.n8n.timezone = '': must not be empty" in message


def test_a_wire_value_outside_an_enum_fails_naming_the_key_and_the_enum():
    """Checked by Pulumi's component provider before the component runs (generated SDKs type these already)."""
    settings = {**WIRE_INPUTS["N8nPlatform"]["settings"], "environment": "staging"}
    message = platform_error({**WIRE_INPUTS["N8nPlatform"], "settings": settings})
    assert "settings.environment" in message and "staging" in message and "Environment" in message


def test_wire_settings_obey_the_rules_across_keys():
    settings = {**WIRE_INPUTS["N8nPlatform"]["settings"]}
    settings["edge"] = {**settings["edge"], "waf": False}
    message = platform_error({**WIRE_INPUTS["N8nPlatform"], "settings": settings})
    assert "settings.edge.waf = False: prod needs the WAF" in message


def test_the_oidc_provider_goes_with_an_eks_cluster_and_only_with_one():
    message = platform_error({"settings": WIRE_INPUTS["N8nPlatform"]["settings"]})
    assert "'oidc'" in message and "cluster.name='platform-prod'" in message


def test_an_enum_inside_an_output_object_reaches_other_languages_as_its_value():
    """Pulumi 3.272's provider maps an enum nested in an output object as an object: ca.source arrived as {}."""
    done = construct("Redis", WIRE_INPUTS["Redis"])
    assert done.error is None, done.error
    assert done.state["connection"]["ca"] == {"source": "secret", "name": "queue-tls", "key": "ca.crt"}
