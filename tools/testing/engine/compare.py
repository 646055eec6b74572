"""Whether a live Kubernetes object carries a desired one: the API server adds defaults and rewrites quantities
("0.5" becomes "500m"), so equality is the wrong test; every desired field must be there with an equal value."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

SECRET = "[secret]"
"""How the offline plan shows a secret value (never compared)."""

_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9,
             "T": 10**12, "m": Fraction(1, 1000)}


def quantity(value: Any) -> Fraction | None:
    """A Kubernetes quantity as a number (None when it is not one), so "1000m" and "1" compare equal."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    text = str(value)
    for suffix, factor in _SUFFIXES.items():
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return Fraction(text[: -len(suffix)]) * factor
    return Fraction(text) if text.replace(".", "", 1).isdigit() else None


def differences(desired: Any, live: Any, path: str = "") -> list[str]:
    """Where ``live`` does not carry ``desired`` (live may add defaults; secret leaves are not compared)."""
    if desired == SECRET:
        return []
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return [f"{path}: expected an object, found {live!r}"]
        found = []
        for key, value in desired.items():
            if key not in live:
                if value not in (None, {}, []):
                    found.append(f"{path}.{key}: missing (expected {value!r})")
                continue
            found += differences(value, live[key], f"{path}.{key}")
        return found
    if isinstance(desired, list):
        if not isinstance(live, list) or len(live) != len(desired):
            return [f"{path}: expected {desired!r}, found {live!r}"]
        pairs = enumerate(zip(desired, live, strict=True))
        return [d for i, (a, b) in pairs for d in differences(a, b, f"{path}[{i}]")]
    if desired == live or (quantity(desired) is not None and quantity(desired) == quantity(live)):
        return []
    return [f"{path}: expected {desired!r}, found {live!r}"]
