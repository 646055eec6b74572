"""The offline plan (`make plan`): renders a stack with no cloud and no CLI, and stops on bad config with only the
settings errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import yaml

from tools.offline import PYTHONPATH, ROOT


def plan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools.plan", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": PYTHONPATH, "PATH": "/usr/bin:/bin"})


def test_plan_renders_dev_offline(tmp_path):
    proc = plan("--stack", "dev", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "Stack dev:" in proc.stdout and "Resources per component" in proc.stdout
    assert "  PatroniDatabase n8n-db" in proc.stdout and "Platform n8n" not in proc.stdout  # the parts, not the sum
    assert "[plan]" in proc.stderr  # progress goes to stderr
    resources = json.loads((tmp_path / "resources.json").read_text())
    assert resources and {"type", "name", "parent", "inputs", "options"} <= set(resources[0])
    deployments = {r["name"]: r["options"]["depends_on"] for r in resources
                   if r["type"] == "kubernetes:apps/v1:Deployment" and r["parent"] == "n8n-app"}
    # Main rolls out (and migrates) before the engine replaces the webhook processors and workers.
    main = "n8n-app-deployment-n8n-main"
    assert main in deployments["n8n-app-deployment-n8n-webhook"]
    assert main in deployments["n8n-app-deployment-n8n-worker"]
    manifests = [yaml.safe_load(p.read_text()) for p in sorted((tmp_path / "manifests").glob("*.yaml"))]
    assert manifests and all(list(m)[:3] == ["apiVersion", "kind", "metadata"] for m in manifests)
    svg = (tmp_path / "architecture.svg").read_text()
    assert svg.startswith("<svg") and "<rect" in svg and "N8nApp" in svg


def test_plan_stops_on_bad_config_with_only_the_settings_errors(tmp_path):
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    stack = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    stack["config"]["n8n:database"]["engine"] = "mysql"
    stack["config"]["n8n:n8n"]["worker"]["concurency"] = 3
    (tmp_path / "Pulumi.broken.yaml").write_text(yaml.safe_dump(stack))
    proc = plan("--stack", "broken", "--root", str(tmp_path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("invalid stack configuration (2 problem(s))")
    assert any("n8n:database.engine = 'mysql'" in line for line in lines)
    assert any("n8n:n8n.worker.concurency" in line for line in lines)
    assert len(lines) == 3 and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_plan_names_the_stacks_when_the_stack_file_is_missing():
    proc = plan("--stack", "qa")
    assert proc.returncode == 2 and "dev" in proc.stderr and "prod" in proc.stderr


def test_two_plans_of_one_stack_are_identical(tmp_path):
    """Registration order and protobuf map order vary between processes; the written plan must not, so plans diff
    cleanly in review."""
    for run, seed in (("a", "1"), ("b", "2")):
        proc = subprocess.run([sys.executable, "-m", "tools.plan", "--stack", "prod", "--out", str(tmp_path / run)],
                              cwd=ROOT, capture_output=True, text=True, timeout=300,
                              env={"PYTHONPATH": PYTHONPATH, "PATH": "/usr/bin:/bin", "PYTHONHASHSEED": seed})
        assert proc.returncode == 0, proc.stderr
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) > 30
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert [p for p in files if (tmp_path / "a" / p).read_text() != (tmp_path / "b" / p).read_text()] == []
