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
        if not self.params:
            return template
        # A parameter may itself be a message ("must be %(expected)s": "text"), rendered alike.
        params = {
            k: v.render(gettext, lang)
            if isinstance(v, Message)
            else v.render(gettext)
            if isinstance(v, RecordRef)
            else v
            for k, v in self.params.items()
        }
        return template % params

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True)
class RecordRef:
    """Another record a message points to ("already used by record #18").

    The web layer replaces it before rendering when the reader may not see that record, so a
    message never names a record outside the reader's working area.
    """

    form: str
    id: int

    def render(self, gettext: Callable[[str], str] | None = None) -> str:
        """ "record #18" in the reader's language."""
        template = N_("record #%(id)s")
        return (gettext(template) if gettext else template) % {"id": self.id}


SHOWN_CHARS = 60  # of a definition's own text quoted back in a message


def printable(text: str) -> str:
    """`text` on one line: newlines, control and invisible characters written as escapes (\\n, \\u200b)."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def shown(value: Any) -> str:
    """Text from a definition as quoted in a message: printable, and cut short."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > SHOWN_CHARS:
        text = text[: SHOWN_CHARS - 1] + "…"
    return printable(text)
