"""Uploaded import files, kept under the instance's upload directory (never a static folder).

Each upload gets a random token and a directory `imports/<token>/` holding the file as sent
(`upload`), who sent it and for which form (`meta.json`), and, after a refused run, the
annotated workbook (`annotated.xlsx`). Only the user who uploaded may open them.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any

from app.office import utc_now
from app.uploads import upload_root

UPLOAD, META, ANNOTATED = "upload", "meta.json", "annotated.xlsx"
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def import_dir(token: str) -> Path | None:
    """The directory of an upload token, or None when the token is malformed or unknown."""
    if not _TOKEN.match(token or ""):
        return None
    path = upload_root() / "imports" / token
    return path if (path / META).is_file() else None


def store_upload(data: bytes, filename: str, form: str, user_id: int, kind: str) -> str:
    """Keep an uploaded file; return its token."""
    token = secrets.token_hex(16)
    path = upload_root() / "imports" / token
    path.mkdir(parents=True)
    (path / UPLOAD).write_bytes(data)
    meta = {"form": form, "user_id": user_id, "filename": filename[:200], "kind": kind, "at": utc_now().isoformat()}
    (path / META).write_text(json.dumps(meta))
    return token


def upload_meta(token: str) -> dict[str, Any] | None:
    """What is known of an upload (form, user, file name), or None."""
    path = import_dir(token)
    return json.loads((path / META).read_text()) if path is not None else None


def upload_bytes(token: str) -> bytes:
    """The uploaded file as sent."""
    path = import_dir(token)
    if path is None:
        raise FileNotFoundError(token)
    return (path / UPLOAD).read_bytes()


def store_annotated(token: str, data: bytes) -> None:
    """Keep the annotated workbook of a refused run beside its upload."""
    path = import_dir(token)
    if path is not None:
        (path / ANNOTATED).write_bytes(data)


def annotated_path(token: str) -> Path | None:
    """The annotated workbook of an upload, when a run was refused."""
    path = import_dir(token)
    return path / ANNOTATED if path is not None and (path / ANNOTATED).is_file() else None
