"""The RDS Proxy between n8n and its RDS instance (engine ``rds`` with ``database.pooler.enabled``), as plain data.

Why: during a Multi-AZ failover or a patch reboot every direct connection n8n holds breaks, and the executions
whose queries were on them end ``crashed``. RDS Proxy keeps n8n's client connections open, holds their queries
(up to ``ConnectionBorrowTimeout``, ``database.rds.proxy.borrowTimeoutSeconds``) and sends them to the new
primary when it is back; AWS documents it as shortening failover. n8n's side of that is in n8n/env.py
(``DatabaseConnection.pooler``).

Decisions:

- **TLS required** from n8n (``require_tls``), verified against the **Amazon Trust Services** roots: the proxy's
  endpoint serves a wildcard certificate from AWS Certificate Manager, which chains to Amazon Root CA 1 (AWS
  Knowledge Center, "connect to RDS for MySQL/Aurora through RDS Proxy": *download the Amazon Root CA 1 trust store
  from Amazon Trust Services*; AWS Prescriptive Guidance, RDS Proxy best practices: *RDS Proxy uses certificates
  from AWS Certificate Manager*), not to the RDS CAs of ``rds-ca-bundle.pem`` (those verify the instance, which
  the bootstrap and dump Jobs still reach directly). ``rds-proxy-ca-bundle.pem`` holds the five roots Amazon Trust
  Services publishes: Amazon Root CA 1-4 and Starfield Services Root Certificate Authority - G2 (the cross-signer
  of the Amazon roots), copied from Debian's ``ca-certificates`` 20230311+deb12u1 (sha256 of the bundle
  ``dfaa39c0350288ded35812f7b80f76c4a422b97ecc04c4ac84e325bec528b1b8``; compare with
  https://www.amazontrust.com/repository/ or pass ``proxy_ca_bundle_pem``). It is the key ``proxy-ca.crt`` of the
  CA ConfigMap; n8n verifies the chain and the host name.
- **Login**: the proxy authenticates n8n with SCRAM-SHA-256 and logs in to the instance as the n8n role with the
  username and password kept in a Secrets Manager secret (under the stack's key, or the instance's), written from
  the same value as the n8n Secret's ``db-password`` (``Secrets.db_password``): rotating that password (see
  secrets.py) updates the role (bootstrap Job), the n8n pods and this secret in one ``pulumi up``. IAM
  authentication is off for n8n (Node's ``pg`` would need a token refresher); the proxy reads the secret with its
  own role, allowed ``secretsmanager:GetSecretValue`` on that one secret and ``kms:Decrypt`` on its key only
  through Secrets Manager of the key's region.
- **Network**: the proxy has its own security group in the database subnets: 5432 in from the cluster nodes only,
  5432 out to the instance's security group only; the instance admits 5432 from it (and still from the nodes, for
  the Jobs).
- **Pool**: ``MaxConnectionsPercent`` of the instance's ``max_connections`` (the proxy's server connections log
  in as the n8n role, so its ``CONNECTION LIMIT`` caps them too, and the Jobs' direct logins count against it),
  half of that kept idle (AWS's default ratio: warm connections for a burst, the rest returned), no init query
  (n8n sets nothing per session: pooler.py), borrow timeout from the settings (n8n's pooled ping timeout in
  n8n/env.py assumes the default, 120 s). n8n's advisory locks are transaction-scoped and its ``SET`` statements
  ``SET LOCAL``; whether RDS Proxy pins a session on those is not documented, so watch
  ``DatabaseConnectionsCurrentlySessionPinned``: pinned sessions each hold a server connection.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .spec import RdsProxySettings

ENGINE_FAMILY = "POSTGRESQL"
CLIENT_AUTH = "POSTGRES_SCRAM_SHA_256"
CA_BUNDLE_FILE = Path(__file__).with_name("rds-proxy-ca-bundle.pem")
CA_KEY = "proxy-ca.crt"
"""Key of the proxy's CA bundle in the database's CA ConfigMap (beside the instance's ``ca.crt``)."""
TARGET_ROLE = "READ_WRITE"
"""Role of the instance in the proxy's default target group (the only role a single instance has)."""
DEFAULT_TARGET_GROUP = "default"
CHECKOV_SKIPS = {
    ("aws:secretsmanager/secret:Secret#-proxy-login", "CKV2_AWS_57"): "a copy of the n8n Secret's db-password: "
    "it rotates with that Secret (pulumi up --replace), never behind n8n's back",
    ("aws:ec2/securityGroup:SecurityGroup#-proxy-sg", "CKV2_AWS_5"): "attached to the RDS Proxy "
    "(vpc_security_group_ids); checkov's rule does not list aws_db_proxy among the resources that take a group",
}
"""checkov Terraform checks the proxy's login secret fails by design, with why (tools/ci/tfplan.py applies them)."""


def proxy_name(identifier: str) -> str:
    """The proxy's name: the instance identifier, which must also meet RDS Proxy's rules (a letter first, letters,
    digits and single hyphens, at most 60 characters)."""
    if len(identifier) > 60 or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*", identifier):
        raise ValueError(f"RdsDatabase: identifier {identifier!r} also names the RDS Proxy (database.pooler.enabled): "
                         "it must start with a letter, hold only letters, digits and single hyphens, not end with "
                         "a hyphen and have at most 60 characters")
    return identifier


def pool_config(proxy: RdsProxySettings) -> dict[str, Any]:
    """``connection_pool_config`` of the proxy's default target group (see the module docstring)."""
    return {
        "connection_borrow_timeout": proxy.borrow_timeout_seconds,
        "max_connections_percent": proxy.max_connections_percent,
        "max_idle_connections_percent": max(1, proxy.max_connections_percent // 2),
    }


def proxy_settings(name: str, proxy: RdsProxySettings) -> dict[str, Any]:
    """The plain arguments of the ``aws.rds.Proxy``: the security-relevant choices in one place."""
    return {"name": name, "engine_family": ENGINE_FAMILY, "require_tls": True, "debug_logging": False,
            "idle_client_timeout": proxy.idle_client_timeout_seconds}


def proxy_auth(secret_arn: Any) -> dict[str, Any]:
    """The proxy's one ``auths`` entry: the n8n role's login from Secrets Manager, SCRAM from n8n, no IAM."""
    return {"auth_scheme": "SECRETS", "secret_arn": secret_arn, "client_password_auth_type": CLIENT_AUTH,
            "iam_auth": "DISABLED", "description": "n8n's role"}


def trust_policy(account_id: str) -> dict[str, Any]:
    """Trust policy of the proxy's role: RDS of this account only."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "rds.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}}}]}


def key_region(key_arn: str) -> str:
    """Region of a KMS key ARN (``arn:<partition>:kms:<region>:<account>:key/<id>``)."""
    parts = key_arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[2] != "kms" or not parts[3]:
        raise ValueError(f"RdsDatabase: kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), "
                         f"got {key_arn!r}")
    return parts[3]


def role_policy(secret_arn: str, key_arn: str) -> dict[str, Any]:
    """What the proxy's role may do: read its one secret, and decrypt with the secret's key only through Secrets
    Manager in the key's region."""
    region = key_region(key_arn)
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadTheLogin", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": secret_arn},
        {"Sid": "DecryptTheLogin", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn,
         "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}}},
    ]}


def login(user: str, password: Any) -> dict[str, Any]:
    """The secret's JSON document (the keys RDS Proxy reads)."""
    return {"username": user, "password": password}
