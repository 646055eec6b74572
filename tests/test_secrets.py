"""Secrets: generated values, the one n8n Secret, and the escrow of the encryption key."""

from __future__ import annotations

import pulumi
import pytest

from n8n_platform import names
from n8n_platform.secrets import (
    ESCROW_RECOVERY_DAYS,
    REVISION_LENGTH,
    Secrets,
    escrow_secret_name,
    placeable_revision,
    revision,
    secret_manifest,
)
from tests.harness import is_secret, plain, run

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MIGRATED_KEY = "migrated-key-0123456789abcdef0123456789"
RANDOM = "random:index/randomPassword:RandomPassword"


def _secrets(**overrides):
    outputs: dict = {}

    def program():
        args = {"namespace": "n8n", "encryption_key": None, "license_activation_key": None, "escrow": True,
                "protect": True, **overrides}
        s = Secrets("secrets", args)
        s.secret_name.apply(lambda v: outputs.setdefault("secret_name", v))
        pulumi.export("revision", s.revision)
        pulumi.export("db_password", s.db_password)
        pulumi.export("redis_password", s.redis_password)
        if s.escrow_arn is not None:
            s.escrow_arn.apply(lambda v: outputs.setdefault("escrow_arn", v))
        outputs["escrow_is_none"] = s.escrow_arn is None

    return run(program), outputs


@pytest.fixture(scope="module")
def generated():
    return _secrets()


def _k8s_secret(rec):
    return rec.one("kubernetes:core/v1:Secret")


def test_one_kubernetes_secret_holds_every_key_n8n_reads(generated):
    rec, outputs = generated
    secret = _k8s_secret(rec)
    assert secret.inputs["metadata"]["name"] == names.N8N_SECRET == outputs["secret_name"]
    assert secret.inputs["metadata"]["namespace"] == "n8n"
    assert set(plain(secret.inputs["stringData"])) == {names.DB_PASSWORD, names.REDIS_PASSWORD,
                                                       names.RUNNERS_AUTH_TOKEN, names.ENCRYPTION_KEY}


def test_no_secret_value_reaches_the_secret_in_plain_inputs(generated):
    rec, _ = generated
    string_data = _k8s_secret(rec).inputs["stringData"]
    values = string_data["value"] if is_secret(string_data) else string_data
    assert is_secret(string_data) or all(is_secret(v) for v in values.values())
    assert "data" not in _k8s_secret(rec).inputs


def test_escrowed_key_is_a_secret_input_and_equals_the_one_n8n_uses(generated):
    rec, _ = generated
    version = rec.one("aws:secretsmanager/secretVersion:SecretVersion").inputs
    assert is_secret(version["secretString"])
    assert plain(version["secretString"]) == plain(_k8s_secret(rec).inputs["stringData"])[names.ENCRYPTION_KEY]


def test_outputs_the_data_layer_needs_stay_secret(generated):
    rec, outputs = generated
    assert is_secret(rec.exports["db_password"]) and is_secret(rec.exports["redis_password"])
    assert outputs["escrow_arn"].startswith("arn:aws:secretsmanager:")


def test_passwords_are_alphanumeric_because_elasticache_auth_tokens_reject_at_quote_slash(generated):
    rec, _ = generated
    for r in rec.find(RANDOM):
        assert r.inputs["special"] is False, r.name
        assert r.inputs["length"] >= 32, r.name
    values = plain(_k8s_secret(rec).inputs["stringData"])
    assert values[names.REDIS_PASSWORD].isalnum() and 16 <= len(values[names.REDIS_PASSWORD]) <= 128


def test_generated_encryption_key_is_protected_and_retained_because_losing_it_loses_every_credential(generated):
    rec, _ = generated
    key = rec.one(RANDOM, "secrets-encryption-key")
    assert key.options["protect"] is True and key.options["retain_on_delete"] is True
    assert key.inputs["length"] >= 32


def test_rotatable_passwords_are_not_protected(generated):
    rec, _ = generated
    for name in ("secrets-db-password", "secrets-redis-password", "secrets-runners-token"):
        assert rec.one(RANDOM, name).options["protect"] is False


def test_escrow_secret_uses_a_customer_key_a_recovery_window_and_survives_deletion(generated):
    rec, _ = generated
    escrow = rec.one("aws:secretsmanager/secret:Secret")
    assert escrow.inputs["kmsKeyId"].startswith("arn:aws:kms:")
    assert escrow.inputs["recoveryWindowInDays"] == ESCROW_RECOVERY_DAYS
    assert escrow.inputs["description"]
    assert escrow.inputs["name"] == escrow_secret_name("test", "secrets")
    for r in (escrow, rec.one("aws:kms/key:Key"), rec.one("aws:secretsmanager/secretVersion:SecretVersion")):
        assert r.options["retain_on_delete"] is True, r.name
    assert escrow.options["protect"] is True
    key = rec.one("aws:kms/key:Key").inputs
    assert key["enableKeyRotation"] is True and key["policy"]


def test_migrated_encryption_key_is_used_verbatim_as_a_secret_and_nothing_is_generated_for_it():
    rec, _ = _secrets(encryption_key=MIGRATED_KEY)
    assert rec.find(RANDOM, "secrets-encryption-key") == []
    string_data = _k8s_secret(rec).inputs["stringData"]
    assert plain(string_data)[names.ENCRYPTION_KEY] == MIGRATED_KEY
    values = string_data["value"] if is_secret(string_data) else string_data
    assert is_secret(string_data) or is_secret(values[names.ENCRYPTION_KEY])


def test_license_key_is_stored_only_when_given():
    rec, _ = _secrets(license_activation_key="lic-123")
    assert plain(_k8s_secret(rec).inputs["stringData"])[names.LICENSE_KEY] == "lic-123"


def test_without_escrow_no_aws_resource_is_created_off_eks():
    rec, outputs = _secrets(escrow=False)
    assert [r for r in rec.resources if r.type.startswith("aws:")] == []
    assert outputs["escrow_is_none"] is True


def test_secret_manifest_places_values_under_string_data_only():
    m = secret_manifest("n8n", {"k": "v"})
    assert m["stringData"] == {"k": "v"} and "data" not in m and m["metadata"]["namespace"] == "n8n"


# --- revision: the hash that rolls what reads the Secret ------------------------------------------------------------

VALUES = {names.DB_PASSWORD: "a" * 40, names.REDIS_PASSWORD: "b" * 40, names.RUNNERS_AUTH_TOKEN: "c" * 40,
          names.ENCRYPTION_KEY: "d" * 48}


def test_revision_is_a_short_hex_hash_stable_for_the_same_values_in_any_order():
    rev = revision(VALUES)
    assert len(rev) == REVISION_LENGTH == 16 and int(rev, 16) >= 0
    assert revision(dict(reversed(list(VALUES.items())))) == rev
    assert revision(dict(VALUES)) == rev


@pytest.mark.parametrize("key", sorted(VALUES))
def test_revision_changes_when_any_single_value_changes(key):
    assert revision({**VALUES, key: VALUES[key][:-1] + "z"}) != revision(VALUES)


def test_revision_changes_when_a_key_is_added_or_values_move_between_keys():
    assert revision({**VALUES, names.LICENSE_KEY: "lic"}) != revision(VALUES)
    db, redis = VALUES[names.DB_PASSWORD], VALUES[names.REDIS_PASSWORD]
    swapped = {**VALUES, names.DB_PASSWORD: redis, names.REDIS_PASSWORD: db}
    assert revision(swapped) != revision(VALUES)
    assert revision({"ab": "c"}) != revision({"a": "bc"})  # keys and values cannot run into each other


def test_revision_does_not_contain_any_value():
    rev = revision({"k": "0123456789abcdef"})
    assert rev != "0123456789abcdef" and "0123456789abcdef" not in rev


def test_component_revision_is_secret_and_hashes_exactly_what_the_secret_holds(generated):
    rec, _ = generated
    assert is_secret(rec.exports["revision"])
    assert plain(rec.exports["revision"]) == revision(plain(_k8s_secret(rec).inputs["stringData"]))


def test_component_revision_differs_when_a_secret_value_differs(generated):
    rec, _ = generated
    migrated, _ = _secrets(encryption_key=MIGRATED_KEY)
    licensed, _ = _secrets(license_activation_key="lic-123")
    revisions = {plain(r.exports["revision"]) for r in (rec, migrated, licensed)}
    assert len(revisions) == 3
    again, _ = _secrets()
    assert plain(again.exports["revision"]) == plain(rec.exports["revision"])


def test_component_revision_resolves_only_after_the_kubernetes_secret_is_written():
    def program():
        s = Secrets("secrets", {"namespace": "n8n", "encryption_key": None, "license_activation_key": None,
                                "escrow": False, "protect": False})
        import pulumi_kubernetes as k8s

        k8s.core.v1.ConfigMap("consumer", metadata={"name": "c", "namespace": "n8n"}, data={"rev": s.revision})

    rec = run(program)
    secret = _k8s_secret(rec)
    assert secret.name in rec.one("kubernetes:core/v1:ConfigMap").options["input_dependencies"]


def test_placeable_revision_drops_the_secret_flag_and_keeps_the_value():
    def program():
        pulumi.export("placed", placeable_revision(pulumi.Output.secret("0123456789abcdef")))
        pulumi.export("plain", placeable_revision("fedcba9876543210"))

    rec = run(program)
    assert rec.exports["placed"] == "0123456789abcdef" and not is_secret(rec.exports["placed"])
    assert rec.exports["plain"] == "fedcba9876543210"
    assert placeable_revision(None) is None
