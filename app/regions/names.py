"""Region names for display: loaded once per app from the region list, on first use."""

from __future__ import annotations

import re
import threading

import sqlalchemy as sa

from app.regions.importer import region_table

KIND_PREFIX = {2: "", 3: "Kec. ", 4: ""}
PROVINCE = re.compile(r"[0-9]{2}")


class RegionNames:
    """code -> name, read one province at a time on first use.

    The national list is about 10 MB as a dict; an office's records lie in one province, so a
    process holds the names of the provinces it shows (a few hundred KB each).
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._provinces: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def _load(self, code: str) -> dict[str, str]:
        """The names of the province `code` lies in ({} for a code of no province)."""
        province = code.split(".", 1)[0]
        names = self._provinces.get(province)
        if names is not None:
            return names
        if not PROVINCE.fullmatch(province):  # not cached: arbitrary text must not grow the cache
            return {}
        with self._lock:
            names = self._provinces.get(province)
            if names is None:
                code_column = region_table.c.code
                within = sa.and_(code_column > f"{province}.", code_column < f"{province}/")  # "/" follows "."
                query = sa.select(code_column, region_table.c.name).where(sa.or_(code_column == province, within))
                with self._engine.connect() as conn:
                    names = self._provinces[province] = {row.code: row.name for row in conn.execute(query)}
        return names

    def name(self, code: str | None) -> str | None:
        """The official name of a code, or None when the list does not have it."""
        return self._load(code).get(code) if code else None

    def label(self, code: str | None) -> str:
        """How a stored code is shown: 'Agung, Kec. Tanjung' for a desa, the name otherwise."""
        if not code:
            return ""
        names = self._load(code)
        name = names.get(code)
        if name is None:
            return code
        parent = code.rsplit(".", 1)[0] if code.count(".") == 3 else None
        if parent and parent in names:
            return f"{name}, Kec. {names[parent]}"
        return name

    def path(self, code: str) -> list[dict[str, str]]:
        """The code and its ancestors, province first, as {code, name}."""
        names = self._load(code)
        parts = code.split(".")
        chain = [".".join(parts[: i + 1]) for i in range(len(parts))]
        return [{"code": c, "name": names.get(c, c)} for c in chain]
