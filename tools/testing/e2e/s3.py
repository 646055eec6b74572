"""An AWS API server on 127.0.0.1 (moto in server mode, from PyPI): S3 with versioning and Object Lock, KMS, Secrets
Manager and STS, for the disaster-recovery drill. The AWS CLI reaches it through ``AWS_ENDPOINT_URL``."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .servers import Managed, free_port, stop_process, wait_port

AWS_CLI = str(Path(sys.executable).with_name("aws"))
"""The AWS CLI of this virtualenv (awscli from PyPI, requirements-dev.txt)."""


@dataclass
class AwsApi(Managed):
    """``python -m moto.server`` on a free port, in its own process group; its log in a temp dir."""

    region: str
    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="n8n-e2e-aws-")))
    proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> AwsApi:
        log = open(self.root / "moto.log", "ab")  # noqa: SIM115 (handed to the child)
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_port(self.port, timeout, self.proc)
        return self

    def env(self) -> dict[str, str]:
        """What points an AWS CLI or SDK at this server (an operator's credentials: any key is accepted)."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region,
                "AWS_ACCESS_KEY_ID": "drill", "AWS_SECRET_ACCESS_KEY": "drill"}

    def client(self, service: str):
        """A boto3 client for ``service`` on this server."""
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id="drill", aws_secret_access_key="drill")

    def log_tail(self, lines: int = 30) -> str:
        path = self.root / "moto.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=10)
            self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)
