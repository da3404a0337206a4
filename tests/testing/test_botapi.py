"""qabot.testing is test support: the product never imports it (it needs the dev extra)."""

from __future__ import annotations

import ast
from pathlib import Path

import qabot

PACKAGE = Path(qabot.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_nothing_outside_qabot_testing_imports_it():
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if PACKAGE / "testing" not in path.parents
        and any(name.split(".")[:2] == ["qabot", "testing"] for name in _imports(path))
    ]
    assert offenders == []
