"""The workflow core imports nothing from Flask or SQLAlchemy (it is tested without an app)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "app" / "workflows"
MODULES = ["__init__.py", "spec.py", "definition.py", "calendar.py", "clock.py", "ladder.py", "transitions.py"]
FORBIDDEN = (
    "flask",
    "flask_appbuilder",
    "flask_babel",
    "flask_sqlalchemy",
    "sqlalchemy",
    "werkzeug",
    "app.views",
    "app.access",
)


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", MODULES)
def test_no_web_or_database_imports(module: str) -> None:
    for name in imported(CORE / module):
        assert not any(name == f or name.startswith(f + ".") for f in FORBIDDEN), name
        assert not name.startswith("app.") or name.startswith(("app.forms_engine.", "app.workflows.")), name
