"""docs/settings.schema.json: the JSON Schema editors use to validate Pulumi.<stack>.yaml, generated from the
settings model; it must be current and accept exactly the shapes the program's parser accepts."""

import json

import jsonschema
import pytest
import yaml

from tools.docs import settings_schema
from tools.offline import ROOT

SCHEMA_FILE = ROOT / "docs" / "settings.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    document = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(document)
    return jsonschema.Draft202012Validator(document)


def test_the_published_schema_is_current():
    assert SCHEMA_FILE.read_text() == settings_schema.render(), (
        "docs/settings.schema.json is stale: PYTHONPATH=.:components python -m tools.docs.settings_schema > "
        "docs/settings.schema.json")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_repository_stacks_validate(validator, stack):
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    assert [e.message for e in validator.iter_errors(document)] == []


def _errors(validator, config: dict) -> list[str]:
    return sorted("/".join(map(str, e.absolute_path)) for e in validator.iter_errors({"config": config}))


def test_unknown_keys_bad_choices_and_types_are_flagged_at_their_path(validator):
    base = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    bad = {**base, "n8n:database": {**base["n8n:database"], "engine": "mysql"},
           "n8n:n8n": {**base["n8n:n8n"], "worker": {"concurency": 3}}, "n8n:colour": "blue"}
    errors = _errors(validator, bad)
    assert "config/n8n:colour" in errors or "config" in errors
    assert any(e.startswith("config/n8n:database") for e in errors)
    assert any(e.startswith("config/n8n:n8n") for e in errors)
    assert _errors(validator, base) == []


def test_string_forms_secure_values_and_other_namespaces_are_accepted(validator):
    base = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    config = {**base, "n8n:encryptionKey": {"secure": "v1:abc"}, "aws:region": "eu-west-1",
              "n8n:n8n": {**base["n8n:n8n"], "worker": {"maxReplicas": "12"}}}
    assert _errors(validator, config) == []
