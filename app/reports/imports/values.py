"""The engine's value rules on many cells: each distinct cell judged once.

A file repeats most of its values (the programme, the desa, the status, the amount, the date), so
a field's judge (the engine's own, `FieldSpec.compiled.judge` as `validate_values` calls it, or
the import's cell judge around it) answers a value it has seen before from what it said then.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

MEMO_SIZE = 50_000  # distinct values remembered per column (a column of unique NIKs gains nothing)
T = TypeVar("T")
_MISSING = object()


def memo_key(value: Any) -> Any:
    """The key a value is remembered by: equal values that read differently stay apart.

    1, 1.0 and True are different inputs, as are 0.0 and -0.0, or Decimal 1.5 and 1.50.
    Raises TypeError for an unhashable value.
    """
    cls = value.__class__
    if cls is str:
        return value
    if cls is Decimal or (cls is float and not value):
        return (cls, str(value))
    return (cls, value)


class Remembered:
    """A judge that answers a value it has already judged from its memory."""

    def __init__(self, judge: Callable[[Any], T]) -> None:
        self.judge = judge
        self.memo: dict[Any, Any] = {}

    def __call__(self, value: Any) -> Any:
        """judge(value), judged once per distinct value."""
        try:
            key = memo_key(value)
            found = self.memo.get(key, _MISSING)
        except TypeError:  # unhashable: judged every time
            return self.judge(value)
        if found is _MISSING:
            found = self.judge(value)
            if len(self.memo) < MEMO_SIZE:
                self.memo[key] = found
        return found


def judged_column(
    cells: Sequence[Any], judge: Callable[[Any], tuple[Any, ...]]
) -> tuple[list[Any], dict[int, tuple[Any, ...]]]:
    """(the first item of each cell's answer, {row index: answer} of the answers whose second item is set).

    `judge(cell)` answers (value, problem, ...); each distinct cell is judged once.
    """
    memo: dict[Any, tuple[Any, ...]] = {}
    values: list[Any] = []
    problems: dict[int, tuple[Any, ...]] = {}
    append = values.append
    for index, cell in enumerate(cells):
        try:
            found = memo.get(cell if cell.__class__ is str else memo_key(cell))  # text, the usual cell, inline
        except TypeError:  # unhashable: judged every time
            found = judge(cell)
        else:
            if found is None:
                found = judge(cell)
                if len(memo) < MEMO_SIZE:
                    memo[memo_key(cell)] = found
        append(found[0])
        if found[1] is not None:
            problems[index] = found
    return values, problems
