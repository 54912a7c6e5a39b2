"""Bahasa Indonesia for every screen: FAB's, WTForms' and Simpul's own catalogues."""

from __future__ import annotations

from pathlib import Path

import flask_wtf.i18n
from flask import Flask

I18N_DIR = Path(__file__).resolve().parent / "i18n"


def init_i18n(app: Flask) -> None:
    """Point Flask-WTF at the WTForms catalogues shipped with Simpul (WTForms has no 'id')."""
    # Flask-WTF reads WTForms' own folder only; ours holds the Indonesian catalogue.
    flask_wtf.i18n.messages_path = lambda: str(I18N_DIR / "wtforms")
    app.config.setdefault("WTF_I18N_ENABLED", True)
