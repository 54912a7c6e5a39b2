"""What can stop an import before any row is looked at (the file itself): shown to the user."""

from __future__ import annotations

from app.forms_engine.messages import Message


class ImportFileError(Exception):
    """The uploaded file cannot be read as a table (its message says why, in the reader's language)."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.text)
        self.message = message
