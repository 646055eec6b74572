"""The library as a Pulumi component package: ``pulumi package add <repo>/components`` serves these components to
TypeScript, Go, C#, Java and YAML programs through Pulumi's component provider host, with a schema Pulumi infers
from the Args and output annotations (docstrings become the descriptions).

``components/PulumiPlugin.yaml`` runs ``components/__main__.py``, which calls :func:`main`. The inferred schema is
committed as ``components/schema.json`` (``python -m n8n_platform.provider > components/schema.json``); a test fails
when it is stale.
"""

import dataclasses
import enum
import json
from collections.abc import Mapping
from typing import Any

import pulumi

from . import COMPONENTS, __version__, platform_secrets
from .schema import camel

PACKAGE = "n8n"
"""Package name: the first part of every type token (``n8n:index:<Class>``)."""

SERVED: list[type[pulumi.ComponentResource]] = list(COMPONENTS)
"""Components other languages can use: every public component."""

SECRET_INPUTS: dict[str, tuple[str, ...]] = {
    "N8nPlatform": tuple(platform_secrets.FIELDS),
    "Secrets": ("encryption_key", "license_activation_key"),
    "Edge": ("oidc_client_secret",),
    "ElastiCacheRedis": ("auth_token",),
    "RdsDatabase": ("n8n_password",),
}
"""Inputs marked ``secret`` in the schema (Pulumi's analyzer has no marker for it): the SDKs generated from it wrap
a plain value in a secret, so the engine never records one in clear in the component's inputs."""


def refuse_whole_outputs(component: str, inputs: Mapping[str, Any], objects: list[str]) -> None:
    """Fail naming the input when an object input (``settings``, ``db``, ...) arrives as one Output.

    On the wire a secret inside an object makes the whole object one secret (Pulumi lifts secretness to the
    top-level input when the caller's SDK does not send output values); Pulumi's provider would then report the
    object's first required field as missing."""
    from pulumi.errors import InputPropertyError

    for name in objects:
        if isinstance(inputs.get(name), pulumi.Output):
            hint = (f"Pass the secrets as the inputs {', '.join(map(camel, platform_secrets.FIELDS))} (each takes "
                    "a secret Output), not inside settings." if component == "N8nPlatform" else
                    "Pass its fields as plain values or as Outputs of their own, not the whole object as one secret.")
            raise InputPropertyError(name, f"{component}: input '{name}' must be an object whose fields can be read "
                                           f"while the program runs, and arrived as one Output: a secret inside it "
                                           f"makes the whole object secret. {hint}")


def whole_numbers(prop: Any, value: Any) -> Any:
    """``value`` of the schema property ``prop`` with integers as ``int`` (also in lists and maps of integers).

    The wire has one number type: a whole number arrives as a float, and Pulumi's component provider (3.272)
    converts an integer property to ``int`` but then stores the float again; a float would fail the settings'
    integer fields and print as ``3.0`` where a component formats it."""
    from pulumi.provider.experimental.analyzer import PropertyType

    if prop.type == PropertyType.INTEGER and isinstance(value, float) and value.is_integer():
        return int(value)
    if prop.items is not None and isinstance(value, list):
        return [whole_numbers(prop.items, v) for v in value]
    if prop.additional_properties is not None and isinstance(value, dict):
        return {k: whole_numbers(prop.additional_properties, v) for k, v in value.items()}
    return value


def enum_value(member: Any) -> Any:
    """What other languages receive for an enum member: its value."""
    return member.value if isinstance(member, enum.Enum) else member


def provider() -> "pulumi.provider.experimental.component.ComponentProvider":
    """The component provider for :data:`SERVED`, versioned like the package.

    Pulumi's analyzer makes every field of a dataclass schema type required, even one with a default; here a field
    with a default is optional, as it is in Python (``structured`` then leaves it to the dataclass default), so
    other languages give a ``NetworkPlan`` or a ``RedisConnection`` only what differs. Fields of the settings
    sections (``DatabaseSettings``) are documented once, in their ``setting()`` declaration; that text becomes
    their description. :data:`SECRET_INPUTS` are marked secret.
    """
    from pulumi.provider.experimental.component import ComponentProvider
    from pulumi.provider.experimental.schema import generate_schema

    class Served(ComponentProvider):
        def map_inputs(self, inputs: Any, component_def: Any) -> Any:
            objects = [name for name, prop in component_def.inputs.items()
                       if prop.ref and (t := self._type_defs.get(prop.ref.split(":")[-1])) is not None and not t.enum]
            refuse_whole_outputs(component_def.name, inputs, objects)
            return super().map_inputs(inputs, component_def)

        def map_complex_output(self, instance_val: Any, type_def: Any) -> Any:
            if type_def.enum:  # an enum inside an output object (Pulumi 3.272 maps it as an object: `{}`)
                return (instance_val.apply(enum_value) if isinstance(instance_val, pulumi.Output)
                        else enum_value(instance_val))
            return super().map_complex_output(instance_val, type_def)

        def map_input_properties(self, inputs: Any, properties: Any, mapping: Any, *where: Any) -> Any:
            mapped = super().map_input_properties(inputs, properties, mapping, *where)
            for schema_name, prop in properties.items():
                if mapping[schema_name] in mapped:
                    mapped[mapping[schema_name]] = whole_numbers(prop, mapped[mapping[schema_name]])
            return mapped

    served = Served(SERVED, PACKAGE, version=__version__)
    for type_def in served._type_defs.values():
        if dataclasses.is_dataclass(type_def.python_type):
            fields = {f.name: f for f in dataclasses.fields(type_def.python_type)}
            for schema_name, prop in type_def.properties.items():
                f = fields[type_def.properties_mapping[schema_name]]
                if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
                    prop.optional = True
                prop.description = prop.description or f.metadata.get("doc")  # settings sections: setting(doc)
                if f.metadata.get("secret"):  # Settings.encryption_key, ...: N8nPlatform takes them as inputs too
                    prop.description += (f" Plain text only here; to pass a secret Output, give N8nPlatform's "
                                         f"input `{schema_name}` instead.")
    spec = generate_schema(PACKAGE, __version__, None, served._component_defs, served._type_defs,
                           served._dependencies).to_json()
    for component, secret_inputs in SECRET_INPUTS.items():
        wire_names = {py: wire for wire, py in served._component_defs[component].inputs_mapping.items()}
        inputs = spec["resources"][f"{PACKAGE}:index:{component}"]["inputProperties"]
        for name in secret_inputs:
            inputs[wire_names[name]]["secret"] = True
    served.schema = json.dumps(spec)
    return served


def schema() -> str:
    """The package schema Pulumi infers, as stable JSON text (what ``pulumi package get-schema`` would print)."""
    return json.dumps(json.loads(provider().schema or "{}"), indent=2, sort_keys=True) + "\n"


def main() -> None:
    """Serve :data:`SERVED` (called by ``components/__main__.py`` when Pulumi runs the plugin): what
    ``component_provider_host`` does, with :func:`provider`'s schema."""
    import sys

    from pulumi.provider import main as serve

    serve(provider(), sys.argv[1:])


if __name__ == "__main__":
    print(schema(), end="")
