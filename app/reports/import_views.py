"""Screens for imports of form records (being built: issue 13)."""

from __future__ import annotations

from typing import Any


def register_import_views(appbuilder: Any, specs: dict[str, Any]) -> None:
    """Add the import screens for the published forms."""
