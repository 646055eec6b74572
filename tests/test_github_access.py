"""GitHub's access to AWS: trust and permission builders, and the bootstrap project (bootstrap/) under mocks."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from fnmatch import fnmatchcase

import pytest

from n8n_platform.github_access import (
    AUDIENCE,
    FORBIDDEN_PREVIEW_ACTIONS,
    GITHUB_ISSUER,
    deploy_policy,
    read_policy,
    state_policy,
    subjects,
    trust_policy,
)
from tests.harness import Recording, plain, run
from tools import offline

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REPO = "acme/n8n-infra"
PROVIDER = f"arn:aws:iam::123456789012:oidc-provider/{GITHUB_ISSUER}"
BUCKET = "arn:aws:s3:::acme-pulumi-state"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234"


def _actions(policy: dict) -> list[str]:
    return [a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]


# --- trust ----------------------------------------------------------------------------------------------------------

def test_subjects_name_pull_requests_branches_and_environments_of_one_repository():
    assert subjects(REPO, pull_requests=True, branches=["main"], environments=["prod"]) == [
        f"repo:{REPO}:pull_request", f"repo:{REPO}:ref:refs/heads/main", f"repo:{REPO}:environment:prod"]


@pytest.mark.parametrize("repository", ["acme", "acme/*", "*/n8n", "", "acme/n8n/extra"])
def test_a_repository_that_is_not_owner_slash_name_is_refused(repository):
    with pytest.raises(ValueError, match="expected <owner>/<name>"):
        subjects(repository, pull_requests=True)


def test_a_role_must_admit_someone_and_names_cannot_be_bare_wildcards():
    with pytest.raises(ValueError, match="must admit"):
        subjects(REPO)
    with pytest.raises(ValueError, match="expected a name"):
        subjects(REPO, environments=["*"])


def test_trust_pins_issuer_audience_and_exact_subjects():
    policy = trust_policy(PROVIDER, subjects(REPO, environments=["prod"]))
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Federated": PROVIDER}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {"StringEquals": {
        f"{GITHUB_ISSUER}:aud": AUDIENCE, f"{GITHUB_ISSUER}:sub": [f"repo:{REPO}:environment:prod"]}}


def test_only_subjects_with_a_wildcard_are_matched_as_patterns():
    condition = trust_policy(PROVIDER, subjects(REPO, branches=["main", "release/*"]))["Statement"][0]["Condition"]
    assert condition["StringEquals"][f"{GITHUB_ISSUER}:sub"] == [f"repo:{REPO}:ref:refs/heads/main"]
    assert condition["StringLike"] == {f"{GITHUB_ISSUER}:sub": [f"repo:{REPO}:ref:refs/heads/release/*"]}


# --- permissions ----------------------------------------------------------------------------------------------------

def test_the_preview_role_reads_configuration_never_data():
    for action in _actions(read_policy()):
        assert action != "*" and not action.endswith(":*"), action
        for forbidden in FORBIDDEN_PREVIEW_ACTIONS:
            assert not fnmatchcase(forbidden, action), f"{action} grants {forbidden}"


def test_deploy_never_gets_a_blanket_grant_and_iam_only_for_its_prefix():
    policy = deploy_policy("123456789012", "n8n")
    assert not {"*", "iam:*", "s3:*", "kms:*", "sts:*"} & set(_actions(policy))
    for statement in policy["Statement"]:
        iam = [a for a in _actions({"Statement": [statement]}) if a.startswith("iam:") and not a.startswith(
            ("iam:Get", "iam:List"))]
        if iam:
            assert statement["Resource"] == ["arn:aws:iam::123456789012:role/n8n-*"], statement["Sid"]
    passing = next(s for s in policy["Statement"] if s["Action"] == "iam:PassRole")
    assert set(passing["Condition"]["StringEquals"]["iam:PassedToService"]) == {
        "ec2.amazonaws.com", "eks.amazonaws.com", "monitoring.rds.amazonaws.com"}


def test_a_preview_may_only_take_locks_in_the_state_bucket_a_deploy_writes_state():
    preview = {s["Sid"]: s for s in state_policy(BUCKET, KEY, write=False)["Statement"]}
    assert preview["TakeLocks"]["Resource"] == [f"{BUCKET}/.pulumi/locks/*"]
    assert "WriteState" not in preview and "kms:Encrypt" not in preview["UseSecretsKey"]["Action"]
    deploy = {s["Sid"]: s for s in state_policy(BUCKET, KEY, write=True)["Statement"]}
    assert deploy["WriteState"]["Resource"] == [f"{BUCKET}/*"]
    assert state_policy(None, None, write=True)["Statement"] == []


# --- the bootstrap project under mocks ------------------------------------------------------------------------------

def _bootstrap(config: dict, recording: Recording | None = None) -> Recording:
    main = offline.ROOT / "bootstrap" / "__main__.py"
    return run(lambda: runpy.run_path(str(main)), stack="bootstrap", config=config, recording=recording)


def _trusted(recording: Recording, name: str) -> list[str]:
    policy = json.loads(plain(recording.one("aws:iam/role:Role", name).inputs["assumeRolePolicy"]))
    return policy["Statement"][0]["Condition"]["StringEquals"][f"{GITHUB_ISSUER}:sub"]


def test_bootstrap_makes_the_provider_a_preview_role_and_one_deploy_role_per_environment():
    recording = _bootstrap({"repository": REPO, "environments": ["dev", "prod"], "stateBucketArn": BUCKET,
                            "secretsKeyArn": KEY})
    provider = recording.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == f"https://{GITHUB_ISSUER}" and provider.inputs["clientIdLists"] == [AUDIENCE]
    assert _trusted(recording, "github-preview") == [f"repo:{REPO}:pull_request", f"repo:{REPO}:ref:refs/heads/main"]
    assert _trusted(recording, "github-deploy-prod") == [f"repo:{REPO}:environment:prod"]
    assert _trusted(recording, "github-deploy-dev") == [f"repo:{REPO}:environment:dev"]
    state = json.loads(plain(recording.one("aws:iam/rolePolicy:RolePolicy", "github-deploy-prod-state").inputs[
        "policy"]))
    assert {s["Sid"] for s in state["Statement"]} == {"ListState", "ReadState", "WriteState", "UseSecretsKey"}
    deploy = json.loads(recording.one("aws:iam/rolePolicy:RolePolicy", "github-deploy-prod-platform").inputs["policy"])
    assert deploy == deploy_policy(offline.ACCOUNT, "n8n")
    assert set(recording.exports["deployRoleArns"]) == {"dev", "prod"}
    assert ":role/github-preview-" in recording.exports["previewRoleArn"]


def test_bootstrap_reuses_an_existing_provider_and_skips_state_grants_for_pulumi_cloud():
    existing = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    recording = _bootstrap({"repository": REPO, "environments": ["prod"], "oidcProviderArn": existing})
    assert recording.find("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    role = json.loads(plain(recording.one("aws:iam/role:Role", "github-deploy-prod").inputs["assumeRolePolicy"]))
    assert role["Statement"][0]["Principal"] == {"Federated": existing}
    assert not [r for r in recording.find("aws:iam/rolePolicy:RolePolicy") if r.name.endswith("-state")]


def test_bad_bootstrap_config_stops_before_anything_is_registered():
    recording = Recording()
    with pytest.raises(ValueError, match="each environment once"):
        _bootstrap({"repository": REPO, "environments": ["prod", "prod"]}, recording)
    with pytest.raises(ValueError, match="GithubAccess: argument 'repository' = 'n8n-infra' must be <owner>/<name>"):
        _bootstrap({"repository": "n8n-infra"}, recording)
    assert recording.resources == []


ANALYZE = """
import json
from pulumi.provider.experimental.analyzer import Analyzer
from n8n_platform.github_access import GithubAccess
d = Analyzer("n8n").analyze([GithubAccess])["component_definitions"]["GithubAccess"]
print(json.dumps({"description": d.description, "inputs": {k: v.description for k, v in d.inputs.items()},
                  "outputs": {k: v.description for k, v in d.outputs.items()}}))
"""


def test_pulumi_infers_a_documented_schema_so_other_languages_can_use_it():
    """Run in a fresh interpreter with this checkout's library first on the path (the analyzer reads source)."""
    path = f"{offline.ROOT}:{offline.ROOT / 'components'}"
    done = subprocess.run([sys.executable, "-c", ANALYZE], cwd=offline.ROOT, capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": path, "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    assert schema["description"]
    assert set(schema["inputs"]) == {"repository", "environments", "defaultBranch", "namePrefix", "stateBucketArn",
                                     "secretsKeyArn", "oidcProviderArn"}
    assert set(schema["outputs"]) == {"previewRoleArn", "deployRoleArns"}
    assert all({**schema["inputs"], **schema["outputs"]}.values())
