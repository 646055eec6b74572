"""The component library as users get it: one version number, a changelog entry for it, and a wheel that installs
into a clean virtualenv with its dependencies, its data files and every public component importable from the root."""

import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

import n8n_platform
from tools.offline import ROOT

COMPONENTS_DIR = ROOT / "components"


def test_one_version_number_with_its_changelog_entry():
    changelog = (COMPONENTS_DIR / "CHANGELOG.md").read_text()
    first = re.search(r"^## (\S+)", changelog, re.MULTILINE)
    assert first and first.group(1) == n8n_platform.__version__
    pyproject = (COMPONENTS_DIR / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and "n8n_platform.__version__" in pyproject


def test_every_public_component_is_exported_from_the_root():
    import pulumi

    for cls in n8n_platform.COMPONENTS:
        assert issubclass(cls, pulumi.ComponentResource)
        assert cls.__name__ in n8n_platform.__all__
        assert f"{cls.__name__}Args" in n8n_platform.__all__ or cls.__name__ == "N8nPlatform"
    assert "PlatformArgs" in n8n_platform.__all__
    assert all(hasattr(n8n_platform, name) for name in n8n_platform.__all__)


CHECK_INSTALLED = """
import importlib.resources, json, sys
import pulumi
import n8n_platform
from n8n_platform import *  # noqa
from n8n_platform import Redis, N8nApp, N8nPlatform, RdsDatabase

registered = {}

class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        registered[args.name] = args.inputs
        return args.name + "-id", {**args.inputs, "address": "db.example", "port": 5432,
                                   "arn": "arn:aws:kms:eu-west-1:123456789012:key/x",
                                   "result": "x" * 40}
    def call(self, args):
        return {"accountId": "123456789012", "arn": "arn:aws:iam::123456789012:root", "userId": "x"}

pulumi.runtime.set_mocks(Mocks(), preview=False)

@pulumi.runtime.test
def program():
    RdsDatabase("db", {"identifier": "n8n-x", "namespace": "n8n", "vpc_id": "vpc-0a1b2c3d",
                       "subnet_ids": ["subnet-0a1b2c3d"], "node_security_group_id": "sg-0a1b2c3d",
                       "n8n_password": "p" * 40})

program()
ca = next(v for k, v in registered.items() if k.startswith("db-configmap-") and k.endswith("-ca"))
files = importlib.resources.files("n8n_platform")
print(json.dumps({
    "version": n8n_platform.__version__,
    "file": n8n_platform.__file__,
    "components": sorted(c.__name__ for c in n8n_platform.COMPONENTS
                         if issubclass(c, pulumi.ComponentResource)),
    "pem": (files / "database" / "rds-ca-bundle.pem").read_text().count("BEGIN CERTIFICATE"),
    "rds_ca_config_map": ca["data"]["ca.crt"].count("BEGIN CERTIFICATE"),
    "proxy_pem": (files / "database" / "rds-proxy-ca-bundle.pem").read_text().count("BEGIN CERTIFICATE"),
    "proxy_ca_config_map": ca["data"]["proxy-ca.crt"].count("BEGIN CERTIFICATE"),
    "typed": (files / "py.typed").is_file(),
}))
"""


@pytest.mark.slow
def test_the_wheel_installs_into_a_clean_virtualenv(tmp_path: Path):
    """Build the wheel, install it (dependencies from PyPI through pip's cache) into a fresh virtualenv without the
    repository on its path, import every public component from the package root, and build RdsDatabase there
    under mocks without passing a CA bundle."""
    dist = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist),
                            str(COMPONENTS_DIR)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    wheels = list(dist.glob("n8n_platform-*.whl"))
    assert [w.name for w in wheels] == [f"n8n_platform-{n8n_platform.__version__}-py3-none-any.whl"]

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, clear=True)
    python = env_dir / "bin" / "python"
    # Without our PYTHONPATH: pip would take the checkout's metadata for an installed n8n-platform and skip it.
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    installed = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                str(wheels[0])], capture_output=True, text=True, timeout=1800, env=clean)
    assert installed.returncode == 0, installed.stderr

    done = subprocess.run([str(python), "-c", CHECK_INSTALLED], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)
    assert facts["version"] == n8n_platform.__version__
    assert facts["file"].startswith(str(env_dir))  # the installed copy, not the checkout
    assert facts["components"] == sorted(c.__name__ for c in n8n_platform.COMPONENTS)
    assert facts["pem"] > 10  # the RDS CA bundle ships in the wheel
    assert facts["rds_ca_config_map"] == facts["pem"]  # and RdsDatabase uses it with no PEM passed
    assert facts["proxy_ca_config_map"] == facts["proxy_pem"] == 5  # the RDS Proxy's roots too
    assert facts["typed"]
