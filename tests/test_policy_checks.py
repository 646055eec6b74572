"""Each check of the policy pack on its own, over hand-made resources: every branch, its exact message, and the
boundaries of its knobs on both sides (test_policy.py runs the whole pack over the stacks' plans)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pulumi_policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions, proxy

from policy.n8n_policy import aws, k8s, protection

STACK = "urn:pulumi:prod::n8n-platform::"


def args(type_: str = "t", protect: bool = False, parents: tuple[str, ...] = ()) -> SimpleNamespace:
    return SimpleNamespace(resource_type=type_, urn=f"{STACK}{'$'.join([*parents, type_])}::r",
                           opts=SimpleNamespace(protect=protect))


def problems(check, props: dict[str, Any], config: dict[str, Any] | None = None, **kw: Any) -> list[str]:
    return list(check(props, config or {}, args(**kw)))


# --- RDS ----------------------------------------------------------------------------------------------------------

def test_rds_storage_needs_encryption_with_a_customer_key():
    assert problems(aws._rds_encrypted, {}) == ["storage is not encrypted (storageEncrypted)"]
    assert problems(aws._rds_encrypted, {"storageEncrypted": True}) == [
        "storage is encrypted with the AWS-managed key; set kmsKeyId to a customer-managed key"]
    assert problems(aws._rds_encrypted, {"storageEncrypted": True, "kmsKeyId": "arn:k"}) == []


def test_rds_public_multi_az_and_deletion_protection():
    assert problems(aws._rds_private, {"publiclyAccessible": True}) == [
        "the database is publicly accessible (publiclyAccessible)"]
    assert problems(aws._rds_private, {"publiclyAccessible": False}) == []
    on, off = {"required": True}, {"required": False}
    assert problems(aws._rds_multi_az, {}, on) == ["the database runs in one availability zone (multiAz)"]
    assert problems(aws._rds_multi_az, {}, off) == problems(aws._rds_multi_az, {"multiAz": True}, on) == []
    assert problems(aws._rds_deletion_protection, {}, on) == ["deletion protection is off (deletionProtection)"]
    assert problems(aws._rds_deletion_protection, {}, off) == []
    assert problems(aws._rds_deletion_protection, {"deletionProtection": True}, on) == []


def test_rds_backups_are_kept_at_least_the_minimum_and_end_in_a_final_snapshot():
    config = {"minimumDays": 7}
    assert problems(aws._rds_backups, {"backupRetentionPeriod": 7}, config) == []
    assert problems(aws._rds_backups, {"backupRetentionPeriod": 6}, config) == [
        "automated backups are kept 6 days (backupRetentionPeriod); at least 7"]
    assert problems(aws._rds_backups, {"backupRetentionPeriod": 30, "skipFinalSnapshot": True}, config) == [
        "deleting the database would skip its final snapshot (skipFinalSnapshot)"]
    assert problems(aws._rds_backups, {}, {"minimumDays": 1}) == [
        "automated backups are kept 0 days (backupRetentionPeriod); at least 1"]


# --- S3 -----------------------------------------------------------------------------------------------------------

def resource(type_: str, name: str, props: dict[str, Any] | None = None,
             deps: dict[str, list[PolicyResource]] | None = None) -> PolicyResource:
    opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    return PolicyResource(type_, props or {}, f"{STACK}{type_}::{name}", name, opts, None, None, [], deps or {})


BUCKET = "aws:s3/bucket:Bucket"


def on(bucket: PolicyResource, type_: str, props: dict[str, Any], key: str = "bucket") -> PolicyResource:
    return resource(f"aws:s3/{type_}:{type_[0].upper()}{type_[1:]}", f"{bucket.name}-{type_}", props, {key: [bucket]})


def test_public_access_needs_a_block_with_all_four_flags():
    bucket = resource(BUCKET, "wal")
    assert list(aws._public_access([bucket], {})) == [("wal: no BucketPublicAccessBlock", bucket.urn)]
    flags = {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
             "restrictPublicBuckets": True}
    assert list(aws._public_access([bucket, on(bucket, "bucketPublicAccessBlock", flags)], {})) == []
    half = on(bucket, "bucketPublicAccessBlock", {**flags, "blockPublicPolicy": False, "ignorePublicAcls": None})
    assert list(aws._public_access([bucket, half], {})) == [
        ("wal: public access is not fully blocked (blockPublicPolicy, ignorePublicAcls off)", half.urn)]
    loose = resource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "loose", flags)  # no bucket input
    assert list(aws._public_access([bucket, loose], {})) == [("wal: no BucketPublicAccessBlock", bucket.urn)]
    other = resource(BUCKET, "other")
    assert [m for m, _ in aws._public_access([bucket, other, on(other, "bucketPublicAccessBlock", flags)], {})] == [
        "wal: no BucketPublicAccessBlock"]


DENY_HTTP = {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


@pytest.mark.parametrize("statement,denies", [
    (DENY_HTTP, True), ({**DENY_HTTP, "Principal": {"AWS": "*"}}, True),
    ({**DENY_HTTP, "Condition": {"Bool": {"aws:SecureTransport": False}}}, True),
    ({**DENY_HTTP, "Effect": "Allow"}, False), ({**DENY_HTTP, "Principal": {"AWS": "arn:role"}}, False),
    ({**DENY_HTTP, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}, False),
    ({**DENY_HTTP, "Condition": {}}, False), ({k: v for k, v in DENY_HTTP.items() if k != "Condition"}, False),
])
def test_only_a_deny_for_everyone_without_tls_counts(statement, denies):
    assert aws._denies_plain_http(statement) is denies


def test_tls_only_reads_the_policy_as_json_or_a_document_with_one_or_many_statements():
    import json

    bucket = resource(BUCKET, "dumps")
    missing = ("dumps: no bucket policy denies requests without TLS (aws:SecureTransport false)", bucket.urn)
    assert list(aws._tls_only([bucket], {})) == [missing]
    for policy in ({"Statement": DENY_HTTP}, json.dumps({"Statement": [{"Effect": "Allow"}, DENY_HTTP]})):
        assert list(aws._tls_only([bucket, on(bucket, "bucketPolicy", {"policy": policy})], {})) == []
    assert list(aws._tls_only([bucket, on(bucket, "bucketPolicy", {"policy": {"Statement": []}})], {})) == [missing]
    assert aws._statements(None) == []


def test_a_policy_unknown_until_the_bucket_exists_skips_only_that_bucket():
    new, plain = resource(BUCKET, "new"), resource(BUCKET, "plain")
    # during a first preview the policy document names the bucket's ARN, not yet known: the engine's proxy raises
    props = proxy.unknown_checking_proxy({"bucket": "new", "policy": proxy.UNKNOWN_STRING_VALUE})
    unknown = resource("aws:s3/bucketPolicy:BucketPolicy", "new-policy", props, {"bucket": [new]})
    assert list(aws._tls_only([new, unknown, plain], {})) == [
        ("plain: no bucket policy denies requests without TLS (aws:SecureTransport false)", plain.urn)]


def test_versioning_is_reported_on_the_versioning_resource_when_there_is_one():
    bucket = resource(BUCKET, "wal")
    assert list(aws._versioned([bucket], {})) == [
        ("wal: versioning is not enabled (BucketVersioning status Enabled)", bucket.urn)]
    suspended = on(bucket, "bucketVersioning", {"versioningConfiguration": {"status": "Suspended"}})
    assert [urn for _, urn in aws._versioned([bucket, suspended], {})] == [suspended.urn]
    enabled = on(bucket, "bucketVersioning", {"versioningConfiguration": {"status": "Enabled"}})
    assert list(aws._versioned([bucket, enabled], {})) == []


def test_access_logging_exempts_the_log_bucket_itself():
    data, logs = resource(BUCKET, "wal"), resource(BUCKET, "logs")
    assert list(aws._access_logged([data, logs], {})) == [
        ("wal: no server access logging (BucketLogging)", data.urn),
        ("logs: no server access logging (BucketLogging)", logs.urn)]
    logging = resource("aws:s3/bucketLogging:BucketLogging", "wal-logging", {}, {"bucket": [data],
                                                                                  "targetBucket": [logs]})
    assert list(aws._access_logged([data, logs, logging], {})) == []
    untargeted = resource("aws:s3/bucketLogging:BucketLogging", "wal-logging", {}, {"bucket": [data]})
    assert list(aws._access_logged([data, logs, untargeted], {})) == [
        ("logs: no server access logging (BucketLogging)", logs.urn)]


SSE = "bucketServerSideEncryptionConfiguration"


def sse(bucket: PolicyResource, algorithm: str | None) -> PolicyResource:
    return on(bucket, SSE, {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": algorithm}}]})


def test_default_encryption_and_kms_for_backup_buckets():
    config = {"backupBuckets": ["*-wal", "*backup*"]}
    wal, site = resource(BUCKET, "n8n-wal"), resource(BUCKET, "site")
    assert list(aws._encrypted([site], config)) == [
        ("site: no default encryption (BucketServerSideEncryptionConfiguration)", site.urn)]
    assert list(aws._encrypted([site, sse(site, None)], config)) == [
        ("site: no default encryption (BucketServerSideEncryptionConfiguration)", site.urn)]
    assert list(aws._encrypted([site, sse(site, "AES256")], config)) == []
    assert list(aws._encrypted([wal, sse(wal, "AES256")], config)) == [
        ("n8n-wal: a backup bucket must be encrypted with a KMS key (sseAlgorithm aws:kms)", wal.urn)]
    for algorithm in ("aws:kms", "aws:kms:dsse"):
        assert list(aws._encrypted([wal, sse(wal, algorithm)], config)) == []


def lock(bucket: PolicyResource, days: int | None) -> PolicyResource:
    return on(bucket, "bucketObjectLockConfiguration", {"rule": {"defaultRetention": {"days": days}}})


def test_backup_buckets_need_object_lock_with_the_minimum_retention():
    config = {"backupBuckets": ["*-dumps"], "minimumDays": 3}
    dumps = resource(BUCKET, "n8n-dumps", {"objectLockEnabled": True})
    too_short = ("n8n-dumps: no default Object Lock retention of at least 3 days (BucketObjectLockConfiguration)",
                 dumps.urn)
    assert list(aws._object_lock([dumps, lock(dumps, 3)], config)) == []
    assert list(aws._object_lock([dumps, lock(dumps, 2)], config)) == [too_short]
    assert list(aws._object_lock([dumps, lock(dumps, None)], config)) == [too_short]
    assert list(aws._object_lock([dumps], config)) == [too_short]
    unlocked = resource(BUCKET, "n8n-dumps")
    assert list(aws._object_lock([unlocked, lock(unlocked, 30)], config)) == [
        ("n8n-dumps: a backup bucket without Object Lock (objectLockEnabled)", unlocked.urn)]
    assert list(aws._object_lock([resource(BUCKET, "site")], config)) == []
    assert list(aws._object_lock([dumps, lock(dumps, None)], {**config, "minimumDays": 1})) == [
        ("n8n-dumps: no default Object Lock retention of at least 1 days (BucketObjectLockConfiguration)", dumps.urn)]


def test_every_backup_bucket_is_checked_after_an_unlocked_one():
    config = {"backupBuckets": ["*-dumps", "*-wal"], "minimumDays": 1}
    unlocked, short = resource(BUCKET, "n8n-dumps"), resource(BUCKET, "n8n-wal", {"objectLockEnabled": True})
    assert [urn for _, urn in aws._object_lock([unlocked, short], config)] == [unlocked.urn, short.urn]


# --- KMS, Secrets Manager, ElastiCache ----------------------------------------------------------------------------

def test_symmetric_keys_rotate():
    rotation_off = ["automatic key rotation is off (enableKeyRotation)"]
    assert problems(aws._kms_rotation, {}) == rotation_off
    assert problems(aws._kms_rotation, {"keySpec": "SYMMETRIC_DEFAULT"}) == rotation_off
    assert problems(aws._kms_rotation, {"customerMasterKeySpec": "SYMMETRIC_DEFAULT"}) == rotation_off
    assert problems(aws._kms_rotation, {"enableKeyRotation": True}) == []
    assert problems(aws._kms_rotation, {"keySpec": "RSA_2048"}) == []  # asymmetric keys cannot rotate
    assert problems(aws._kms_rotation, {"customerMasterKeySpec": "RSA_2048"}) == []


def test_secrets_use_a_customer_key():
    assert problems(aws._secret_cmk, {}) == [
        "the secret is encrypted with the AWS-managed key; set kmsKeyId to a customer-managed key"]
    assert problems(aws._secret_cmk, {"kmsKeyId": "arn:k"}) == []


def test_elasticache_needs_tls_auth_and_encryption_at_rest_with_a_customer_key():
    config = {"requireCustomerKey": True}
    assert problems(aws._elasticache, {}, config) == [
        "clients connect without TLS (transitEncryptionEnabled)", "no AUTH: set authToken or userGroupIds",
        "data and snapshots are not encrypted at rest (atRestEncryptionEnabled)"]
    secure = {"transitEncryptionEnabled": True, "atRestEncryptionEnabled": True, "kmsKeyId": "arn:k"}
    for auth in ({"authToken": "t"}, {"authTokenWo": "t"}, {"userGroupIds": ["g"]}):
        assert problems(aws._elasticache, {**secure, **auth}, config) == []
    managed = {**secure, "authToken": "t", "kmsKeyId": None}
    assert problems(aws._elasticache, managed, config) == [
        "at-rest encryption uses the AWS-managed key; set kmsKeyId to a customer-managed key"]
    assert problems(aws._elasticache, managed, {"requireCustomerKey": False}) == []


# --- EC2 and IAM --------------------------------------------------------------------------------------------------

def test_launch_templates_require_imdsv2_encrypted_volumes_and_no_public_ip():
    hardened = {"metadataOptions": {"httpTokens": "required"},
                "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true"}},
                                        {"deviceName": "/dev/sdb"}],
                "networkInterfaces": [{"associatePublicIpAddress": "false"}]}
    assert problems(aws._launch_template, hardened) == []
    broken = {"metadataOptions": {"httpTokens": "optional"},
              "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": False}},
                                      {"deviceName": "/dev/sdb", "ebs": {}}],
              "networkInterfaces": [{}, {"associatePublicIpAddress": True}]}
    assert problems(aws._launch_template, broken) == [
        "IMDSv2 is not required (metadataOptions.httpTokens), so pods can steal the node's credentials",
        "volume /dev/xvda is not encrypted (ebs.encrypted)", "volume /dev/sdb is not encrypted (ebs.encrypted)",
        "nodes get a public IP address (networkInterfaces.associatePublicIpAddress)"]


GROUP, RULE = "aws:ec2/securityGroup:SecurityGroup", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


@pytest.mark.parametrize("rule,fires", [
    ({"cidrIpv4": "0.0.0.0/0", "fromPort": 5432, "toPort": 5432}, True),
    ({"cidrIpv6": "::/0", "fromPort": 443, "toPort": 443}, False),  # 443 is allowed below
    ({"cidrIpv6": "::/0", "fromPort": 5432, "toPort": 5432}, True),
    ({"cidrBlocks": ["10.0.0.0/8", "0.0.0.0/0"], "fromPort": 443, "toPort": 444}, True),  # a range is never allowed
    ({"ipv6CidrBlocks": ["::/0"], "fromPort": 22, "toPort": 22}, True),
    ({"cidrIpv4": "10.0.0.0/16", "fromPort": 5432, "toPort": 5432}, False),
])
def test_ingress_from_the_internet_only_on_allowed_single_ports(rule, fires):
    config = {"allowedPorts": [443]}
    found = problems(aws._public_ingress, rule, config, type_=RULE)
    assert found == ([f"ingress from the whole internet on ports {rule['fromPort']}-{rule['toPort']}"]
                     if fires else [])
    assert bool(problems(aws._public_ingress, {"ingress": [rule]}, config, type_=GROUP)) is fires


def test_an_egress_rule_resource_is_not_ingress():
    rule = {"type": "egress", "cidrBlocks": ["0.0.0.0/0"], "fromPort": 0, "toPort": 0}
    assert problems(aws._public_ingress, rule, {"allowedPorts": []}, type_="aws:ec2/securityGroupRule:Rule") == []
    assert problems(aws._public_ingress, {**rule, "type": "ingress"}, {"allowedPorts": []},
                    type_="aws:ec2/securityGroupRule:Rule") == ["ingress from the whole internet on ports 0-0"]


SEPARATE = ["aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            "aws:iam/rolePoliciesExclusive:RolePoliciesExclusive",
            "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"]


@pytest.mark.parametrize("type_", SEPARATE)
def test_each_separate_policy_resource_conflicts_with_policies_on_the_role(type_):
    role = resource("aws:iam/role:Role", "worker", {"inlinePolicies": [{"n": 1}]})
    found = list(aws._iam_conflicts([role, resource(type_, "a", {}, {"role": [role]}),
                                     resource(type_, "b", {}, {"role": [role]})], {}))
    assert found == [("worker: policies are managed both on the role (inlinePolicies) and by a, b; each side would "
                      "undo the other", role.urn)]


def test_resources_that_merely_use_a_role_do_not_manage_its_policies():
    role = resource("aws:iam/role:Role", "nodes", {"managedPolicyArns": ["arn:p"]})
    group = resource("aws:eks/nodeGroup:NodeGroup", "workers", {}, {"nodeRoleArn": [role]})
    assert list(aws._iam_conflicts([role, group], {})) == []


def test_a_role_managed_in_two_places_is_reported_once_naming_both_sides():
    role = resource("aws:iam/role:Role", "worker", {"managedPolicyArns": ["arn:p"], "inlinePolicies": [{"n": 1}]})
    attachment = resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "worker-s3", {}, {"role": [role]})
    assert list(aws._iam_conflicts([role, attachment], {})) == [
        ("worker: policies are managed both on the role (inlinePolicies, managedPolicyArns) and by worker-s3; each "
         "side would undo the other", role.urn)]
    assert list(aws._iam_conflicts([role], {})) == []
    bare = resource("aws:iam/role:Role", "bare")
    assert list(aws._iam_conflicts([bare, resource(attachment.resource_type, "x", {}, {"role": [bare]})], {})) == []


# --- Kubernetes ---------------------------------------------------------------------------------------------------

def test_kinds_are_read_from_type_tokens():
    assert k8s.kind_of("kubernetes:apps/v1:Deployment") == ("apps", "Deployment")
    assert k8s.kind_of("kubernetes:core/v1:Pod") == ("core", "Pod")
    assert k8s.kind_of("aws:s3/bucket:Bucket") == ("", "")
    assert k8s.kind_of("kubernetes:apps/v1:Deployment:x") == ("", "")
    assert k8s.is_workload("kubernetes:batch/v1:CronJob") and k8s.is_workload("kubernetes:core/v1:Pod")
    assert not k8s.is_workload("kubernetes:core/v1:Service")
    assert not k8s.is_workload("kubernetes:acme.io/v1:Deployment")


@pytest.mark.parametrize("kind,path", [
    ("Pod", ("spec",)), ("Deployment", ("spec", "template", "spec")),
    ("CronJob", ("spec", "jobTemplate", "spec", "template", "spec")),
])
def test_the_pod_spec_is_found_where_each_kind_keeps_it(kind, path):
    props: dict[str, Any] = {"containers": [{"name": "c"}]}
    for key in reversed(path):
        props = {key: props}
    assert k8s._pod_spec(props, kind) == {"containers": [{"name": "c"}]}
    assert k8s._pod_spec({}, kind) == {}


def container_problem(problem, ctx: dict | None = None, pod: dict | None = None, config: dict | None = None,
                      **container: Any) -> str | None:
    return problem(pod or {}, ctx or {}, container, config or {})


def test_non_root_by_uid_or_by_flag_with_the_container_overriding_the_pod():
    assert container_problem(k8s._non_root, {"runAsUser": 0, "runAsNonRoot": True}) == "runs as UID 0 (runAsUser)"
    assert container_problem(k8s._non_root, pod={"runAsUser": 0}) == "runs as UID 0 (runAsUser)"
    assert container_problem(k8s._non_root, {}) == "may run as root: set runAsNonRoot true"
    assert container_problem(k8s._non_root, {"runAsNonRoot": False}, pod={"runAsNonRoot": True}) == \
        "may run as root: set runAsNonRoot true"
    assert container_problem(k8s._non_root, pod={"runAsNonRoot": True, "runAsUser": 1000}) is None


def test_read_only_root_and_no_escalation():
    assert container_problem(k8s._read_only_root, {"readOnlyRootFilesystem": True}) is None
    assert container_problem(k8s._read_only_root, {}) == "the root filesystem is writable (readOnlyRootFilesystem)"
    assert container_problem(k8s._no_escalation, {"privileged": True, "allowPrivilegeEscalation": False}) == \
        "is privileged"
    assert container_problem(k8s._no_escalation, {}) == \
        "may escalate privileges (allowPrivilegeEscalation false missing)"
    assert container_problem(k8s._no_escalation, {"allowPrivilegeEscalation": False}) is None


def test_capabilities_all_dropped_and_only_net_bind_service_added_back():
    assert container_problem(k8s._drop_all, {}) == "does not drop ALL capabilities"
    assert container_problem(k8s._drop_all, {"capabilities": {"drop": ["NET_RAW"]}}) == \
        "does not drop ALL capabilities"
    assert container_problem(k8s._drop_all, {"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}) is None
    assert container_problem(k8s._drop_all, {"capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN", "NET_ADMIN",
                                                                                       "NET_BIND_SERVICE"]}}) == \
        "adds capabilities ['NET_ADMIN', 'SYS_ADMIN']"


def test_seccomp_runtime_default_or_localhost_from_container_or_pod():
    missing = "has no seccomp profile (seccompProfile RuntimeDefault)"
    assert container_problem(k8s._seccomp, {}) == missing
    assert container_problem(k8s._seccomp, {"seccompProfile": {"type": "Unconfined"}}) == missing
    assert container_problem(k8s._seccomp, pod={"seccompProfile": {"type": "RuntimeDefault"}}) is None
    assert container_problem(k8s._seccomp, {"seccompProfile": {"type": "Localhost"}}) is None


def test_requests_and_limits_named_by_what_is_missing():
    config = {"requests": ["cpu", "memory"], "limits": ["memory"]}
    assert container_problem(k8s._resources, config=config) == "sets no requests.cpu, requests.memory, limits.memory"
    assert container_problem(k8s._resources, config=config, resources={"requests": {"cpu": "1"},
                                                                       "limits": {"cpu": "1"}}) == \
        "sets no requests.memory, limits.memory"
    full = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}
    assert container_problem(k8s._resources, config=config, resources=full) is None


@pytest.mark.parametrize("image,digest,problem", [
    ("n8nio/n8n:2.40.7", False, None),
    ("registry:5000/n8nio/n8n:2.40.7", False, None),
    ("registry:5000/n8nio/n8n", False, "image 'registry:5000/n8nio/n8n' has no fixed tag"),
    ("n8nio/n8n:latest", False, "image 'n8nio/n8n:latest' has no fixed tag"),
    ("n8nio/n8n", False, "image 'n8nio/n8n' has no fixed tag"),
    ("n8nio/n8n:2.40.7", True, "image 'n8nio/n8n:2.40.7' is not pinned by digest"),
    ("n8nio/n8n@sha256:" + "a" * 64, True, None),
    ("n8n:2.40.7", False, None),
    ("n8n", False, "image 'n8n' has no fixed tag"),
    (None, False, "image '' has no fixed tag"),
])
def test_images_are_pinned_by_tag_or_when_required_by_digest(image, digest, problem):
    assert container_problem(k8s._pinned, config={"requireDigest": digest}, image=image) == problem


def test_secret_env_values_are_listed_by_name():
    config = {"secretNames": "(PASSWORD|TOKEN)$"}
    env = [{"name": "DB_PASSWORD", "value": "x"}, {"name": "API_TOKEN", "value": "y"},
           {"name": "EMPTY_PASSWORD", "value": ""}, {"name": "MODE", "value": "queue"}, {"value": "nameless"}]
    assert container_problem(k8s._secret_env, config=config, env=env) == \
        "puts secrets in plain env values: DB_PASSWORD, API_TOKEN (mount a Secret, use *_FILE)"
    assert container_problem(k8s._secret_env, config=config, env=env[2:]) is None
    assert container_problem(k8s._secret_env, config={"secretNames": "X"}, env=[{"value": "v"}]) is None


@pytest.mark.parametrize("type_,spec,what", [
    ("kubernetes:core/v1:Service", {"type": "LoadBalancer"}, "LoadBalancer Service"),
    ("kubernetes:core/v1:Service", {"type": "NodePort"}, "NodePort Service"),
    ("kubernetes:core/v1:Service", {"type": "ClusterIP"}, None),
    ("kubernetes:core/v1:Service", {}, None),
    ("kubernetes:networking.k8s.io/v1:Ingress", {}, "Ingress"),
    ("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", {}, "HTTPRoute"),
])
def test_exposure_outside_the_allowed_components_is_named_by_kind(type_, spec, what):
    config = {"allowedAncestors": ["n8n:index:Edge", "acme:index:Gateway"]}
    found = problems(k8s._edge_only, {"spec": spec}, config, type_=type_)
    assert found == ([] if what is None else [
        f"a {what} outside the edge component (n8n:index:Edge or acme:index:Gateway): traffic would bypass its TLS, "
        "WAF, rate limits and editor protection"])
    assert problems(k8s._edge_only, {"spec": spec}, config, type_=type_, parents=("acme:index:Gateway",)) == []
    assert k8s._exposes(type_)
    assert not k8s._exposes("kubernetes:core/v1:ConfigMap")


def test_stateful_resources_must_be_protected_unless_the_knob_is_off():
    assert problems(protection._protected, {}, {"required": True}) == [
        "holds data but is not protected (ResourceOptions protect=True)"]
    assert problems(protection._protected, {}, {"required": True}, protect=True) == []
    assert problems(protection._protected, {}, {"required": False}) == []
