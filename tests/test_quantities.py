"""Kubernetes quantities read as Kubernetes reads them: every number form with every suffix, and the malformed ones,
judged by apimachinery's own parser (tools/testing/quantity_oracle, built with the Go toolchain)."""

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from n8n_platform import schema

ORACLE = Path(__file__).resolve().parents[1] / "tools" / "testing" / "quantity_oracle"

NUMBERS = ["0", "1", "3", "007", "10", "250", "1.5", "0.5", ".5", "5.", "1.25", "0.001", "+2", "123456789"]
SUFFIXES = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "m", "k", "M", "G", "T", "P", "E",
            "e0", "e3", "E3", "e-3", "E+2", "e12", "e-6"]
MALFORMED = ["", " 1", "1 ", "1GB", "2 cores", "1ki", "1KI", "1e", "1E+", "1.5.5", "1Ki5", "1e3Ki",
             "1i", "0x10", "1_000", "1,5", "++1", "1.5Gi ", "∞"]
STRICTER = ["-1", "-0.5Gi", "-250m", "Gi", "m", "e3", ".", "+."]
"""Kubernetes reads these (negatives; a missing number as 0); no request or limit means one, so the library refuses
them."""

GRID = [n + s for n in NUMBERS for s in SUFFIXES]

INT64 = 2**63
"""Kubernetes holds a quantity in nano units (every case here is a whole number of them) and saturates at 2^63 - 1."""


@pytest.fixture(scope="module")
def kubernetes(tmp_path_factory):
    """Kubernetes' reading of each quantity: None when it refuses one, else (exact value, Value(), MilliValue())."""
    if shutil.which("go") is None:
        pytest.skip("the Go toolchain builds the oracle from k8s.io/apimachinery")
    binary = tmp_path_factory.mktemp("oracle") / "quantity-oracle"
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=ORACLE, check=True, timeout=600)

    def read(quantities):
        out = subprocess.run([str(binary)], input="".join(q + "\n" for q in quantities), capture_output=True,
                             text=True, check=True, timeout=60).stdout.splitlines()
        assert len(out) == len(quantities)
        return {q: None if line == "invalid" else (Fraction(line.split()[0]), *map(int, line.split()[1:]))
                for q, line in zip(quantities, out, strict=True)}
    return read


@pytest.fixture(scope="module")
def grid(kubernetes):
    """Kubernetes' reading of every number with every suffix (each one a quantity it accepts)."""
    theirs = kubernetes(GRID)
    assert all(theirs.values())
    return theirs


def ours(quantity):
    try:
        return schema.quantity_value(quantity)
    except ValueError:
        return None


def test_every_number_and_suffix_has_kubernetes_value(grid):
    held = {q: value for q, (value, _, _) in grid.items() if value < INT64 - 1}
    assert {q: ours(q) for q in held} == held
    assert all(ours(q) >= INT64 - 1 for q in set(GRID) - set(held))


def test_bytes_and_millicores_round_up_as_kubernetes_does(grid):
    fits = {q: t for q, t in grid.items() if t[0] * 1000 < INT64}
    assert {q: schema.quantity_bytes(q) for q in fits} == {q: value for q, (_, value, _) in fits.items()}
    assert {q: schema.cpu_millis(q) for q in fits} == {q: milli for q, (_, _, milli) in fits.items()}


def test_what_kubernetes_refuses_is_refused(kubernetes):
    theirs = kubernetes(MALFORMED)
    assert [q for q, t in theirs.items() if t is not None] == []  # the cases are malformed for Kubernetes too
    assert {q: ours(q) for q in MALFORMED} == dict.fromkeys(MALFORMED)


def test_negatives_and_bare_suffixes_are_refused_though_kubernetes_reads_them(kubernetes):
    assert all(kubernetes(STRICTER).values())
    assert {q: ours(q) for q in STRICTER} == dict.fromkeys(STRICTER)


@pytest.mark.parametrize("value", [None, 1, 1.5, b"1Gi", ["1Gi"]])
def test_only_a_string_is_a_quantity(value):
    with pytest.raises(ValueError, match="is not a Kubernetes quantity"):
        schema.quantity_value(value)
