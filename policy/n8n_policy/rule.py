"""Two small factories that turn plain check functions into CrossGuard policies.

A check is a plain function: it takes a resource's camelCase inputs (or the stack's resources) and the policy's
config, and yields one message per problem. The factories add what the engine needs: the resource types a rule
looks at, the enforcement level, and a config schema whose defaults are applied before the check runs, so a rule
behaves the same whether or not the stack's policy config mentions it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

Config = Mapping[str, Any]
ResourceCheck = Callable[[Mapping[str, Any], Config, ResourceValidationArgs], Iterable[str]]
StackCheck = Callable[[list[PolicyResource], Config], Iterable[tuple[str, str]]]


class Knob:
    """One config property of a rule: its JSON schema (which carries the default) and what it is for."""

    def __init__(self, default: Any, description: str, schema: dict[str, Any] | None = None) -> None:
        kind = {bool: "boolean", int: "integer", list: "array", str: "string"}[type(default)]
        self.schema = {"type": kind, "default": default, "description": description, **(schema or {})}

    @property
    def default(self) -> Any:
        return self.schema["default"]


def _config(knobs: Mapping[str, Knob], given: Config) -> dict[str, Any]:
    return {**{k: knob.default for k, knob in knobs.items()}, **dict(given or {})}


def _schema(knobs: Mapping[str, Knob]) -> PolicyConfigSchema | None:
    return PolicyConfigSchema({k: knob.schema for k, knob in knobs.items()}) if knobs else None


def resource_rule(name: str, description: str, types: tuple[str, ...] | Callable[[str], bool], check: ResourceCheck,
                  *,
                  level: EnforcementLevel = EnforcementLevel.MANDATORY,
                  knobs: Mapping[str, Knob] | None = None) -> ResourceValidationPolicy:
    """A policy that runs ``check`` on every resource whose type is in ``types`` (or satisfies it)."""
    knobs = knobs or {}
    applies = types if callable(types) else types.__contains__

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if not applies(args.resource_type):
            return
        for message in check(args.props, _config(knobs, args.get_config()), args):
            report(f"{args.name}: {message}")

    return ResourceValidationPolicy(name=name, description=description, validate=validate,
                                    enforcement_level=level, config_schema=_schema(knobs))


def stack_rule(name: str, description: str, check: StackCheck, *,
               level: EnforcementLevel = EnforcementLevel.MANDATORY,
               knobs: Mapping[str, Knob] | None = None) -> StackValidationPolicy:
    """A policy that runs ``check`` over every resource of the stack; it yields ``(message, urn)`` pairs."""
    knobs = knobs or {}

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        for message, urn in check(list(args.resources), _config(knobs, args.get_config())):
            report(message, urn)

    return StackValidationPolicy(name=name, description=description, validate=validate,
                                 enforcement_level=level, config_schema=_schema(knobs))


def ancestor_types(urn: str) -> list[str]:
    """The types of a resource's ancestors, nearest last, read from its engine URN.

    An engine URN is ``urn:pulumi:<stack>::<project>::<parent type>$…$<type>::<name>``: the qualified type names
    every ancestor (the stack itself excepted).
    """
    parts = urn.split("::", 3)
    return parts[2].split("$")[:-1] if len(parts) == 4 else []


def truthy(value: Any) -> bool:
    """True for ``True`` and for the string ``"true"`` (some providers' boolean inputs are strings)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")
