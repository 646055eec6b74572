"""Helpers every component uses on its Args: refuse an Output where a plain value is needed, accept resources as a
plain mapping, and decide what is kept on delete.

Pulumi programs hand components Outputs freely. A component that only *places* a value in a resource input takes
``Input[T]`` and never inspects it. A few values must be known while the program runs (a Kubernetes object name that
is also a Pulumi resource name, a number a builder computes with); for those, :func:`plain` fails at once with a
message naming the component and the argument, instead of the ``Calling __str__ on an Output[T]`` text Pulumi
otherwise writes into names and hosts when ``PULUMI_ERROR_OUTPUT_STRING`` is not set.
"""

import dataclasses
import re
import types
import typing
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, TypedDict, TypeVar

import pulumi

from .schema import QUANTITY, Problem, Section, SettingsError, camel, cpu_millis, parse, quantity_bytes
from .vocabulary import Resources
from .vocabulary import cidr as cidr_problem

T = TypeVar("T")


class PlainValueRequired(TypeError):
    """An Output (or other awaitable) was passed for an argument that must be known while the program runs."""


def plain(component: str, argument: str, value: T) -> T:
    """``value`` itself when it is a plain value; raise :class:`PlainValueRequired` naming ``component`` and
    ``argument`` when it is an Output (or an awaitable), which the component cannot inspect while the program runs.

    Lists, tuples and mappings are checked element by element (``argument[0]``, ``argument.key``).
    """
    if isinstance(value, pulumi.Output) or hasattr(value, "__await__"):
        raise PlainValueRequired(
            f"{component}: argument {argument!r} must be a plain value known when the program runs, not an "
            f"{type(value).__name__}: it names Kubernetes objects or Pulumi resources, or is computed with. Pass "
            "the literal value (from config or a constant), or create the component inside an apply only if you "
            "accept that its resources are then invisible in previews.")
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            plain(component, f"{argument}[{i}]", item)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            plain(component, f"{argument}.{key}", item)
    return value


E = TypeVar("E", bound=Enum)


def refuse(component: str, argument: str, value: Any, allowed: str, error: type[Exception] = ValueError) -> Exception:
    """The one error every check raises: ``<component>: argument '<argument>' = <value> must be <allowed>``."""
    return error(f"{component}: argument {argument!r} = {value!r} must be {allowed}")


def member(component: str, argument: str, value: Any, kind: type[E]) -> E:
    """``value`` (a member of the enum ``kind`` or its value, case-sensitive) as that member; else fail naming the
    component, the argument, the value and the allowed values. Other languages are checked against the schema's enum
    by Pulumi; a Python caller's string would otherwise reach a manifest or a lookup unchecked."""
    plain(component, argument, value)
    try:
        return kind(value)
    except ValueError:
        raise refuse(component, argument, value, _alternatives([m.value for m in kind])) from None


def one_of(component: str, argument: str, value: Any, allowed: tuple[Any, ...]) -> Any:
    """``value`` when it is one of ``allowed`` (plain strings of a ``Literal``), else fail naming them."""
    plain(component, argument, value)
    if isinstance(value, bool) or value not in allowed:
        raise refuse(component, argument, value, _alternatives(list(allowed)))
    return value


def _alternatives(values: list[Any]) -> str:
    *rest, last = [repr(v) for v in values]
    return f"{', '.join(rest)} or {last}" if rest else last


class Missing(TypeError):
    """A required argument was left out (or None)."""


def required(component: str, args: Mapping[str, Any], argument: str, what: str = "") -> Any:
    """``args[argument]``; fail naming the component and the argument (and ``what`` it is) when it is absent or None,
    instead of a bare ``KeyError`` from inside the component."""
    value = args.get(argument)
    if value is None:
        raise Missing(f"{component}: argument {argument!r} is required{f' ({what})' if what else ''}")
    return value


def whole(component: str, argument: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """``value`` when it is a plain ``int`` (not a bool, a float such as ``5432.0`` or a string such as ``"10"``)
    within ``low``..``high``; else fail naming the component, the argument, the value and the range."""
    plain(component, argument, value)
    bounds = (f"between {low} and {high}" if low is not None and high is not None else
              f">= {low}" if low is not None else f"<= {high}" if high is not None else "")
    allowed = f"a whole number (int) {bounds}".rstrip()
    if isinstance(value, bool) or not isinstance(value, int):
        raise refuse(component, argument, value, allowed, TypeError)
    if (low is not None and value < low) or (high is not None and value > high):
        raise refuse(component, argument, value, allowed)
    return value


def number(component: str, argument: str, value: Any, low: float | None = None) -> float:
    """``value`` when it is a plain int or float (not a bool or a string) of at least ``low``."""
    plain(component, argument, value)
    allowed = f"a number >= {low}" if low is not None else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise refuse(component, argument, value, allowed, TypeError)
    if low is not None and not value >= low:
        raise refuse(component, argument, value, allowed)
    return value


def port(component: str, argument: str, value: Any) -> Any:
    """A TCP port: an ``int`` from 1 to 65535, or an Output (only placed, as text, where it is used)."""
    if isinstance(value, pulumi.Output):
        return value
    return whole(component, argument, value, 1, 65535)


def flag(component: str, argument: str, value: Any) -> bool:
    """``value`` when it is a plain ``bool``; a string such as ``"false"`` (what ``Config.get`` returns) fails
    instead of counting as true."""
    plain(component, argument, value)
    if not isinstance(value, bool):
        raise refuse(component, argument, value, "True or False (a bool; use Config.get_bool for config values)",
                     TypeError)
    return value


def string(component: str, argument: str, value: Any, pattern: str | None = None, what: str = "a string",
           placed: bool = False) -> Any:
    """``value`` when it is a non-empty str (matching ``pattern``, described as ``what``); with ``placed``, an
    Output passes as is (the component only places it)."""
    if placed and isinstance(value, pulumi.Output):
        return value
    plain(component, argument, value)
    if not isinstance(value, str) or not value or (pattern is not None and not re.fullmatch(pattern, value)):
        raise refuse(component, argument, value, what, TypeError if not isinstance(value, str) else ValueError)
    return value


HOSTNAME = r"(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*"
"""A lowercase DNS name (RFC 1123): what Ingress and Gateway hosts and TLS names accept."""


LABEL_VALUE = r"(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
"""A Kubernetes label value (non-empty here)."""


def hostname(component: str, argument: str, value: Any, ip: bool = False) -> Any:
    """A DNS name such as ``n8n.example.com`` (with ``ip``, also an IP address): no scheme, port, path or trailing
    slash (the component builds the URLs). An Output is placed as is."""
    import ipaddress

    if ip and isinstance(value, str):
        try:
            ipaddress.ip_address(value)
            return value
        except ValueError:
            pass
    what = f"a lowercase DNS name{' or IP address' if ip else ''} such as n8n.example.com (no scheme, port, path " \
           "or trailing slash)"
    return string(component, argument, value, HOSTNAME, what, placed=True)


def object_name(component: str, argument: str, value: Any) -> str:
    """A Kubernetes object name (DNS subdomain: lowercase alphanumerics, ``-`` and ``.``, at most 253), such as a
    Secret or ConfigMap name."""
    return string(component, argument, value, HOSTNAME, "a Kubernetes object name (lowercase letters, digits, '-' "
                  "and '.', starting and ending alphanumeric, at most 253 characters)")


def secret_key(component: str, argument: str, value: Any) -> str:
    """A key of a Secret or ConfigMap (alphanumerics, ``-``, ``_`` and ``.``, at most 253); also a file name."""
    return string(component, argument, value, r"[-._a-zA-Z0-9]{1,253}",
                  "a Secret/ConfigMap key (letters, digits, '-', '_' and '.', at most 253 characters)")


def cidr(component: str, argument: str, value: Any) -> str:
    """An IPv4 or IPv6 network in CIDR notation with zero host bits, such as ``10.0.0.0/16``."""
    allowed = "a CIDR with zero host bits, such as 10.0.0.0/16 or 2001:db8::/32"
    string(component, argument, value, what=allowed)
    if cidr_problem(value) is not None:
        raise refuse(component, argument, value, allowed)
    return value


def quantity(component: str, argument: str, value: Any, what: str = "memory") -> str:
    """A Kubernetes quantity string (``512Mi``, ``1.5Gi``, ``250m``, ``2``); ``1GB``, ``2 cores`` or a number fail.
    ``what``: ``memory`` or ``cpu``, for the example in the message."""
    example = "250m, 0.5 or 2" if what == "cpu" else "512Mi, 1.5Gi or 2G"
    return string(component, argument, value, QUANTITY.pattern,
                  f"a Kubernetes {what} quantity string such as {example}")


def known(component: str, args: Mapping[str, Any], args_type: Any) -> Mapping[str, Any]:
    """``args`` when it is a mapping whose every key is a field of the TypedDict ``args_type``; else fail naming the
    unexpected keys (a misspelt optional argument would otherwise be silently ignored and its default used)."""
    if not isinstance(args, Mapping):
        raise TypeError(f"{component}: argument 'args' must be a mapping ({args_type.__name__}), not "
                        f"{type(args).__name__}")
    unexpected = sorted(set(args) - set(args_type.__annotations__))
    if unexpected:
        raise TypeError(f"{component}: unexpected argument {', '.join(map(repr, unexpected))}; allowed: "
                        f"{sorted(args_type.__annotations__)}")
    return args


Check = Callable[[str, str, Any], Any]
"""A check of one argument: ``check(component, argument, value)`` returns the value (converted, e.g. to an enum
member) or raises naming the component, the argument, the value and what is allowed."""


def checked(component: str, args: Mapping[str, Any], args_type: Any, checks: Mapping[str, Check]) -> dict[str, Any]:
    """``args`` as a dict, checked where it enters: a mapping of the TypedDict ``args_type``'s keys only
    (:func:`known`), every required key present (:func:`required`), and each given value passed through its check
    in ``checks`` (a None value of an optional argument is left as the default)."""
    known(component, args, args_type)
    out = dict(args)
    for key in getattr(args_type, "__required_keys__", ()):
        required(component, out, key)
    for key, check in checks.items():
        if out.get(key) is not None:
            out[key] = check(component, key, out[key])
    return out


def at_least(low: int, high: int | None = None) -> Check:
    """The check of a whole number from ``low`` (to ``high``)."""
    return lambda c, a, v: whole(c, a, v, low, high)


def matching(pattern: str, what: str, placed: bool = False) -> Check:
    """The check of a string matching ``pattern`` (described as ``what``); with ``placed``, an Output passes."""
    return lambda c, a, v: string(c, a, v, pattern, what, placed)


def choice(kind: Any) -> Check:
    """The check of an enum argument: a member of ``kind`` or its value, as the member."""
    return lambda c, a, v: member(c, a, v, kind)


def text_input(component: str, argument: str, value: Any) -> Any:
    """The check of a string argument the component only places: a non-empty str, or an Output."""
    return string(component, argument, value, what="a non-empty string", placed=True)


def string_list(component: str, argument: str, value: Any, item: Check | None = None) -> Any:
    """A non-empty list of strings (each through ``item`` when given), or an Output of one (placed)."""
    if isinstance(value, pulumi.Output):
        return value
    if not isinstance(value, (list, tuple)) or not value:
        raise refuse(component, argument, value, "a non-empty list of strings", TypeError)
    return [(item or text_input)(component, f"{argument}[{i}]", v) for i, v in enumerate(value)]


def string_map(component: str, argument: str, value: Any) -> Any:
    """A mapping of strings to strings (tags, labels)."""
    plain(component, argument, value)
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise refuse(component, argument, value, "a mapping of strings to strings", TypeError)
    return dict(value)


email = matching(r"[^@\s]+@[^@\s]+\.[^@\s]+", "an e-mail address")
AWS_REGION = r"[a-z]{2}(-[a-z]+)+-[0-9]+"
"""An AWS region such as eu-west-1."""
region = matching(AWS_REGION, "an AWS region such as eu-west-1")
partition = matching(r"aws|aws-cn|aws-us-gov", "'aws', 'aws-cn' or 'aws-us-gov'")
subnet_ids: Check = lambda c, a, v: string_list(c, a, v, matching(r"subnet-[0-9a-f]{8,17}",  # noqa: E731
                                                                   "a subnet id such as subnet-0a1b2c3d", True))


def waits_for(component: str, opts: pulumi.ResourceOptions | None) -> list[Any]:
    """The resources in the component's own ``opts.depends_on``, for its children to wait for too (Pulumi does not
    pass a component's depends_on down to its children)."""
    depends_on = opts.depends_on if opts is not None else None
    if depends_on is None:
        return []
    if isinstance(depends_on, pulumi.Resource):
        return [depends_on]
    if isinstance(depends_on, (list, tuple)):
        return list(depends_on)
    raise TypeError(f"{component}: opts.depends_on must be a resource or a list of resources known when the program "
                    "runs (each of the component's resources waits for them)")


def retain_on_delete(args: Mapping[str, Any], protect: bool, component: str = "component") -> bool:
    """The component's ``retain_on_delete`` argument when given, else ``protect``: what is protected is also kept
    when the component is deleted; with ``protect`` off (development) nothing is left behind unless asked."""
    given = args.get("retain_on_delete")
    return protect if given is None else flag(component, "retain_on_delete", given)


RESOURCE_KEYS = {"cpu_request": "cpuRequest", "cpu_limit": "cpuLimit", "memory_request": "memoryRequest",
                 "memory_limit": "memoryLimit"}
"""Fields of a container's resources, and the camelCase spelling a mapping may use instead."""


def container_resources(component: str, argument: str, value: Any, default: Any) -> Any:
    """A ``vocabulary.Resources`` from ``value``: a Resources as is, a mapping with the snake_case or camelCase field
    names (missing fields from ``default``), or None for ``default``. An unknown key fails, naming it."""
    if value is None:
        return default
    if isinstance(value, Resources):
        return checked_resources(component, argument, value)
    if not isinstance(value, Mapping):
        raise TypeError(f"{component}: argument {argument!r} must be a mapping of {sorted(RESOURCE_KEYS.values())} "
                        f"or a Resources, not {type(value).__name__}")
    plain(component, argument, value)
    camel_to_snake = {v: k for k, v in RESOURCE_KEYS.items()}
    fields = {}
    for key, item in value.items():
        field = key if key in RESOURCE_KEYS else camel_to_snake.get(key)
        if field is None:
            raise TypeError(f"{component}: argument {argument!r} has unknown key {key!r}; allowed: "
                            f"{sorted(RESOURCE_KEYS.values())}")
        fields[field] = item
    return checked_resources(component, argument,
                             Resources(**{**{f: getattr(default, f) for f in RESOURCE_KEYS}, **fields}))


def checked_resources(component: str, argument: str, r: Any) -> Any:
    """The ``vocabulary.Resources`` ``r`` when each field is a quantity and no request exceeds its limit."""
    for field, key in RESOURCE_KEYS.items():
        quantity(component, f"{argument}.{key}", getattr(r, field), "cpu" if field.startswith("cpu") else "memory")
    if cpu_millis(r.cpu_request) > cpu_millis(r.cpu_limit):
        raise refuse(component, f"{argument}.cpuRequest", r.cpu_request, f"at most cpuLimit ({r.cpu_limit})")
    if quantity_bytes(r.memory_request) > quantity_bytes(r.memory_limit):
        raise refuse(component, f"{argument}.memoryRequest", r.memory_request,
                     f"at most memoryLimit ({r.memory_limit})")
    return r


def dns_label(component: str, argument: str, value: Any, room: int = 0) -> str:
    """``value`` when it is a plain DNS label (lowercase alphanumerics and ``-``) short enough to take a suffix of
    ``room`` characters within Kubernetes' 63; otherwise fail naming the component, the argument and the value."""
    plain(component, argument, value)
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", value) \
            or len(value) + room > 63:
        raise ValueError(f"{component}: argument {argument!r} = {value!r} must be a DNS label (lowercase letters, "
                         f"digits and '-', starting and ending alphanumeric) of at most {63 - room} characters")
    return value


def placed_quantity(component: str, argument: str, value: Any) -> Any:
    """A Kubernetes quantity as :func:`quantity`, or an Output (only placed, as a PVC size is)."""
    if isinstance(value, pulumi.Output):
        return value
    return quantity(component, argument, value)


def namespace(component: str, value: Any, argument: str = "namespace") -> Any:
    """A namespace name: a DNS label of at most 63 characters, or an Output (placed as is)."""
    if isinstance(value, pulumi.Output):
        return value
    return dns_label(component, argument, value)


def text(*parts: pulumi.Input[str]) -> pulumi.Input[str]:
    """The concatenation of ``parts``: a plain str when every part is one (manifests stay plain and readable),
    else an Output (``Output.concat``) that never passes through ``str()``."""
    if all(isinstance(p, str) for p in parts):
        return "".join(parts)  # type: ignore[arg-type]
    return pulumi.Output.concat(*parts)


class ContainerResources(TypedDict, total=False):
    """CPU and memory requests and limits of one container; a field left out takes the component's default."""

    cpu_request: str
    """CPU the scheduler reserves, e.g. ``250m``."""
    cpu_limit: str
    """CPU ceiling, e.g. ``1``."""
    memory_request: str
    """Memory the scheduler reserves, e.g. ``512Mi``."""
    memory_limit: str
    """Memory ceiling; the container is OOM-killed above it, e.g. ``1Gi``."""


def structured(component: str, argument: str, cls: type[T], value: Any) -> T:
    """``value`` as the dataclass ``cls``: itself when it already is one, else built from a mapping of its field
    names, nested dataclasses and enums included. Pulumi's component provider hands complex inputs from other
    languages over as such mappings; a missing required field fails naming it. A settings section goes through
    :func:`settings_section` (snake_case or camelCase keys, the stack config's checks)."""
    if isinstance(value, cls):
        return value
    if issubclass(cls, Section):  # a settings section: parsed and checked exactly like stack config
        return settings_section(component, argument, cls, value)
    if not isinstance(value, Mapping):
        plain(component, argument, value)
        raise TypeError(f"{component}: argument {argument!r} must be a {cls.__name__}, not {type(value).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    hints = {name: f.type for name, f in fields.items()}  # real types: the schema modules avoid future annotations
    unexpected = sorted(set(value) - set(fields))
    if unexpected:
        raise TypeError(f"{component}: argument {argument!r} has unexpected field(s) {unexpected}")
    built = {}
    for name, item in value.items():
        kind = _concrete(hints[name])
        path = f"{argument}.{name}"
        if item is not None and dataclasses.is_dataclass(kind):
            built[name] = structured(component, path, kind, item)
        elif item is not None and isinstance(kind, type) and issubclass(kind, Enum) and not isinstance(item, kind):
            built[name] = member(component, path, item, kind)
        else:
            built[name] = item
    for n, hint in hints.items():  # an optional field other languages leave out is None
        if n not in built and _concrete(hint) is not hint and fields[n].default is dataclasses.MISSING:
            built[n] = None
    missing = [n for n, f in fields.items() if n not in built and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        raise TypeError(f"{component}: argument {argument!r} lacks required field(s) {missing}")
    try:
        return cls(**built)
    except (TypeError, ValueError) as refused:  # a field's own check: name it as the component's argument
        own, said = f"{cls.__name__}: argument '", str(refused)
        if type(refused) not in (TypeError, ValueError, Missing, PlainValueRequired) or not said.startswith(own):
            raise
        raise type(refused)(f"{component}: argument '{argument}.{said[len(own):]}") from None


def settings_section(component: str, argument: str, cls: type[T], value: Any) -> T:
    """``value`` as the settings section ``cls`` (e.g. ``DatabaseSettings``): itself (a section checks itself when it is
    built, :class:`~n8n_platform.schema.Section`), the section's defaults for None,
    or built from a mapping with snake_case or camelCase keys (as other languages send it) and checked exactly like
    stack config: a bad value raises ``SettingsError`` naming ``<argument>.<key>``, the value and what is allowed."""
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    plain(component, argument, value)
    if not isinstance(value, Mapping):
        raise TypeError(f"{component}: argument {argument!r} must be a {cls.__name__}, not {type(value).__name__}")

    def camel_keys(v: Any) -> Any:
        return {camel(k): camel_keys(i) for k, i in v.items()} if isinstance(v, Mapping) else v

    problems: list[Problem] = []
    parsed = parse(cls, camel_keys(value), argument, problems)
    if problems:
        raise SettingsError(problems, f"{component}: invalid argument {argument!r}")
    return parsed


def _concrete(hint: Any) -> Any:
    """The class inside ``X | None``; other hints unchanged."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1 else hint
