"""The seam between the stack and the components, checked on the source: the components own their vocabulary
(:mod:`n8n_platform.vocabulary` and each package's ``spec`` module) and never import the stack settings; only the
composer translates a stack's :class:`~n8n_platform.settings.Settings` into each component's Args."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "components" / "n8n_platform"
COMPOSER = {"settings.py", "platform.py", "platform_secrets.py", "program.py", "__init__.py"}
"""The stack side: the settings model, the composer and its secrets, the program, and the package's public face."""
VOCABULARY = ["vocabulary.py", *(p.relative_to(PACKAGE).as_posix() for p in sorted(PACKAGE.glob("*/spec.py")))]


def imported_modules(path: Path, root: Path = PACKAGE) -> set[str]:
    """Absolute names of the modules ``path`` (a file of the package at ``root``) imports, anywhere in it (function
    bodies too)."""
    package = ["n8n_platform", *path.relative_to(root).parent.parts]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)  # `from . import settings`
    return found


def component_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py")
                  if "__pycache__" not in p.parts and p.relative_to(PACKAGE).as_posix() not in COMPOSER)


@pytest.mark.parametrize("path", component_modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_component_imports_the_stack_settings(path):
    assert "n8n_platform.settings" not in imported_modules(path)


@pytest.mark.parametrize("name", VOCABULARY)
def test_the_vocabulary_is_plain_values(name):
    """What the settings and the components share needs neither Pulumi nor any component to import."""
    imports = imported_modules(PACKAGE / name)
    library = {m for m in imports if m.startswith("n8n_platform.")}
    assert not any(m.split(".")[0] in ("pulumi", "pulumi_aws", "pulumi_kubernetes") for m in imports), imports
    allowed = ("n8n_platform.schema", "n8n_platform.vocabulary")
    assert all(m.startswith(allowed) for m in library), sorted(library - {m for m in library if m.startswith(allowed)})


def test_the_check_sees_every_spelling_of_the_import(tmp_path):
    """A relative import from a subpackage, a function-local one and `from . import settings` all count."""
    root = tmp_path / "n8n_platform"
    sub = root / "edge"
    sub.mkdir(parents=True)
    for text in ("from ..settings import Settings\n", "def f():\n    from n8n_platform.settings import load\n",
                 "from .. import settings\n"):
        (sub / "x.py").write_text(text)
        assert "n8n_platform.settings" in imported_modules(sub / "x.py", root), text
    (sub / "x.py").write_text("from .spec import EdgeSettings\nfrom ..vocabulary import cidr\n")
    assert "n8n_platform.settings" not in imported_modules(sub / "x.py", root)
