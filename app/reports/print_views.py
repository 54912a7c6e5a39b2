"""Screens for prints of form records (being built: issue 13)."""

from __future__ import annotations

from typing import Any


def register_print_views(appbuilder: Any, specs: dict[str, Any]) -> None:
    """Add the print screens for the published forms."""
