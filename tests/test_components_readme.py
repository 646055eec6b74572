"""The snippets of components/README.md run as written: the mocks snippet as a user's own pytest file (in a
subprocess, without PULUMI_ERROR_OUTPUT_STRING), the quota and external-database snippets under our mocks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.harness import run
from tools.offline import PYTHONPATH, ROOT

README = (ROOT / "components" / "README.md").read_text()


def snippet(after: str) -> str:
    """The first ```python block after the heading or text ``after``."""
    found = re.search(r"```python\n(.*?)```", README[README.index(after):], re.S)
    assert found, after
    return found.group(1)


def test_the_mocks_snippet_is_a_passing_test_file_of_a_users_own(tmp_path: Path) -> None:
    (tmp_path / "test_mine.py").write_text(snippet("### Unit-test your own program under mocks"))
    env = {**os.environ, "PYTHONPATH": PYTHONPATH, "PULUMI_ERROR_OUTPUT_STRING": "0"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                           str(tmp_path / "test_mine.py")], capture_output=True, text=True, timeout=300, env=env,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout


def test_the_external_database_and_quota_snippets_register_what_they_say() -> None:
    from n8n_platform import N8nApp, N8nNamespace, NetworkPlan, Redis

    def program() -> None:
        scope: dict = {}
        exec(snippet("### An external database (or Redis)"), scope)
        redis_connection = Redis("redis", {"namespace": "automation"}).connection
        scope.update(redis_connection=redis_connection, N8nApp=N8nApp, Redis=Redis,
                     N8nNamespace=N8nNamespace, NetworkPlan=NetworkPlan)
        exec(snippet("### N8nNamespace — served"), scope)
        N8nApp("n8n", scope["app_args"])

    manifests = run(program, config={"dbPassword": "s3cret"}, secret_keys=["dbPassword"]).manifests()
    [hard] = [m["spec"]["hard"] for m in manifests if m["kind"] == "ResourceQuota"]
    assert hard["pods"] == str(int((1 + 10 + 10 + 1) * 1.5) + 10)  # main, 10 webhooks, 10 workers, redis
    [secret] = [m for m in manifests if m["kind"] == "Secret" and m["metadata"]["name"] == "team-postgres"]
    assert secret["stringData"]["password"] == "[secret]"
    worker = next(m for m in manifests if m["kind"] == "Deployment" and m["metadata"]["name"] == "n8n-worker")
    volumes = {v["name"]: v for v in worker["spec"]["template"]["spec"]["volumes"]}
    assert any(v.get("secret", {}).get("secretName") == "team-postgres" for v in volumes.values())
