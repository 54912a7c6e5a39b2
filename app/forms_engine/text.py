"""What text can be stored: one rule shared by field values, definitions, comments and admin screens."""

from __future__ import annotations

import re

from .messages import N_, Message

# C0/C1 controls but tab, newline and carriage return, and lone surrogates: PostgreSQL refuses
# NUL in text, no driver encodes a surrogate, and the others garble screens and spreadsheets.
UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def unstorable(text: str) -> Message | None:
    """The problem with `text` if it holds a character that cannot be stored, naming it."""
    bad = UNSTORABLE.search(text)
    if bad is None:
        return None
    return Message(
        N_("contains the character %(char)s, which cannot be stored; remove it"), {"char": f"U+{ord(bad[0]):04X}"}
    )
