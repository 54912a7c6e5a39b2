"""Admin-written texts shown in the reader's language, and value formatting for screens."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import LazyString, get_locale
from flask_babel import gettext as _gettext
from markupsafe import Markup, escape

from app.forms_engine.messages import Message
from app.forms_engine.spec import FieldSpec, Text
from app.reports.pdf.formats import rupiah


def current_lang() -> str:
    """'id' or 'en', from the request's locale (Bahasa Indonesia outside a request)."""
    try:
        locale = get_locale()
    except RuntimeError:
        return "id"
    return "en" if locale is not None and locale.language == "en" else "id"


class AdminText(LazyString):
    """Text an admin wrote (label, help, choice, title), in the reader's language, as escaped HTML.

    FAB passes these texts to templates (`{{ }}` and `_()`), to WTForms, to JSON and, through
    `str()`, to its filter panel, whose script appends labels as HTML. Escaping here, at the
    source, makes every one of those paths safe: `__html__` and `__str__` both give the escaped
    text as Markup, so Jinja does not escape it twice. Plain-text outputs (exports, the engine's
    messages) read the definition's Text instead.
    """

    def __str__(self) -> str:
        # str() passes a str subclass through as it is: the Markup survives FAB's as_unicode().
        return escape(super().__str__())

    def __html__(self) -> str:
        return str(self)


def lazy_text(text: Text | None) -> LazyString | str:
    """A label in the language of whoever reads it, always handed out escaped."""
    if text is None:
        return ""
    return AdminText(lambda: text.get(current_lang()))


def render_message(message: Message) -> str:
    """A Message from the engine in the current language."""
    return message.render(_gettext, current_lang())


# Types whose stored value is shown as it is need no formatter but for empty values.
FORMATTED_TYPES = frozenset({"choice", "multichoice", "money", "boolean", "date", "datetime", "longtext", "region"})


def format_value(field: FieldSpec, value: Any) -> Any:
    """How a stored value of `field` is shown in lists and detail screens (escaped)."""
    if value is None or value == "":
        return ""
    if field.type == "choice":
        return field.choice_label(value, current_lang())
    if field.type == "multichoice":
        lang = current_lang()
        return ", ".join(field.choice_label(v, lang) for v in value or ())
    if field.type == "money":
        return rupiah(value)
    if field.type == "boolean":
        return _gettext("Yes") if value else _gettext("No")
    if field.type == "date":
        return value.strftime("%d-%m-%Y")
    if field.type == "datetime":
        return value.strftime("%d-%m-%Y %H:%M")
    if field.type == "region":
        return current_app.extensions["simpul_region_names"].label(value)
    if field.type == "longtext":
        return Markup("<br>").join(escape(line) for line in str(value).splitlines())
    return value
