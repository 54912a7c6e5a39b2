"""Screens for exports of form records (being built: issue 13)."""

from __future__ import annotations

from typing import Any


def register_export_views(appbuilder: Any, specs: dict[str, Any]) -> None:
    """Add the export screens for the published forms."""
