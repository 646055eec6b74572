"""A small declarative schema for stack settings: dataclasses in, validated values or a list of problems out.

Each settings section is a frozen dataclass whose fields are declared with :func:`setting`. The parser walks the
raw (JSON-like) stack config, converts camelCase config keys to the snake_case fields, rejects unknown keys, checks
types and per-field rules, and collects *every* problem with the full key path, the value given and what is
allowed, so that one run of the program shows the user everything to fix.

Why not pydantic (tried with 2.14 on these sections): its idiomatic rules (``Annotated[int, Field(ge=1)]``) make
Pulumi's schema analyzer fail (``issubclass() arg 1 must be a class``), and the sections are component-schema types
served to other languages, so the rules would stay hand-written checks anyway; its messages are vaguer where users
need help most (an unknown key gets "Unexpected keyword argument" without the allowed keys, a missing one "Field
required" without what it is for); and lax mode accepts ``"yes"`` or ``1`` for a boolean while strict mode refuses the
strings Pulumi config stores. What would remain to replace is the ~100 lines of walking below.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import types
import typing
from collections.abc import Callable
from enum import Enum
from fractions import Fraction
from typing import Any, Literal, get_args, get_origin

Check = Callable[[Any], str | None]
"""A rule on one value: returns what is allowed (as a phrase) when the value breaks it, else None."""

MISSING = dataclasses.MISSING
HIDDEN = "(secret)"
"""Shown instead of the value of a secret setting in a Problem."""


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with the stack config."""

    key: str
    value: Any
    allowed: str

    def __str__(self) -> str:
        shown = "(not set)" if self.value is MISSING else repr(self.value)
        return f"{self.key} = {shown}: {self.allowed}"


class SettingsError(ValueError):
    """Raised with every problem found in the stack config; the message lists one problem per line."""

    def __init__(self, problems: list[Problem], heading: str = "invalid stack configuration"):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{heading} ({len(problems)} problem(s)):\n{lines}")


class Section:
    """Base of every settings section. Built directly (by a Python caller, as a component's argument) a section checks
    its own values with the rules :func:`parse` applies to stack config and raises :class:`SettingsError` naming each
    field, the value and what is allowed; so a section is valid however it was made, and the components that take one
    trust it. Nested sections were checked when they were built."""

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        hints = _hints(type(self))
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value, hint = getattr(self, f.name), hints[f.name]
            kind = _plain(hint)
            if dataclasses.is_dataclass(value) and dataclasses.is_dataclass(kind) and isinstance(value, kind):
                continue  # a section of the right kind: checked when it was built
            start = len(problems)
            converted = _convert(hint, value, f.name, problems, f.metadata.get("check"))
            if len(problems) == start:  # (no section has a secret field: those are the top-level Settings')
                object.__setattr__(self, f.name, converted)  # the parsed form: "3" -> 3, "info" -> LogLevel.INFO
        if problems:
            raise SettingsError(problems, f"{type(self).__name__}: invalid argument(s)")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def setting(doc: str, default: Any = MISSING, *, check: Check | None = None, secret: bool = False) -> Any:
    """Declare a settings field with its documentation, default (omit for required) and an optional rule."""
    meta = {"doc": doc, "check": check, "secret": secret}
    if isinstance(default, (list, dict)):  # mutable: every instance gets its own copy (sections are frozen)
        return dataclasses.field(default_factory=lambda: _copy(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value


def camel(name: str) -> str:
    """snake_case field name to the camelCase key users write in Pulumi config."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- common rules -------------------------------------------------------------------------------------------------


def at_least(low: float) -> Check:
    return lambda v: None if v >= low else f"must be at least {low}"


def between(low: float, high: float) -> Check:
    return lambda v: None if low <= v <= high else f"must be between {low} and {high}"


def matches(pattern: str, what: str) -> Check:
    rx = re.compile(pattern)
    return lambda v: None if rx.fullmatch(v) else f"must be {what}"


def each(rule: Check) -> Check:
    def check(values: list) -> str | None:
        for item in values:
            if (why := rule(item)) is not None:
                return f"every item {why} (bad item: {item!r})"
        return None

    return check


def non_empty(v: Any) -> str | None:
    return None if v else "must not be empty"


DNS_LABEL = matches(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", "a DNS label (lowercase letters, digits, '-', max 63)")
QUANTITY = re.compile(r"\+?(?P<number>[0-9]+(\.[0-9]*)?|\.[0-9]+)"
                      r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[mkMGTPE]|[eE][-+]?[0-9]+)?")
"""Kubernetes' quantity grammar (``resource.Quantity``): a non-negative decimal with a binary (Ki..Ei), decimal
(m, k..E) or exponent (e3) suffix. ``1.5Gi`` and ``0.5`` are quantities; ``1GB``, ``2 cores`` and ``-1`` are not."""
CPU = matches(r"([0-9]+m|[0-9]+(\.[0-9]+)?)", "a Kubernetes CPU quantity such as 250m or 2")
MEMORY = matches(r"[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?", "a Kubernetes memory quantity such as 512Mi or 2Gi")
"""Stack settings take the common forms only (components take any :data:`QUANTITY`)."""
CRON = matches(r"(\S+\s+){4}\S+", "a five-field cron schedule such as '15 2 * * *'")

_SCALE = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60, "m": Fraction(1, 1000),
          "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18, "": 1}


def quantity_value(quantity: str) -> Fraction:
    """The exact value of a Kubernetes quantity (``1.5Gi`` -> 1610612736); ValueError when it is not one."""
    found = QUANTITY.fullmatch(quantity) if isinstance(quantity, str) else None
    if found is None:
        raise ValueError(f"{quantity!r} is not a Kubernetes quantity")
    suffix = found["suffix"] or ""
    scale = _SCALE[suffix] if suffix in _SCALE else Fraction(10) ** int(suffix[1:])
    return Fraction(found["number"]) * scale


def quantity_bytes(quantity: str) -> int:
    """Bytes in a Kubernetes memory quantity, rounded up as Kubernetes does (``1.5Gi`` -> 1610612736)."""
    return math.ceil(quantity_value(quantity))


def cpu_millis(quantity: str) -> int:
    """Millicores in a Kubernetes CPU quantity, rounded up as Kubernetes does (``0.5`` -> 500, ``250m`` -> 250)."""
    return math.ceil(quantity_value(quantity) * 1000)


# --- parsing ------------------------------------------------------------------------------------------------------


def parse(cls: type, raw: Any, path: str, problems: list[Problem], defaults: Any = None) -> Any:
    """Build ``cls`` from ``raw``; append a Problem for every defect and return None if any were found.

    Keys missing from ``raw`` take their value from ``defaults`` (an instance of ``cls``: the default of the field
    this section sits in, which may differ from the class's own defaults), else from the field's default.
    """
    if not isinstance(raw, dict):
        problems.append(Problem(path or "(config)", raw, "must be an object with the keys " + _keys(cls)))
        return None
    hints = _hints(cls)
    fields = {camel(f.name): f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            problems.append(Problem(join(path, key), raw[key], "unknown key; allowed keys: " + _keys(cls)))
    values, before = {}, len(problems)
    for key, f in fields.items():
        where = join(path, key)
        default = getattr(defaults, f.name) if defaults is not None else field_default(f)
        if key in raw:
            start = len(problems)
            values[f.name] = _convert(hints[f.name], raw[key], where, problems, f.metadata.get("check"), default)
            if f.metadata.get("secret"):  # a problem with a secret names the key, never shows the value
                problems[start:] = [dataclasses.replace(p, value=HIDDEN) for p in problems[start:]]
        elif default is MISSING:
            problems.append(Problem(where, MISSING, f"required: {f.metadata['doc']}"))
        else:
            values[f.name] = _copy(default)
    if len(problems) > before:
        return None
    return cls(**values)


def field_default(f: dataclasses.Field) -> Any:
    """A field's default value (a fresh one from its factory), or MISSING for a required field."""
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return MISSING


def _keys(cls: type) -> str:
    return ", ".join(camel(f.name) for f in dataclasses.fields(cls))


def choices(hint: Any) -> tuple[Any, ...] | None:
    """The values a ``Literal[...]`` or an Enum hint allows (an Enum's member values, in order), else None."""
    if get_origin(hint) is Literal:
        return get_args(hint)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return tuple(m.value for m in hint)
    return None


def _plain(hint: Any) -> Any:
    """The non-None member of an Optional hint, else the hint itself."""
    if get_origin(hint) in (typing.Union, types.UnionType):
        members = [a for a in get_args(hint) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return hint


def _convert(hint: Any, value: Any, where: str, problems: list[Problem], check: Check | None,
             default: Any = None) -> Any:
    optional = _plain(hint) is not hint
    hint = _plain(hint)
    if optional and (value is None or value == ""):  # `pulumi config set n8n:x ""` unsets an optional key
        return None
    origin = get_origin(hint)
    before = len(problems)
    if dataclasses.is_dataclass(hint):
        result = parse(hint, value, where, problems, default if dataclasses.is_dataclass(default) else None)
    elif (allowed := choices(hint)) is not None:
        if value not in allowed:
            problems.append(Problem(where, value, "must be one of " + ", ".join(repr(c) for c in allowed)))
        result = hint(value) if origin is not Literal and value in allowed else value
    elif origin is list:
        (item,) = get_args(hint)
        if not isinstance(value, list):
            problems.append(Problem(where, value, f"must be a list of {_name(item)}"))
            return None
        result = [_convert(item, v, f"{where}[{i}]", problems, None) for i, v in enumerate(value)]
    elif origin is dict:
        _, item = get_args(hint)
        if not isinstance(value, dict):
            problems.append(Problem(where, value, f"must be an object of {_name(item)} values"))
            return None
        result = {k: _convert(item, v, f"{where}.{k}", problems, None) for k, v in value.items()}
    else:
        result = _scalar(hint, value, where, problems)
    if check is not None and len(problems) == before and (why := check(result)) is not None:
        problems.append(Problem(where, value, why))
    return result


def _scalar(hint: type, value: Any, where: str, problems: list[Problem]) -> Any:
    # Pulumi stores `pulumi config set n8n:x 3` as the string "3": accept the string form of numbers and booleans.
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
            return int(value)
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value):
            return float(value)
    elif hint is str and isinstance(value, str):
        return value
    problems.append(Problem(where, value, f"must be {_name(hint)}"))
    return value


def _name(hint: Any) -> str:
    hint = _plain(hint)
    if dataclasses.is_dataclass(hint):
        return "an object"
    if (allowed := choices(hint)) is not None:
        return "one of " + ", ".join(repr(c) for c in allowed)
    return {bool: "a boolean (true or false)", int: "a whole number", float: "a number", str: "a string"}.get(
        hint, str(hint)
    )


def describe(cls: type, path: str = "", defaults: Any = None) -> list[dict[str, Any]]:
    """Every setting below ``cls`` as rows (key, type, default, doc), for the generated configuration reference.

    ``defaults`` is the instance whose values are the defaults (a section's default can differ from its class's,
    e.g. the webhook role's replicas).
    """
    rows = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key, hint = join(path, camel(f.name)), _plain(hints[f.name])
        default = getattr(defaults, f.name) if defaults is not None else field_default(f)
        if default is MISSING:
            default = "(required)"
        if dataclasses.is_dataclass(hint):
            rows.append({"key": key, "type": "object", "default": "", "doc": f.metadata["doc"]})
            rows.extend(describe(hint, key, default if dataclasses.is_dataclass(default) else None))
            continue
        rows.append({"key": key, "type": _type_name(hints[f.name]), "default": default, "doc": f.metadata["doc"]})
    return rows


def _type_name(hint: Any) -> str:
    optional = _plain(hint) is not hint
    hint = _plain(hint)
    if (allowed := choices(hint)) is not None:
        name = " \\| ".join(f"`{c}`" for c in allowed)
    elif get_origin(hint) is list:
        name = f"list of {_type_name(get_args(hint)[0])}"
    elif get_origin(hint) is dict:
        name = f"map of {_type_name(get_args(hint)[1])}"
    else:
        name = {bool: "boolean", int: "integer", float: "number", str: "string"}.get(hint, str(hint))
    return f"{name} (optional)" if optional else name
