"""Uploaded files: stored under UPLOAD_DIR (outside any static folder), named by random keys."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import current_app
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from app.forms_engine.spec import FieldSpec


def upload_root() -> Path:
    """The directory uploads are kept in (created on demand)."""
    root = Path(current_app.config["UPLOAD_DIR"])
    root.mkdir(parents=True, exist_ok=True)
    return root


def save_upload(slug: str, field: FieldSpec, upload: FileStorage) -> str:
    """Store an uploaded file and return its key (`slug/field/random/original-name`)."""
    ext = (upload.filename or "").rsplit(".", 1)[-1].lower()
    name = secure_filename(upload.filename or "") or f"berkas.{ext}"
    key = f"{slug}/{field.name}/{secrets.token_hex(16)}/{name}"
    path = upload_root() / key
    path.parent.mkdir(parents=True, exist_ok=True)
    upload.save(path)
    return key


def upload_path(key: str) -> Path | None:
    """The file behind a stored key, or None when the key is malformed or missing."""
    root = upload_root().resolve()
    path = (root / key).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path
