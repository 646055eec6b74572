"""Generate docs/settings.schema.json, the JSON Schema of a stack file (Pulumi.<stack>.yaml), from the settings model
(`make docs`); a test fails when the file is stale.

Editors validate and complete the `n8n:*` keys with it (see the README). It states what the program's parser
accepts (types, allowed choices, nesting, no unknown keys, the string forms `pulumi config set` stores); rules
on values (ranges, patterns, cross-field checks) stay in the program, which names the key, the value and what is
allowed before any resource is registered.
"""

import dataclasses
import json
import typing
from typing import Any, Literal, get_args, get_origin

from n8n_platform import schema, settings

SECURE = {"type": "object", "description": "An encrypted value (`pulumi config set --secret`).",
          "properties": {"secure": {"type": "string"}}, "required": ["secure"], "additionalProperties": False}


def _default(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {schema.camel(f.name): _default(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def value_schema(hint: Any) -> dict[str, Any]:
    """The JSON Schema of one settings value of type ``hint``, as the parser accepts it."""
    optional = schema._plain(hint) is not hint
    hint = schema._plain(hint)
    origin = get_origin(hint)
    if dataclasses.is_dataclass(hint):
        out = section_schema(hint)
    elif origin is Literal:
        out = {"enum": list(get_args(hint))}
    elif origin is list:
        out = {"type": "array", "items": value_schema(get_args(hint)[0])}
    elif origin is dict:
        out = {"type": "object", "additionalProperties": value_schema(get_args(hint)[1])}
    elif hint is bool:
        out = {"anyOf": [{"type": "boolean"}, {"enum": ["true", "false", "True", "False", "TRUE", "FALSE"]}]}
    elif hint is int:
        out = {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^-?[0-9]+$"}]}
    elif hint is float:
        out = {"anyOf": [{"type": "number"}, {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"}]}
    else:
        out = {"type": "string"}
    if optional:  # None, or "" (`pulumi config set n8n:x ""` unsets an optional key)
        out = {"anyOf": [out, {"type": "null"}, {"const": ""}]}
    return out


def section_schema(cls: type) -> dict[str, Any]:
    """An object schema for a settings dataclass: camelCase keys, no unknown ones, each documented."""
    hints = typing.get_type_hints(cls)
    properties = {}
    required = []
    for f in dataclasses.fields(cls):
        key = schema.camel(f.name)
        prop = {"description": f.metadata.get("doc", ""), **value_schema(hints[f.name])}
        default = schema.field_default(f)
        if default is schema.MISSING:
            required.append(key)
        else:
            prop["default"] = _default(default)
        properties[key] = prop
    out: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": properties}
    if cls.__doc__:
        out["description"] = cls.__doc__.strip()
    if required:
        out["required"] = required
    return out


def render() -> str:
    """The schema of a whole stack file: its `config` holds the `n8n:<key>` settings (plain or `secure`), keys of
    other namespaces (aws:, kubernetes:, ...) untouched."""
    top = section_schema(settings.Settings)
    config = {f"{settings.NAMESPACE}:{key}": {**prop, "anyOf": [_without(prop, "description", "default"), SECURE]}
              | {"description": prop["description"]} for key, prop in top["properties"].items()}
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/n8n-platform/settings.schema.json",
        "title": "Pulumi.<stack>.yaml of the n8n platform",
        "description": "Stack settings of the n8n platform, generated from the settings model (tools/settings_schema.py).",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "description": top.get("description", ""),
                "properties": {k: {key: v[key] for key in ("description", "anyOf", "default") if key in v}
                               for k, v in config.items()},
                "patternProperties": {f"^(?!{settings.NAMESPACE}:)": {}},
                "additionalProperties": False,
                "required": [f"{settings.NAMESPACE}:{key}" for key in top.get("required", [])],
            },
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
            "environment": {},
        },
        "additionalProperties": False,
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _without(prop: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in prop.items() if k not in keys}


if __name__ == "__main__":
    print(render(), end="")
