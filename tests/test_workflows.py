"""The GitHub workflows: lint-clean (actionlint, zizmor), pinned, least-privileged, running the README's commands,
and started by exactly the changes that affect a stack."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from n8n_platform.github_access import subjects
from tools.ci import affected_stacks
from tools.offline import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
README = (ROOT / "README.md").read_text()
BIN = Path(sys.executable).parent


def load(name: str) -> dict[str, Any]:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as True
    return workflow


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def tool(name: str) -> str:
    found = BIN / name if (BIN / name).exists() else shutil.which(name)
    assert found, f"{name} is missing: `make setup` installs it"
    return str(found)


def test_the_three_workflows_exist():
    assert [f.name for f in FILES] == ["ci.yml", "deploy.yml", "preview.yml"]


# --- linters ----------------------------------------------------------------------------------------------------


def test_actionlint_is_clean():
    assert shutil.which("shellcheck"), "shellcheck is missing: `make system` installs it (actionlint uses it)"
    done = subprocess.run([tool("actionlint"), *map(str, FILES)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_is_clean():
    done = subprocess.run([tool("zizmor"), "--offline", "--no-progress", str(WORKFLOWS)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings" in done.stdout


def test_every_action_is_pinned_to_a_commit_with_its_version_beside_it():
    for path in FILES:
        for line in path.read_text().splitlines():
            if "uses:" in line:
                assert re.search(r"uses: [\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), f"{path.name}: {line}"


# --- permissions and credentials --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["preview.yml", "deploy.yml"])
def test_workflows_grant_nothing_by_default_and_each_job_only_what_it_uses(name):
    workflow = load(name)
    assert workflow["permissions"] == {}
    for job_name, job in workflow["jobs"].items():
        granted = job["permissions"]
        assert set(granted.values()) <= {"read", "write"}
        assert granted.get("contents") == "read", job_name
        if any(step.get("uses", "").startswith("aws-actions/") for step in job["steps"]):
            assert granted["id-token"] == "write", job_name
        else:
            assert "id-token" not in granted, job_name


def test_only_the_preview_job_may_comment_and_only_the_drift_check_may_open_issues():
    writers = {(name, job_name, scope) for name in ("preview.yml", "deploy.yml")
               for job_name, job in load(name)["jobs"].items() for scope, level in job["permissions"].items()
               if level == "write" and scope != "id-token"}
    assert writers == {("preview.yml", "preview", "pull-requests"), ("deploy.yml", "drift", "issues")}


def _role_variable(job: dict[str, Any]) -> str:
    (step,) = [s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
    assert set(step["with"]) == {"role-to-assume", "aws-region"}  # OIDC: no access keys
    return step["with"]["role-to-assume"]


def test_pull_requests_from_forks_are_not_previewed():
    stacks = load("preview.yml")["jobs"]["stacks"]
    assert stacks["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert load("preview.yml")["jobs"]["preview"]["needs"] == "stacks"


def test_jobs_assume_the_role_whose_trust_admits_the_context_they_run_in():
    """Previews and the drift check run without an environment (sub: pull_request / the default branch), the
    deploys in theirs (sub: environment:<name>): exactly the subjects the bootstrap roles trust."""
    preview = load("preview.yml")["jobs"]["preview"]
    assert "environment" not in preview and _role_variable(preview) == "${{ vars.AWS_PREVIEW_ROLE_ARN }}"
    deploy = load("deploy.yml")["jobs"]
    assert "environment" not in deploy["drift"]
    assert _role_variable(deploy["drift"]) == "${{ vars.AWS_PREVIEW_ROLE_ARN }}"
    assert "schedule" in load("deploy.yml")["on"]  # scheduled runs use the default branch: refs/heads/main
    for stack in affected_stacks.stacks():
        assert deploy[stack]["environment"] == stack
        assert _role_variable(deploy[stack]) == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
        assert subjects("acme/n8n", environments=[deploy[stack]["environment"]]) == [
            f"repo:acme/n8n:environment:{stack}"]


def test_prod_deploys_only_after_dev_and_each_stack_deploys_one_at_a_time():
    jobs = load("deploy.yml")["jobs"]
    assert "dev" in jobs["prod"]["needs"]
    assert "needs.dev.result == 'success'" in jobs["prod"]["if"]
    for stack in ("dev", "prod"):
        assert jobs[stack]["concurrency"] == {"group": f"deploy-{stack}", "cancel-in-progress": False}
    assert jobs["drift"]["concurrency"]["group"] == "drift-${{ matrix.stack }}"
    preview = load("preview.yml")["jobs"]["preview"]
    assert preview["concurrency"]["group"].startswith("preview-${{ matrix.stack }}-")


# --- the commands are the README's ------------------------------------------------------------------------------


def test_ci_and_the_ci_script_run_exactly_the_readme_test_command():
    assert [s["run"] for s in steps(load("ci.yml")) if "run" in s] == ["make test"]
    assert "make test " in README.split("## The two commands", 1)[1].split("##", 1)[0]
    script = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
              if line and not line.startswith(("#", "set ", "cd "))]
    assert script == ["make test", "make engine-test"]  # then the real-engine tests (README: The real engine)


GH_PLUMBING = re.compile(r"^(title=|body=|number=|gh (label|issue) |if |else|fi|then)")


def _run_commands() -> list[str]:
    commands = []
    for path in FILES:
        for step in steps(load(path.name)):
            for line in step.get("run", "").splitlines():
                if line.strip() and not GH_PLUMBING.match(line.strip()):
                    commands.append(line.strip())
    return commands


def _pulumi_command(step: dict[str, Any]) -> str:
    """The CLI line a pulumi/actions step runs, with the stack written as <stack>."""
    given = step["with"]
    words = ["pulumi", given["command"], "--stack", "<stack>"]
    words += ["--yes"] if given["command"] == "up" else []
    words += [flag for key, flag in (("diff", "--diff"), ("refresh", "--refresh"),
                                     ("expect-no-changes", "--expect-no-changes")) if given.get(key) is True]
    if "policyPacks" in given:
        words += ["--policy-pack", given["policyPacks"], "--policy-pack-config", given["policyPackConfigs"]]
    line = " ".join(words)
    return re.sub(r"config/(\$\{\{ matrix\.stack \}\}|dev|prod)\.json", "config/<stack>.json", line)


def test_every_command_in_the_workflows_is_in_the_readme():
    commands = _run_commands()
    assert len(commands) >= 6
    for command in commands:
        assert command in README, command


def test_every_pulumi_step_runs_a_readme_command_with_the_policy_pack_where_it_changes_or_gates():
    pulumi_steps = [s for path in FILES for s in steps(load(path.name)) if s.get("uses", "").startswith("pulumi/")]
    assert len(pulumi_steps) == 4
    for step in pulumi_steps:
        line = _pulumi_command(step)
        assert line in README, line
        assert step["with"]["pulumi-version"] == "3.272.0"  # the CLI matches the SDK in requirements.txt
        assert step["with"]["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"
        assert step["with"]["secrets-provider"] == "${{ vars.PULUMI_SECRETS_PROVIDER }}"
        if step.get("id") != "drift":
            assert "--policy-pack policy" in line
    (preview,) = [s for s in steps(load("preview.yml")) if s.get("uses", "").startswith("pulumi/")]
    assert preview["with"]["comment-on-pr"] is True and preview["with"]["edit-pr-comment"] is True


def test_each_stack_has_the_policy_config_the_workflows_pass():
    for stack in affected_stacks.stacks():
        assert (ROOT / "policy" / "config" / f"{stack}.json").exists()
    assert "pulumi==3.272.0" in (ROOT / "requirements.txt").read_text()
    assert "pulumi==3.272.0" in (ROOT / "policy" / "requirements.txt").read_text()


# --- which changes run what -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,event", [("preview.yml", "pull_request"), ("deploy.yml", "push")])
def test_the_trigger_paths_are_exactly_what_affects_a_stack(name, event):
    assert load(name)["on"][event]["paths"] == affected_stacks.trigger_paths()


@pytest.mark.parametrize("changed,expected", [
    (["Pulumi.dev.yaml"], ["dev"]),
    (["Pulumi.prod.yaml"], ["prod"]),
    (["Pulumi.dev.yaml", "Pulumi.prod.yaml"], ["dev", "prod"]),
    (["components/n8n_platform/database/rds.py"], ["dev", "prod"]),
    (["policy/config/prod.json"], ["dev", "prod"]),
    (["Pulumi.yaml"], ["dev", "prod"]),
    (["requirements.txt"], ["dev", "prod"]),
    (["README.md", "docs/operations.md", "tests/test_policy.py"], []),
    (["requirements-dev.txt", "tools/plan.py", "bootstrap/__main__.py"], []),
    (["somewhere/Pulumi.dev.yaml"], []),
])
def test_a_change_previews_the_stacks_it_affects_and_only_those_start_the_workflow(changed, expected):
    assert affected_stacks.affected(changed) == expected
    assert any(affected_stacks.matches(p, affected_stacks.trigger_paths()) for p in changed) == bool(expected)


def test_globs_follow_githubs_rules():
    assert affected_stacks.matches("components/n8n_platform/n8n/env.py", ["components/**"])
    assert not affected_stacks.matches("components/x.py", ["components/*/x.py"])
    assert not affected_stacks.matches("a/b.py", ["*.py"])
    assert affected_stacks.matches("b.py", ["*.py"])


def test_the_stack_selection_needs_only_the_standard_library_and_writes_a_step_output():
    """The workflows run it with the runner's python3, before any virtualenv: `-S` leaves out site-packages."""
    def select(*args: str, changed: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-S", "-m", "tools.ci.affected_stacks", *args], cwd=ROOT, input=changed,
                              capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})

    done = select(changed="Pulumi.prod.yaml\nREADME.md\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == 'stacks=["prod"]\n'
    assert select("--all").stdout == 'stacks=["dev", "prod"]\n'
    assert select("--everything").returncode == 2
