"""Region names for display: loaded once per app from the region list, on first use."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from app.regions.importer import region_table

KIND_PREFIX = {2: "", 3: "Kec. ", 4: ""}


class RegionNames:
    """code -> name for the whole national list (about 10 MB), read on first use."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._names: dict[str, str] | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict[str, str]:
        if self._names is None:
            with self._lock, self._engine.connect() as conn:
                if self._names is None:
                    rows = conn.execute(sa.select(region_table.c.code, region_table.c.name))
                    self._names = {code: name for code, name in rows}
        return self._names

    def name(self, code: str | None) -> str | None:
        """The official name of a code, or None when the list does not have it."""
        return self._load().get(code or "")

    def label(self, code: str | None) -> str:
        """How a stored code is shown: 'Agung, Kec. Tanjung' for a desa, the name otherwise."""
        if not code:
            return ""
        names = self._load()
        name = names.get(code)
        if name is None:
            return code
        parent = code.rsplit(".", 1)[0] if code.count(".") == 3 else None
        if parent and parent in names:
            return f"{name}, Kec. {names[parent]}"
        return name

    def path(self, code: str) -> list[dict[str, str]]:
        """The code and its ancestors, province first, as {code, name}."""
        names = self._load()
        parts = code.split(".")
        chain = [".".join(parts[: i + 1]) for i in range(len(parts))]
        return [{"code": c, "name": names.get(c, c)} for c in chain]
