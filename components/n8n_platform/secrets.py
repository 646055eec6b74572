"""n8n's secrets: generated once, kept in one Kubernetes Secret read as files, the encryption key escrowed in AWS.

What lives in :data:`names.N8N_SECRET` (keys from :mod:`names`): the n8n database role's password, the Redis
password (ElastiCache AUTH token), the task-runner auth token, ``N8N_ENCRYPTION_KEY`` and, when given, the license
activation key. Values come from ``pulumi_random`` (or secret config), travel as Pulumi secrets, and are written
with ``stringData``; n8n reads them through ``*_FILE`` variables from the mounted Secret.

Rotation
--------
Every value written into the Secret feeds :attr:`Secrets.revision`, a short hash that the platform places as the
pod-template annotation :data:`names.SECRETS_REVISION_ANNOTATION` on every n8n Deployment and on the database
bootstrap Job. Changing any value therefore rolls the n8n pods (which read the files only at start) and replaces
the bootstrap Job (Job pod templates are immutable: pulumi-kubernetes replaces the Job, which re-runs it), all in
the same ``pulumi up``: the Job waits for the Secret, the n8n Deployments wait for the database component (the Job
included, and Pulumi awaits the Job's completion), so n8n starts with a password the role already has.

- **Database password** (``<name>-db-password``): ``pulumi up --replace <its URN>`` generates a new one; the
  bootstrap Job sets it on the n8n role, then the n8n pods roll. Between the ALTER ROLE and the roll, running
  pods keep their open connections but new ones fail: expect a short window of failed connections.
- **Redis password / AUTH token** (``<name>-redis-password``): replace the same way; the n8n pods roll.
  ElastiCache is configured with ``auth_token_update_strategy = ROTATE``: the new token is added and the old one
  keeps working during the roll; switch the strategy to SET in a follow-up update to drop the old token. In-cluster
  Redis reads the password at start and does not roll by itself: restart its StatefulSet as soon as the update has
  written the Secret, or the n8n rollout cannot become ready (seconds of queue unavailability; jobs persist in the
  AOF).
- **Runner auth token** (``<name>-runners-token``): shared only by n8n and its runner sidecar in the same pod;
  replace it any time, the pods roll.
- **Encryption key: NEVER rotate.** n8n encrypts every stored credential with ``N8N_ENCRYPTION_KEY``; a new key
  makes all existing credentials undecryptable. It is protected against deletion and replacement (``protect``),
  and escrowed in AWS Secrets Manager under a customer KMS key with a 30-day recovery window so that losing the
  stack or the cluster does not lose it. To move an existing n8n here, pass its key (``encryption_key``, secret
  config ``n8n:encryptionKey``) instead of generating one; changing that config later is the same as rotating.
"""


# No `from __future__ import annotations` here: Pulumi's schema analyzer reads the Args annotations at run time.
import hashlib
import json
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws
import pulumi_aws as aws
import pulumi_random as random

from . import k8s, names
from .arguments import checked, flag, namespace, plain, region, retain_on_delete, text_input
from .kms import customer_key

PASSWORD_LENGTH = 40
"""Length of generated passwords and tokens: alphanumeric only (valid ElastiCache AUTH tokens, safe in URIs and
in redis.conf quoting), 40 characters ~ 238 bits."""
ENCRYPTION_KEY_LENGTH = 48
"""Length of a generated N8N_ENCRYPTION_KEY (alphanumeric, ~285 bits)."""
ESCROW_RECOVERY_DAYS = 30
"""Days a deleted escrow secret can still be restored (the maximum Secrets Manager allows)."""
CHECKOV_SKIPS = {
    ("aws:secretsmanager/secret:Secret#-escrow", "CKV2_AWS_57"): "the escrowed N8N_ENCRYPTION_KEY must never "
    "rotate: a new key leaves every stored credential undecryptable",
}
"""checkov Terraform checks the escrow secret fails by design, with why (tools/ci/tfplan.py applies them)."""
REVISION_LENGTH = 16
"""Hex characters of :func:`revision` (64 bits: collisions between two revisions of one Secret are negligible)."""


def revision(values: Mapping[str, str]) -> str:
    """Short sha256 over every key and value of the Secret: changes when any value (or key) changes, and does not
    depend on the order of ``values``. Computed from secrets, so :attr:`Secrets.revision` is a Pulumi secret; see
    :func:`placeable_revision` for why it is placed in pod templates in the clear."""
    canonical = json.dumps(dict(values), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:REVISION_LENGTH]


def placeable_revision(secrets_revision: pulumi.Input[str] | None) -> pulumi.Output[str] | None:
    """:attr:`Secrets.revision` without its secret flag, as components place it in a pod template (None stays None).

    A secret leaf makes the Python SDK mark the whole top-level property secret when it reads properties back
    (``pulumi.runtime.rpc.deserialize_property``): the whole ``spec`` of every Deployment and Job would read back as
    one secret, hiding their diffs. The value is safe in the clear: 64 bits of sha256 over values that include three
    random ~238-bit passwords.
    """
    if secrets_revision is None:
        return None
    return pulumi.Output.unsecret(pulumi.Output.from_input(secrets_revision))


def secret_manifest(namespace: str, values: dict[str, Any]) -> dict[str, Any]:
    """The n8n Secret with ``values`` (key -> secret Input) as stringData; values are placed, never inspected."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": k8s.metadata(names.N8N_SECRET, namespace, "secrets"),
        "type": "Opaque",
        "stringData": dict(values),
    }


def escrow_secret_name(stack: str, name: str) -> str:
    """Secrets Manager name of the escrowed encryption key; stable so operators can find it without the stack."""
    return f"n8n/{stack}/{name}/encryption-key"


class SecretsArgs(TypedDict):
    """What to generate, what to take from config, and whether to escrow the encryption key."""

    namespace: pulumi.Input[str]
    """Namespace of n8n, where the Secret is created (beforehand)."""
    encryption_key: NotRequired[pulumi.Input[str] | None]
    """Existing N8N_ENCRYPTION_KEY when migrating an instance (secret config ``n8n:encryptionKey``); None: generate
    one (protected: it must never change)."""
    license_activation_key: NotRequired[pulumi.Input[str] | None]
    """n8n license activation key (secret config), stored under names.LICENSE_KEY; None to leave it out."""
    escrow: NotRequired[bool]
    """Escrow the encryption key in AWS Secrets Manager under a customer KMS key (needs AWS; default false)."""
    protect: NotRequired[bool]
    """Default false. Protect the generated encryption key, the escrow secret and its key from deletion."""
    retain_on_delete: NotRequired[bool]
    """Keep the generated encryption key's state, the escrow secret and its key when the component is deleted;
    default: the value of ``protect``. (With escrow, the key stays recoverable in Secrets Manager for 30 days
    after a deletion either way.)"""
    replica_region: NotRequired[str | None]
    """Also keep the escrow in this second region (Secrets Manager replica, under a key of that region): restoring
    the backup replicas there needs the encryption key too. None: the escrow stays in one region."""
    replica_provider: NotRequired[pulumi_aws.Provider | None]
    """AWS provider of ``replica_region``, where the replica's key is created."""


class Secrets(pulumi.ComponentResource):
    """The n8n Secret (DB password, Redis password, runner token, encryption key) and the encryption key's escrow.
    Needs first: the namespace. On delete, the encryption key's state and the escrow stay when ``retain_on_delete``
    (default: ``protect``)."""

    secret_name: pulumi.Output[str]
    """Name of the Kubernetes Secret (names.N8N_SECRET) mounted by every n8n container."""
    db_password: pulumi.Output[str]
    """Password of the n8n database role (secret)."""
    redis_password: pulumi.Output[str]
    """Redis password / ElastiCache AUTH token (secret)."""
    escrow_arn: pulumi.Output[str] | None
    """ARN of the Secrets Manager secret holding the encryption key; None without escrow."""
    revision: pulumi.Output[str]
    """:func:`revision` of every value in the Secret (secret). It resolves only after the Secret is written, so a
    resource taking it as an input waits for the Secret; placed (through :func:`placeable_revision`) as the
    pod-template annotation :data:`names.SECRETS_REVISION_ANNOTATION` of whatever reads the Secret only at start."""

    def __init__(self, name: str, args: SecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("n8n:index:Secrets", name, None, opts)

        child = pulumi.ResourceOptions(parent=self)
        args = checked("Secrets", args, SecretsArgs, {  # type: ignore[assignment]
            "namespace": lambda c, a, v: namespace(c, v, a), "encryption_key": text_input,
            "license_activation_key": text_input, "escrow": flag, "protect": flag, "replica_region": region})
        protect = bool(plain("Secrets", "protect", args.get("protect", False)))
        retain = retain_on_delete(args, protect, "Secrets")

        def generated(suffix: str, length: int = PASSWORD_LENGTH, keep: bool = False) -> pulumi.Output[str]:
            opts_ = (pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=retain) if keep
                     else child)
            password = random.RandomPassword(f"{name}-{suffix}", length=length, special=False, opts=opts_)
            return pulumi.Output.secret(password.result)

        self.db_password = generated("db-password")
        self.redis_password = generated("redis-password")
        runners_token = generated("runners-token")
        given = args.get("encryption_key")
        encryption_key = (pulumi.Output.secret(given) if given is not None
                          else generated("encryption-key", ENCRYPTION_KEY_LENGTH, keep=True))
        values: dict[str, Any] = {
            names.DB_PASSWORD: self.db_password,
            names.REDIS_PASSWORD: self.redis_password,
            names.RUNNERS_AUTH_TOKEN: runners_token,
            names.ENCRYPTION_KEY: encryption_key,
        }
        if args.get("license_activation_key") is not None:
            values[names.LICENSE_KEY] = pulumi.Output.secret(args["license_activation_key"])
        secret = k8s.apply(name, secret_manifest(args["namespace"], values), child)
        self.secret_name = secret.metadata.apply(lambda m: m.name)
        written = pulumi.Output.all(secret.id, pulumi.Output.all(**values))  # carries the dependency on the Secret
        self.revision = pulumi.Output.secret(written.apply(lambda w: revision(w[1])))
        self.escrow_arn = (self._escrow(name, encryption_key, protect, retain, args.get("replica_region"),
                                        args.get("replica_provider"))
                           if plain("Secrets", "escrow", args.get("escrow", False)) else None)
        self.register_outputs({"secret_name": self.secret_name, "db_password": self.db_password,
                               "redis_password": self.redis_password, "escrow_arn": self.escrow_arn,
                               "revision": self.revision})

    def _escrow(self, name: str, encryption_key: pulumi.Output[str], protect: bool, retain: bool,
                replica_region: str | None, replica_provider: Any) -> pulumi.Output[str]:
        """Secrets Manager copy of the encryption key, under its own customer key; both survive stack deletion.
        With ``replica_region`` Secrets Manager keeps a replica there, under a key of that region."""

        keep = pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=retain)
        key = customer_key(f"{name}-escrow-key", "Encrypts the escrowed N8N_ENCRYPTION_KEY", protect=protect,
                           parent=self, retain=retain)
        replicas = []
        if replica_region:
            if replica_provider is None:
                raise ValueError(f"Secrets {name!r}: replica_region {replica_region!r} needs replica_provider, an "
                                 "AWS provider for that region")
            replica_key = customer_key(f"{name}-escrow-replica-key",
                                       f"Encrypts the {replica_region} replica of the escrowed N8N_ENCRYPTION_KEY",
                                       protect=protect, parent=self, provider=replica_provider,
                                       retain=retain)
            replicas = [{"region": replica_region, "kms_key_id": replica_key.arn}]
        escrow = aws.secretsmanager.Secret(
            f"{name}-escrow",
            name=escrow_secret_name(pulumi.get_stack(), name),
            description="N8N_ENCRYPTION_KEY of this n8n stack. Never rotate: it decrypts every stored credential.",
            kms_key_id=key.arn,
            recovery_window_in_days=ESCROW_RECOVERY_DAYS,
            replicas=replicas,
            opts=keep,
        )
        aws.secretsmanager.SecretVersion(f"{name}-escrow-version", secret_id=escrow.id,
                                         secret_string=encryption_key, opts=keep)
        return escrow.arn
