"""The project in the shape Pulumi users expect: Pulumi.yaml, stack files, a thin entry point, and docs that match
the code."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import yaml

from n8n_platform import settings
from n8n_platform.schema import camel
from tools.docs import config_reference
from tools.offline import PYTHONPATH, ROOT

# Pulumi's project schema (sdk/go/common/workspace/project.json) allows only these declared config types.
PULUMI_CONFIG_TYPES = {"string", "integer", "boolean", "array"}


def project():
    return yaml.safe_load((ROOT / "Pulumi.yaml").read_text())


def test_pulumi_yaml_is_a_python_project_with_a_virtualenv():
    p = project()
    assert p["name"] == settings.NAMESPACE
    assert p["runtime"]["name"] == "python" and p["runtime"]["options"]["virtualenv"] == ".venv"
    assert p["description"]


def test_declared_config_keys_are_valid_pulumi_declarations_with_descriptions():
    for key, decl in project()["config"].items():
        assert key.startswith("n8n:"), key
        assert decl["type"] in PULUMI_CONFIG_TYPES, f"{key}: Pulumi cannot declare type {decl['type']!r}"
        assert decl["description"], key


def test_every_scalar_setting_is_declared_and_every_section_is_listed():
    declared = set(project()["config"])
    text = (ROOT / "Pulumi.yaml").read_text()
    hints = {f.name: f for f in dataclasses.fields(settings.Settings)}
    for name, f in hints.items():
        key = f"n8n:{camel(name)}"
        if dataclasses.is_dataclass(f.type):  # settings.py has real annotations (no future import)
            assert f"#   {key} " in text, f"section {key} is not listed in Pulumi.yaml"
        elif camel(name) in settings.secret_keys():
            assert f"#   {key} " in text and key not in declared, f"optional secret {key} must be listed, not declared"
        else:
            assert key in declared, f"{key} is not declared in Pulumi.yaml"


def test_optional_secret_settings_are_listed_as_secrets_not_declared():
    """The real CLI refuses a secret key with a default ("must be encrypted as it's secret") and requires a declared
    key without one ("missing configuration values"): both found by `make engine-test`. So the optional secrets are
    listed in Pulumi.yaml's comments, marked secret, and read by the settings model as None when unset."""
    config, text = project()["config"], (ROOT / "Pulumi.yaml").read_text()
    for key in settings.secret_keys():
        assert f"n8n:{key}" not in config
        assert re.search(rf"#   n8n:{key} +secret ", text), key


def test_stack_files_use_only_our_namespace_and_aws_region():
    for stack in ("dev", "prod"):
        keys = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
        assert {k.split(":")[0] for k in keys} <= {"n8n", "aws"}


def test_configuration_reference_is_up_to_date():
    assert (ROOT / "docs" / "configuration.md").read_text() == config_reference.render(), \
        "docs/configuration.md is stale: run `make docs`"


def test_main_is_thin():
    body = [line for line in (ROOT / "__main__.py").read_text().splitlines() if line.strip()]
    assert len(body) <= 12


def test_requirements_are_pinned():
    """Every third-party runtime dependency is pinned; the library itself is installed in place from components/."""
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert "-e ./components" in lines
    for line in lines:
        if line != "-e ./components":
            assert "==" in line, f"unpinned runtime dependency: {line}"


def test_readme_names_the_two_commands_and_ci_runs_the_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make plan" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_main_exits_with_only_the_settings_errors_on_bad_config():
    """`pulumi up` runs __main__.py: on bad config it prints the problems, not a traceback."""
    env_config = '{"n8n:environment": "qa"}'
    proc = subprocess.run([sys.executable, "-c", "import runpy; runpy.run_path('__main__.py')"], cwd=ROOT,
                          env={"PULUMI_CONFIG": env_config, "PYTHONPATH": PYTHONPATH, "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "n8n:environment = 'qa'" in proc.stderr
    assert "Traceback" not in proc.stderr
