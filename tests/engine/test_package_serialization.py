"""How the committed schema is compared with the one the CLI serves (pure; runs in the default `make test`)."""

from tools.testing.engine.package import as_served


def test_only_what_the_clis_package_spec_cannot_hold_is_dropped_and_config_is_added():
    committed = {"name": "n8n", "resources": {"n8n:index:Edge": {
        "description": "kept",
        "requiredInputs": [],
        "inputProperties": {"cidrs": {"type": "array", "description": "kept",
                                      "items": {"type": "string", "description": "dropped"}},
                            "tags": {"type": "object", "additionalProperties": {"type": "string",
                                                                                "description": "dropped"}}}}}}
    assert as_served(committed) == {"name": "n8n", "config": {}, "resources": {"n8n:index:Edge": {
        "description": "kept",
        "inputProperties": {"cidrs": {"type": "array", "description": "kept", "items": {"type": "string"}},
                            "tags": {"type": "object", "additionalProperties": {"type": "string"}}}}}}


def test_a_difference_the_cli_does_not_make_is_not_hidden():
    schema = {"name": "n8n", "resources": {"n8n:index:Redis": {"properties": {"host": {"type": "string"}}}}}
    changed = {"name": "n8n", "resources": {"n8n:index:Redis": {"properties": {"host": {"type": "integer"}}}}}
    assert as_served(schema) != as_served(changed)
    assert as_served({"name": "n8n", "config": {"variables": {"a": {}}}})["config"] == {"variables": {"a": {}}}
