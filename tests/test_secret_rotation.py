"""Rotating a secret takes effect in one `pulumi up` (whole stacks under mocks): every n8n Deployment and the
database bootstrap Job carry the hash of the n8n Secret in their pod templates, so a changed secret rolls n8n and
re-runs the bootstrap; the Job waits for the Secret and n8n waits for the Job."""

from __future__ import annotations

import pytest

from n8n_platform import names
from n8n_platform.n8n import workloads
from n8n_platform.secrets import revision
from tests.harness import is_secret, plain
from tools import offline

DEPLOYMENT, JOB, SECRET = "kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job", "kubernetes:core/v1:Secret"
N8N_DEPLOYMENTS = {workloads.object_name(role) for role in ("main", "webhook", "worker")}
VARIANTS = {"dev-patroni": ("dev", {}), "prod-rds": ("prod", {})}


def render(variant: str, encryption_key: str | None = None) -> offline.Recording:
    from n8n_platform import program

    stack, overrides = VARIANTS[variant]
    extra = {"encryptionKey": encryption_key} if encryption_key else {}
    raw, secret_keys = offline.load_stack_config(stack, {**overrides, **extra})
    return offline.run(program.main, stack=stack, config=raw, secret_keys=[*secret_keys, *extra],
                       invokes=offline.credentials_of_stack(raw))


@pytest.fixture(scope="module", params=list(VARIANTS))
def stack(request):
    return request.param, render(request.param)


def n8n_secret(rec: offline.Recording) -> offline.Registration:
    (secret,) = [r for r in rec.find(SECRET) if plain(r.inputs["metadata"])["name"] == names.N8N_SECRET]
    return secret


def n8n_deployments(rec: offline.Recording) -> list[offline.Registration]:
    found = [r for r in rec.find(DEPLOYMENT) if r.inputs["metadata"]["name"] in N8N_DEPLOYMENTS]
    assert {d.inputs["metadata"]["name"] for d in found} == N8N_DEPLOYMENTS
    return found


def bootstrap_job(rec: offline.Recording) -> offline.Registration:
    (job,) = [r for r in rec.find(JOB) if "bootstrap" in r.inputs["metadata"]["name"]]
    return job


def pod_revision(r: offline.Registration) -> str:
    assert not is_secret(r.inputs["spec"]), f"{r.name}: a secret annotation turns the whole spec secret"
    return r.inputs["spec"]["template"]["metadata"]["annotations"][names.SECRETS_REVISION_ANNOTATION]


def expected_revision(rec: offline.Recording) -> str:
    return revision(plain(n8n_secret(rec).inputs["stringData"]))


def test_every_n8n_deployment_and_the_bootstrap_job_carry_the_secrets_revision(stack):
    _, rec = stack
    expected = expected_revision(rec)
    assert len(expected) == 16
    for r in [*n8n_deployments(rec), bootstrap_job(rec)]:
        assert pod_revision(r) == expected, r.name


def test_in_cluster_redis_restarts_with_a_new_password():
    rec = render("dev-patroni")
    (redis,) = rec.find("kubernetes:apps/v1:StatefulSet")
    assert pod_revision(redis) == expected_revision(rec)


def test_the_bootstrap_job_waits_for_the_secret_and_n8n_waits_for_the_job(stack):
    _, rec = stack
    job, secret = bootstrap_job(rec), n8n_secret(rec)
    assert secret.name in job.options["input_dependencies"] + job.options["depends_on"]
    for d in n8n_deployments(rec):
        assert job.name in d.options["depends_on"], d.name


def test_a_changed_secret_value_changes_every_pod_template(stack):
    variant, rec = stack
    rotated = render(variant, encryption_key="another-encryption-key-0123456789abcdef")
    before = {r.name: pod_revision(r) for r in [*n8n_deployments(rec), bootstrap_job(rec)]}
    after = {r.name: pod_revision(r) for r in [*n8n_deployments(rotated), bootstrap_job(rotated)]}
    assert before.keys() == after.keys()
    assert len(set(before.values())) == 1 and len(set(after.values())) == 1
    assert set(before.values()) != set(after.values())
    assert set(after.values()) == {expected_revision(rotated)}
