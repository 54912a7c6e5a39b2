"""The engine's value rules for many rows: `validate_values`, with each distinct cell judged once.

A file repeats most of its values (the programme, the desa, the status, the amount, the date), so
each field keeps what `convert` and `check` (app/forms_engine/fieldtypes.py, the one rule set of
screens and API) said about a value and answers the next row holding it from there. The result of
`read` is exactly `validate_values(spec, data)`'s (tests/reports/test_import_values.py holds them
side by side).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.forms_engine.fieldtypes import Invalid, check, convert
from app.forms_engine.messages import N_, Message
from app.forms_engine.record import Errors, input_fields
from app.forms_engine.spec import FieldSpec, FormSpec

MEMO_SIZE = 50_000  # distinct values remembered per field (a column of unique NIKs gains nothing)
_REQUIRED = Message(N_("is required"))
_UNSET = object()


class ValueReader:
    """Converts and checks rows of raw values for one form, as `validate_values` does."""

    def __init__(self, spec: FormSpec) -> None:
        self.fields = input_fields(spec)
        self.defaults = {
            f.name: convert(f, f.default)
            for f in self.fields
            if f.default is not None and f.type not in ("file", "photo")
        }
        self.memo: dict[str, dict[Any, tuple[Any, Message | None]]] = {f.name: {} for f in self.fields}

    def value(self, f: FieldSpec, raw: Any) -> tuple[Any, Message | None]:
        """(the stored value, or _UNSET when refused; the problem, if any) of one raw value."""
        memo = self.memo[f.name]
        try:
            key = (type(raw), raw)  # 1, 1.0 and True are different inputs
            found = memo.get(key)
        except TypeError:  # unhashable: judged every time
            return self._judge(f, raw)
        if found is None:
            found = self._judge(f, raw)
            if len(memo) < MEMO_SIZE:
                memo[key] = found
        return found

    @staticmethod
    def _judge(f: FieldSpec, raw: Any) -> tuple[Any, Message | None]:
        try:
            value = convert(f, raw)
        except Invalid as exc:
            return _UNSET, exc.message
        if value is None:
            return None, _REQUIRED if f.required else None
        problem = check(f, value)
        return (_UNSET, problem) if problem is not None else (value, None)

    def read(self, data: Mapping[str, Any]) -> tuple[dict[str, Any], Errors]:
        """(clean values, errors) of one row: `validate_values(spec, data)`."""
        clean: dict[str, Any] = {}
        errors: Errors = {}
        for f in self.fields:
            name = f.name
            if name not in data and name in self.defaults:
                clean[name] = self.defaults[name]
                continue
            value, problem = self.value(f, data.get(name))
            if problem is not None:
                errors[name] = [problem]
            if value is not _UNSET:
                clean[name] = value
        return clean, errors

    def stored(self, f: FieldSpec, raw: Any) -> Any:
        """The stored value of a raw value, or None when it is empty or refused."""
        value, problem = self.value(f, raw)
        return None if problem is not None or value is _UNSET else value
