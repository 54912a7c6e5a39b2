"""The menu in working order: forms by category, and within one the records people make first
(an event before its batches, a batch before its participants); Keamanan last; the API
documentation linked for admins."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import lazy_gettext

from app.forms_engine.spec import FormSpec

SECURITY_CATEGORY = "Security"  # Flask-AppBuilder's own (shown as "Keamanan")


def menu_order(specs: dict[str, FormSpec]) -> list[str]:
    """Slugs by category, then references first (a form after the forms it points to), then title."""
    placed: list[str] = []

    def place(slug: str, seen: frozenset[str] = frozenset()) -> None:
        if slug in placed or slug in seen or slug not in specs:
            return
        spec = specs[slug]
        for f in spec.live_fields:
            target = f.target if f.type == "reference" else None
            if target in specs and _category(specs[target]) == _category(spec):
                place(target, seen | {slug})
        placed.append(slug)

    for slug in sorted(specs, key=lambda s: (_category(specs[s]), specs[s].title.id)):
        place(slug)
    return sorted(placed, key=lambda s: (_category(specs[s]), placed.index(s)))


def _category(spec: FormSpec) -> str:
    return spec.category.id if spec.category else ""


def finish_menu(appbuilder: Any) -> None:
    """Link the API documentation under Keamanan (admins) and put Keamanan at the end."""
    if current_app.config.get("FAB_API_SWAGGER_UI"):
        appbuilder.add_link(
            "menu_api_docs",
            href="/swagger/v1",
            label=lazy_gettext("API documentation"),
            icon="fa-book",
            category=SECURITY_CATEGORY,
        )
    items = appbuilder.menu.menu
    security = [item for item in items if item.name == SECURITY_CATEGORY]
    appbuilder.menu.menu = [item for item in items if item.name != SECURITY_CATEGORY] + security
