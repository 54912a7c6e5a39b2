"""Translatable messages produced by the pure engine.

The engine does not import Flask: it returns `Message` objects whose English text is
the gettext msgid; the web layer renders them through Flask-Babel, the CLI in English.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def N_(text: str) -> str:
    """Mark a string for extraction without translating it (pybabel keyword N_)."""
    return text


@dataclass(frozen=True)
class Message:
    """A msgid with its parameters, rendered late in the reader's language."""

    text: str
    params: dict[str, Any] = field(default_factory=dict)
    # Admin-written text (e.g. a pattern's own message) given per language instead.
    custom: dict[str, str] | None = None

    def render(self, gettext: Callable[[str], str] | None = None, lang: str = "en") -> str:
        """Translate with `gettext` (identity by default) and fill in the parameters."""
        if self.custom is not None:
            return self.custom.get(lang) or self.custom.get("id") or ""
        template = gettext(self.text) if gettext else self.text
        return template % self.params if self.params else template

    def __str__(self) -> str:
        return self.render()
