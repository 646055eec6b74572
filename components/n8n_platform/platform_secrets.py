"""The platform's three secret settings given as inputs of their own, so other languages can pass secret Outputs.

``encryptionKey``, ``licenseActivationKey`` and ``oidcClientSecret`` are fields of the stack settings, read as plain
text from secret config by ``settings.load()``. A TypeScript, Go or YAML program holds them as secret Outputs
(``config.requireSecret``), and the settings object cannot carry one: the settings are parsed and checked while the
program runs, and on the wire a secret inside ``settings`` makes the whole object one secret (Pulumi lifts
secretness to the top-level input). So :class:`~n8n_platform.platform.N8nPlatform` also takes each of them as a
top-level ``Input[str]``, marked secret in the schema; the value is only placed (into the n8n Secret, the OIDC
Secret), never shown.

The rules still hold: presence is known at once, so the rules across keys (multiMain needs the license key,
``edge.oidc`` and its client secret go together) are checked before anything is registered; the rules on the value
itself (the encryption key's length) are checked at once for a string and inside the apply for an Output, which
fails the update naming the input and never the value.
"""

import dataclasses
from collections.abc import Mapping
from typing import Any

import pulumi

from .arguments import PlainValueRequired
from .schema import HIDDEN, Problem, camel
from .settings import Settings

FIELDS = {f.name: f for f in dataclasses.fields(Settings) if f.metadata.get("secret")}
"""The secret settings (``setting(..., secret=True)``): encryption_key, license_activation_key, oidc_client_secret."""

GIVEN = HIDDEN
"""What a given secret shows as in messages (as every settings problem shows a secret), and stands for in the rules
across keys (which only ask whether one is set)."""


def pending(value: Any) -> bool:
    """True for an Output (or other awaitable): its value is known only inside an apply."""
    return isinstance(value, pulumi.Output) or hasattr(value, "__await__")


def value_problem(name: str, value: Any) -> str | None:
    """Why the known ``value`` of the secret setting ``name`` is not allowed (its type and its rule), else None."""
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    check = FIELDS[name].metadata.get("check")
    return check(value) if check is not None else None


def _checked(name: str, value: str) -> str:
    """``value`` inside the apply of an Output secret: fails naming the input (never the value) when it breaks the
    rule, so a too-short key stops the update instead of reaching n8n."""
    why = value_problem(name, value)
    if why is not None:
        raise ValueError(f"N8nPlatform: input {camel(name)!r} = {GIVEN}: {why}")
    return value


def secret_inputs(args: Mapping[str, Any]) -> dict[str, Any]:
    """The secret settings given as top-level inputs (snake_case name -> str or Output), None entries left out."""
    return {name: args[name] for name in FIELDS if args.get(name) is not None}


def refuse_outputs_in_settings(value: Any) -> None:
    """Fail naming the top-level input to use when a secret setting inside ``settings`` is an Output (the settings
    must be known while the program runs)."""
    for name in FIELDS:
        held = ([getattr(value, name)] if isinstance(value, Settings) else
                [value.get(name), value.get(camel(name))] if isinstance(value, Mapping) else [])
        for item in held:
            if pending(item):
                raise PlainValueRequired(
                    f"N8nPlatform: settings.{camel(name)} must be a plain string, not an Output: the settings are "
                    f"checked while the program runs. Pass a secret as the input {camel(name)!r} (takes a secret "
                    "Output) and leave it out of settings.")


def problems(s: Settings, given: Mapping[str, Any]) -> list[Problem]:
    """What is wrong with the secrets ``given`` as inputs, knowing ``s``: each given twice, or a known value that
    breaks its rule; keys are the input names, values never shown."""
    found = []
    for name, value in given.items():
        if getattr(s, name) is not None:
            found.append(Problem(camel(name), GIVEN, f"given twice: pass it as the input {camel(name)} or as "
                                                     f"settings.{camel(name)}, not both"))
        elif not pending(value) and (why := value_problem(name, value)) is not None:
            found.append(Problem(camel(name), GIVEN, why))
    return found


def stand_in(s: Settings, given: Mapping[str, Any]) -> Settings:
    """``s`` with :data:`GIVEN` for each secret given as an input: what the rules across keys are checked on."""
    return dataclasses.replace(s, **{name: GIVEN for name in given})


def placed(s: Settings, given: Mapping[str, Any]) -> Settings:
    """``s`` holding the secrets given as inputs, for the components that place them (Secrets, Edge) and the n8n
    environment (which only asks whether a license key is set). An Output is made secret and checked inside its
    apply; a string is as given (Secrets and Edge make every value secret)."""
    def one(name: str, value: Any) -> Any:
        if pending(value):
            return pulumi.Output.secret(value).apply(lambda v: _checked(name, v))
        return value

    return dataclasses.replace(s, **{name: one(name, value) for name, value in given.items()})
