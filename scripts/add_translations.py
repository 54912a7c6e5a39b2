"""Append Indonesian translations to Simpul's catalogue: `python scripts/add_translations.py FILE`.

FILE holds pairs of lines, the English msgid then its Indonesian text, separated by blank
lines. Entries already in the catalogue are left alone. Then run `make translations`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

CATALOGUE = Path(__file__).resolve().parent.parent / "app/i18n/simpul/id/LC_MESSAGES/messages.po"


def main(path: str) -> None:
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle, locale="id")
    blocks = [b.strip().split("\n") for b in Path(path).read_text(encoding="utf-8").split("\n\n") if b.strip()]
    for msgid, msgstr in blocks:
        if msgid not in catalogue:
            catalogue.add(msgid, msgstr)
    with CATALOGUE.open("wb") as handle:
        write_po(handle, catalogue, width=0, omit_header=False)


if __name__ == "__main__":
    main(sys.argv[1])
