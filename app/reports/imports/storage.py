"""Uploaded import files, kept under the instance's upload directory (never a static folder).

Each upload gets a random token and a directory `imports/<token>/` holding the file as sent
(`upload`), who sent it and for which form (`meta.json`), and, after a refused run, the
annotated workbook (`annotated.xlsx`). Only the user who uploaded may open them; they are removed after KEEP_DAYS.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from app.office import utc_now
from app.uploads import upload_root

UPLOAD, META, ANNOTATED = "upload", "meta.json", "annotated.xlsx"
KEEP_DAYS = 7  # personal data: an upload is kept for the import and its corrections, not for good
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def import_dir(token: str) -> Path | None:
    """The directory of an upload token, or None when the token is malformed or unknown."""
    if not _TOKEN.match(token or ""):
        return None
    path = upload_root() / "imports" / token
    return path if (path / META).is_file() else None


def store_upload(data: bytes, filename: str, form: str, user_id: int, kind: str) -> str:
    """Keep an uploaded file; return its token (uploads older than KEEP_DAYS are removed first)."""
    prune_uploads()
    token = secrets.token_hex(16)
    path = upload_root() / "imports" / token
    path.mkdir(parents=True)
    (path / UPLOAD).write_bytes(data)
    meta = {"form": form, "user_id": user_id, "filename": filename[:200], "kind": kind, "at": utc_now().isoformat()}
    (path / META).write_text(json.dumps(meta))
    return token


def prune_uploads(keep: timedelta = timedelta(days=KEEP_DAYS)) -> int:
    """Remove uploads (and their annotated workbooks) older than `keep`; return how many."""
    root = upload_root() / "imports"
    if not root.is_dir():
        return 0
    cutoff = time.time() - keep.total_seconds()  # file times are epoch seconds
    removed = 0
    for path in root.iterdir():
        if path.is_dir() and _TOKEN.match(path.name) and path.stat().st_mtime < cutoff:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


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
