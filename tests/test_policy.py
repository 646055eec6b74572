"""The policy pack (policy/): every rule passes on the dev and prod plans and fires on a resource broken for it.

Rules run through their own `validate`, over the resources the offline runtime recorded, shaped as the engine
hands them to a policy (tools.ci.policy_check); the last tests start the pack the way the Pulumi CLI does and talk to
its analyzer over gRPC.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from pulumi_policy import PolicyResource

from policy.n8n_policy import NAME, POLICIES
from tools import offline
from tools.ci import policy_check

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BY_NAME = {p.name: p for p in POLICIES}


@functools.cache
def recording(stack: str) -> offline.Recording:
    return offline.run_stack(stack)


def resources(stack: str) -> list[PolicyResource]:
    """Fresh resources of ``stack`` (their props may be mutated by a test)."""
    return policy_check.policy_resources(recording(stack), stack)


def one(found: list[PolicyResource], type_: str, name: str | None = None) -> PolicyResource:
    matches = [r for r in found if r.resource_type == type_ and (name is None or r.name == name)]
    assert matches, f"no {type_} {name or ''} in the plan"
    return matches[0]


def violations(policy: str, stack: str, found: list[PolicyResource]) -> list[policy_check.Violation]:
    return policy_check.run_policy(BY_NAME[policy], found, policy_check.policy_config(stack))


def test_rule_names_are_unique_and_each_rule_says_what_it_protects_against():
    assert len(BY_NAME) == len(POLICIES)
    assert all(len(p.description) > 40 for p in POLICIES)


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("policy", sorted(BY_NAME))
def test_rule_passes_on_the_stacks_plan(stack, policy):
    assert violations(policy, stack, resources(stack)) == []


def test_the_dev_config_is_what_lets_dev_pass():
    """Without its config dev breaks the prod-only rules: the knobs, not the rules, make the difference."""
    broken = {v.policy for v in policy_check.check(recording("dev"), "dev", config={})}
    assert broken == {"stateful-resources-protected"}


def test_a_config_naming_an_unknown_rule_is_refused(tmp_path):
    (tmp_path / "dev.json").write_text(json.dumps({"rds-multiaz": {"required": False}}))
    with pytest.raises(ValueError, match=r"no such policy.*rds-multiaz"):
        policy_check.policy_config("dev", tmp_path)


# --- each rule fires on a resource broken for it --------------------------------------------------------------------

RDS = "aws:rds/instance:Instance"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def _container(found: list[PolicyResource]) -> dict[str, Any]:
    return one(found, DEPLOYMENT).props["spec"]["template"]["spec"]["containers"][0]


def _ctx(found: list[PolicyResource]) -> dict[str, Any]:
    return _container(found)["securityContext"]


def _set(found, type_, name, **props) -> PolicyResource:
    resource = one(found, type_, name)
    for key, value in props.items():
        if value is None:
            resource.props.pop(key, None)
        else:
            resource.props[key] = value
    return resource


def _drop_tls_statement(found):
    policy = one(found, "aws:s3/bucketPolicy:BucketPolicy", "n8n-archive-dumps-policy")
    document = json.loads(policy.props["policy"])
    document["Statement"] = [s for s in document["Statement"] if s["Sid"] != "DenyInsecureTransport"]
    policy.props["policy"] = json.dumps(document)
    return one(found, "aws:s3/bucket:Bucket", "n8n-archive-dumps")


def _unlogged_bucket(found):
    """A new bucket that nothing logs (removing a logging resource could also orphan the log bucket)."""
    dumps = one(found, "aws:s3/bucket:Bucket", "n8n-archive-dumps")
    stray = PolicyResource(dumps.resource_type, dict(dumps.props), dumps.urn.replace("::n8n-archive-dumps", "::stray"),
                           "stray", dumps.opts, None, dumps.parent, [], {})
    found.append(stray)
    return stray


def _sse_s3_on_dumps(found):
    _set(found, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
         "n8n-archive-dumps-encryption", rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}])
    return one(found, "aws:s3/bucket:Bucket", "n8n-archive-dumps")


def _iam_conflict(found):
    attachment = one(found, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    role = attachment.property_dependencies["role"][0]
    role.props["managedPolicyArns"] = ["arn:aws:iam::aws:policy/AdministratorAccess"]
    return role


def _public_ingress(found):
    rule = one(found, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "n8n-db-from-nodes")
    rule.props.pop("referencedSecurityGroupId")
    rule.props["cidrIpv4"] = "0.0.0.0/0"
    return rule


def _no_seccomp(found):
    deployment = one(found, DEPLOYMENT)
    deployment.props["spec"]["template"]["spec"]["securityContext"].pop("seccompProfile")
    _ctx(found).pop("seccompProfile")
    return deployment


def _root(found):
    _ctx(found)["runAsUser"] = 0
    return one(found, DEPLOYMENT)


def _mutate_ctx(**values):
    def mutate(found):
        _ctx(found).update(values)
        return one(found, DEPLOYMENT)
    return mutate


def _mutate_container(**values):
    def mutate(found):
        _container(found).update(values)
        return one(found, DEPLOYMENT)
    return mutate


def _load_balancer(found):
    service = one(found, "kubernetes:core/v1:Service")
    service.props["spec"]["type"] = "LoadBalancer"
    return service


def _unprotect(found):
    rds = one(found, RDS)
    rds.opts.protect = False
    return rds


Mutation = Callable[[list[PolicyResource]], PolicyResource]

BREAKS: dict[str, tuple[str, Mutation, str]] = {
    "rds-encrypted-with-customer-key": ("prod", lambda f: _set(f, RDS, None, kmsKeyId=None), "customer-managed"),
    "rds-not-publicly-accessible": ("prod", lambda f: _set(f, RDS, None, publiclyAccessible=True), "publicly"),
    "rds-multi-az": ("prod", lambda f: _set(f, RDS, None, multiAz=False), "one availability zone"),
    "rds-deletion-protection": ("prod", lambda f: _set(f, RDS, None, deletionProtection=False), "deletion"),
    "rds-backups-retained": ("prod", lambda f: _set(f, RDS, None, backupRetentionPeriod=7), "at least 14"),
    "s3-public-access-blocked": ("prod", lambda f: _set(
        f, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "n8n-archive-dumps-public-access",
        restrictPublicBuckets=False), "restrictPublicBuckets"),
    "s3-tls-only": ("prod", _drop_tls_statement, "TLS"),
    "s3-versioning-enabled": ("dev", lambda f: _set(
        f, "aws:s3/bucketVersioning:BucketVersioning", "n8n-archive-wal-versioning",
        versioningConfiguration={"status": "Suspended"}), "versioning"),
    "s3-access-logging": ("prod", _unlogged_bucket, "access logging"),
    "s3-default-encryption": ("prod", _sse_s3_on_dumps, "KMS key"),
    "s3-backup-object-lock": ("prod", lambda f: _set(f, "aws:s3/bucket:Bucket", "n8n-archive-dumps",
                                                     objectLockEnabled=False), "Object Lock"),
    "kms-key-rotation": ("dev", lambda f: _set(f, "aws:kms/key:Key", None, enableKeyRotation=False), "rotation"),
    "secretsmanager-customer-key": ("prod", lambda f: _set(f, "aws:secretsmanager/secret:Secret", None,
                                                           kmsKeyId=None), "customer-managed"),
    "elasticache-tls-auth-encrypted": ("prod", lambda f: _set(
        f, "aws:elasticache/replicationGroup:ReplicationGroup", None, transitEncryptionEnabled=False), "TLS"),
    "ec2-launch-template-hardened": ("dev", lambda f: _set(
        f, "aws:ec2/launchTemplate:LaunchTemplate", None, metadataOptions={"httpTokens": "optional"}), "IMDSv2"),
    "ec2-no-public-ingress": ("prod", _public_ingress, "whole internet"),
    "iam-role-no-policy-management-conflicts": ("prod", _iam_conflict, "managedPolicyArns"),
    "k8s-run-as-non-root": ("prod", _root, "UID 0"),
    "k8s-read-only-root-filesystem": ("prod", _mutate_ctx(readOnlyRootFilesystem=False), "writable"),
    "k8s-no-privilege-escalation": ("dev", _mutate_ctx(allowPrivilegeEscalation=True), "escalate"),
    "k8s-drop-all-capabilities": ("prod", _mutate_ctx(capabilities={"drop": ["NET_RAW"]}), "ALL"),
    "k8s-seccomp-profile": ("prod", _no_seccomp, "seccomp"),
    "k8s-requests-and-limits": ("prod", _mutate_container(resources={"requests": {"cpu": "1"}}),
                                "requests.memory, limits.memory"),
    "k8s-pinned-images": ("dev", _mutate_container(image="docker.n8n.io/n8nio/n8n"), "no fixed tag"),
    "k8s-no-secret-in-env-value": ("prod", lambda f: _container(f)["env"].append(
        {"name": "DB_POSTGRESDB_PASSWORD", "value": "hunter2"}) or one(f, DEPLOYMENT), "DB_POSTGRESDB_PASSWORD"),
    "k8s-exposure-through-edge-only": ("prod", _load_balancer, "LoadBalancer Service outside the edge"),
    "stateful-resources-protected": ("prod", _unprotect, "not protected"),
}


def test_every_rule_has_a_breaking_case():
    from tests.test_policy_eks import BROKEN as EKS_BROKEN  # the EKS rules break a created cluster (example stack)

    assert set(BREAKS) | {policy for policy, _, _ in EKS_BROKEN} == set(BY_NAME)
    assert not set(BREAKS) & {policy for policy, _, _ in EKS_BROKEN}


@pytest.mark.parametrize("policy", sorted(BREAKS))
def test_rule_fires_on_a_resource_broken_for_it(policy):
    stack, mutate, expected = BREAKS[policy]
    found = resources(stack)
    broken = mutate(found)
    reported = violations(policy, stack, found)
    assert reported, f"{policy} did not fire"
    assert {v.urn for v in reported} == {broken.urn}
    assert any(expected in v.message for v in reported), [v.message for v in reported]
    assert all(v.level == "mandatory" for v in reported)


# --- finer points of single rules -----------------------------------------------------------------------------------

def test_edge_children_may_expose_and_the_allowed_ancestors_are_a_knob():
    found = resources("prod")
    service = _load_balancer(found)
    parent_chain = service.urn.split("::")[2].rsplit("$", 1)
    service.urn = service.urn.replace(parent_chain[0], parent_chain[0] + "$n8n:index:Edge")
    assert violations("k8s-exposure-through-edge-only", "prod", found) == []
    config = {"k8s-exposure-through-edge-only": {"allowedAncestors": ["acme:index:Gateway"]}}
    assert policy_check.run_policy(BY_NAME["k8s-exposure-through-edge-only"], found, config)


def test_ingress_and_gateway_routes_outside_the_edge_are_refused():
    from policy.n8n_policy import rule

    found = resources("dev")
    namespace = one(found, "kubernetes:core/v1:Namespace")
    for type_ in ("kubernetes:networking.k8s.io/v1:Ingress", "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"):
        extra = PolicyResource(type_, {"spec": {}}, namespace.urn.replace("::" + namespace.name, "") + "$" + type_
                               + "::stray", "stray", namespace.opts, None, None, [], {})
        assert rule.ancestor_types(extra.urn)[-1] == namespace.resource_type
        assert [v.urn for v in violations("k8s-exposure-through-edge-only", "dev", [extra])] == [extra.urn]


def test_multi_az_is_a_knob_and_levels_are_configurable():
    found = resources("prod")
    _set(found, RDS, None, multiAz=False)
    multi_az = BY_NAME["rds-multi-az"]
    assert policy_check.run_policy(multi_az, found, {"rds-multi-az": {"required": False}}) == []
    advisory = policy_check.run_policy(multi_az, found, {"rds-multi-az": {"enforcementLevel": "advisory"}})
    assert [v.level for v in advisory] == ["advisory"]
    assert policy_check.run_policy(multi_az, found, {"rds-multi-az": {"enforcementLevel": "disabled"}}) == []


def test_a_bucket_without_its_settings_is_reported_on_the_bucket():
    found = [r for r in resources("prod") if not r.resource_type.startswith(
        ("aws:s3/bucketPublicAccessBlock", "aws:s3/bucketVersioning", "aws:s3/bucketPolicy"))]
    buckets = {r.urn for r in found if r.resource_type == "aws:s3/bucket:Bucket"}
    for policy in ("s3-public-access-blocked", "s3-versioning-enabled", "s3-tls-only"):
        assert {v.urn for v in violations(policy, "prod", found)} == buckets


@pytest.mark.parametrize("name,fires", [
    ("DB_POSTGRESDB_PASSWORD", True), ("N8N_ENCRYPTION_KEY", True), ("AWS_SECRET_ACCESS_KEY", True),
    ("N8N_RUNNERS_AUTH_TOKEN", True), ("N8N_LICENSE_ACTIVATION_KEY", True), ("SMTP_CREDENTIALS", True),
    ("DB_POSTGRESDB_PASSWORD_FILE", False), ("N8N_METRICS_INCLUDE_CREDENTIAL_TYPE_LABEL", False),
    ("DUMP_KMS_KEY", False), ("N8N_TOKEN_TTL_HOURS", False),
])
def test_secret_env_names_fire_by_their_last_word(name, fires):
    found = resources("dev")
    _container(found)["env"].append({"name": name, "value": "x"})
    assert bool(violations("k8s-no-secret-in-env-value", "dev", found)) == fires


def test_a_secret_named_env_read_from_a_file_or_a_secret_ref_is_fine():
    found = resources("prod")
    _container(found)["env"].extend([{"name": "API_TOKEN_FILE", "value": "/run/secrets/token"},
                                     {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}])
    assert violations("k8s-no-secret-in-env-value", "prod", found) == []


# --- the pack as the Pulumi CLI runs it -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def analyzer():
    """The pack started like the CLI starts it (`python -u -m pulumi.policy <engine> policy`), and a stub to it."""
    import grpc
    from pulumi.runtime.proto import analyzer_pb2_grpc

    process = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", "policy"],
                               cwd=offline.ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = process.stdout.readline().strip()
        assert port.isdigit(), process.stderr.read() if process.poll() is not None else port
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_pack_serves_every_rule_with_its_level_and_knobs(analyzer):
    from google.protobuf import empty_pb2, json_format

    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == NAME
    served = {p.name: p for p in info.policies}
    assert set(served) == set(BY_NAME)
    multi_az = json_format.MessageToDict(served["rds-multi-az"].configSchema.properties)
    assert multi_az["required"]["default"] is True


def test_the_pack_reports_a_public_database_over_grpc(analyzer):
    from google.protobuf import struct_pb2
    from pulumi.runtime.proto import analyzer_pb2

    rds = one(resources("prod"), RDS)
    props = struct_pb2.Struct()
    props.update({**rds.props, "publiclyAccessible": True})
    response = analyzer.Analyze(analyzer_pb2.AnalyzeRequest(
        type=RDS, properties=props, urn=rds.urn, name=rds.name,
        options=analyzer_pb2.AnalyzerResourceOptions(protect=True)))
    fired = {d.policyName: d.message for d in response.diagnostics}
    assert set(fired) == {"rds-not-publicly-accessible"}
    assert "publicly accessible" in fired["rds-not-publicly-accessible"]


def test_workload_rules_skip_third_party_charts_and_excluded_namespaces_only():
    found = resources("prod")
    deployment = _mutate_ctx(runAsUser=0)(found)
    assert violations("k8s-run-as-non-root", "prod", found)
    chart_child = deployment.urn.replace("$kubernetes:apps/v1:Deployment", "$kubernetes:helm.sh/v4:Chart"
                                         "$kubernetes:apps/v1:Deployment")
    deployment.urn = chart_child
    assert violations("k8s-run-as-non-root", "prod", found) == []
    assert policy_check.run_policy(BY_NAME["k8s-run-as-non-root"], found,
                                   {"k8s-run-as-non-root": {"excludeAncestors": []}})


def _analyzer_resource(resource: PolicyResource) -> Any:
    from google.protobuf import struct_pb2
    from pulumi.runtime.proto import analyzer_pb2

    props = struct_pb2.Struct()
    props.update(resource.props)
    return analyzer_pb2.AnalyzerResource(
        type=resource.resource_type, properties=props, urn=resource.urn, name=resource.name,
        options=analyzer_pb2.AnalyzerResourceOptions(protect=resource.opts.protect),
        parent=resource.parent.urn if resource.parent else "",
        propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=[d.urn for d in deps])
                              for k, deps in resource.property_dependencies.items()})


def test_the_pack_runs_stack_rules_over_the_whole_plan_over_grpc(analyzer):
    from pulumi.runtime.proto import analyzer_pb2

    found = resources("prod")
    request = analyzer_pb2.AnalyzeStackRequest(resources=[_analyzer_resource(r) for r in found])
    assert list(analyzer.AnalyzeStack(request).diagnostics) == []
    _set(found, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "n8n-archive-dumps-public-access",
         blockPublicPolicy=False)
    request = analyzer_pb2.AnalyzeStackRequest(resources=[_analyzer_resource(r) for r in found])
    fired = [(d.policyName, d.message) for d in analyzer.AnalyzeStack(request).diagnostics]
    assert len(fired) == 1 and fired[0][0] == "s3-public-access-blocked"
    assert "blockPublicPolicy" in fired[0][1]


def test_the_stack_config_reaches_the_pack_over_grpc(analyzer):
    from google.protobuf import struct_pb2
    from pulumi.runtime.proto import analyzer_pb2

    rds = one(resources("prod"), RDS)
    props = struct_pb2.Struct()
    props.update({**rds.props, "multiAz": False})
    request = analyzer_pb2.AnalyzeRequest(type=RDS, properties=props, urn=rds.urn, name=rds.name,
                                          options=analyzer_pb2.AnalyzerResourceOptions(protect=True))
    assert [d.policyName for d in analyzer.Analyze(request).diagnostics] == ["rds-multi-az"]

    def configure(config: dict[str, Any]) -> None:
        policy_config = {}
        for name, entry in config.items():
            properties = struct_pb2.Struct()
            properties.update({k: v for k, v in entry.items() if k != "enforcementLevel"})
            level = {"advisory": analyzer_pb2.ADVISORY, "disabled": analyzer_pb2.DISABLED}.get(
                entry.get("enforcementLevel"), analyzer_pb2.MANDATORY)  # the CLI sends the policy's own level
            policy_config[name] = analyzer_pb2.PolicyConfig(enforcementLevel=level, properties=properties)
        analyzer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=policy_config))

    configure(policy_check.policy_config("dev"))
    try:
        assert list(analyzer.Analyze(request).diagnostics) == []
    finally:
        configure({})
