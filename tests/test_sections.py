"""Every settings section checks itself when built directly (a Python caller, a component's argument), with the
same rules the stack config is parsed with; so a component that takes a section trusts it, and one type serves both
the settings and the component (``EdgeRateLimits``, ``EdgeOidc``, ``DatabaseSettings``, ...)."""

from __future__ import annotations

import dataclasses

import pytest

from n8n_platform import settings  # noqa: F401  (imports every module that declares a section)
from n8n_platform.database.spec import DatabaseSettings
from n8n_platform.edge.spec import EdgeOidc
from n8n_platform.n8n.spec import LogLevel, N8nSettings
from n8n_platform.schema import MISSING, Problem, Section, SettingsError, camel, parse

OIDC = {"issuer": "https://idp.example.com", "authorization_endpoint": "https://idp.example.com/a",
        "token_endpoint": "https://idp.example.com/t", "user_info_endpoint": "https://idp.example.com/u",
        "client_id": "n8n"}
BASES: dict[str, dict] = {"EdgeOidc": OIDC, "AwsSettings": {"region": "eu-west-1"},
                          "EdgeSettings": {"hostname": "n8n.example.com"},
                          "PitrRestore": {"source_cluster": "n8n-old", "target_time": "2026-11-20T03:00:00+00:00"}}
"""Valid values of the required fields of the sections that have some."""
CANDIDATES = (-1, 0, 10**9, "", "not valid", "1.5Gi2", ["x y"], "x" * 300)


def sections() -> list[type]:
    found, todo = [], list(Section.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted({c for c in found if c.__name__ != "Settings"}, key=lambda c: c.__name__)


def scalar_fields(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if not dataclasses.is_dataclass(f.default)
            and not (f.default_factory is not MISSING and dataclasses.is_dataclass(f.default_factory()))]


def test_every_section_is_found():
    names = {c.__name__ for c in sections()}
    assert {"EdgeRateLimits", "EdgeOidc", "DatabaseSettings", "PatroniSettings", "N8nSettings",
            "InClusterRedisSettings", "AlertThresholds", "AutoscalingSettings", "ClusterSettings"} <= names


@pytest.mark.parametrize("cls", sections(), ids=lambda c: c.__name__)
def test_what_the_parser_refuses_direct_construction_refuses_too(cls):
    base = BASES.get(cls.__name__, {})
    cls(**base)  # the defaults (and the base values) pass their own rules
    refused = 0
    for f in scalar_fields(cls):
        for bad in CANDIDATES:
            problems: list[Problem] = []
            parse(cls, {camel(k): v for k, v in {**base, f.name: bad}.items()}, "", problems)
            if not any(p.key == camel(f.name) for p in problems):
                continue  # the parser takes it (or converts it): so may the constructor
            with pytest.raises(SettingsError) as e:
                cls(**{**base, f.name: bad})
            assert [p.key for p in e.value.problems] == [f.name], (f.name, bad, e.value)
            assert str(e.value).startswith(f"{cls.__name__}: invalid argument(s)")
            refused += 1
    assert refused, f"no candidate value is refused for any field of {cls.__name__}"


def test_direct_construction_takes_the_parsed_forms():
    assert N8nSettings(log_level="debug").log_level is LogLevel.DEBUG  # type: ignore[arg-type]
    assert DatabaseSettings(connection_limit="150").connection_limit == 150  # type: ignore[arg-type]


@pytest.mark.parametrize(("build", "field", "why"), [
    (lambda: DatabaseSettings(connection_limit=5), "connection_limit", "between 10 and 5000"),
    (lambda: N8nSettings(log_level="verbose"), "log_level", "'error', 'warn', 'info', 'debug'"),
    (lambda: EdgeOidc(**{**OIDC, "issuer": "idp.example.com"}), "issuer", "https:// URL"),
])
def test_a_misused_section_names_the_field_the_value_and_what_is_allowed(build, field, why):
    with pytest.raises(SettingsError) as e:
        build()
    (problem,) = e.value.problems
    assert problem.key == field and why in problem.allowed


def test_a_nested_section_of_the_wrong_kind_is_refused():
    from n8n_platform.database.spec import PatroniSettings, RdsSettings

    with pytest.raises(SettingsError) as e:
        DatabaseSettings(patroni=RdsSettings())  # type: ignore[arg-type]
    assert [p.key for p in e.value.problems] == ["patroni"]
    assert DatabaseSettings(patroni={"members": 2}).patroni == PatroniSettings(members=2)  # type: ignore[arg-type]
