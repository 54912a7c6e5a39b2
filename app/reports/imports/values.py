"""The engine's value rules on many cells: each distinct cell judged once.

A file repeats most of its values (the programme, the desa, the status, the amount, the date), so
a field's judge (the engine's own, `FieldSpec.compiled.judge` as `validate_values` calls it, or
the import's cell judge around it) answers a value it has seen before from what it said then.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from operator import itemgetter
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


def each_distinct(cells: Sequence[Any], function: Callable[[Any], T]) -> list[T]:
    """[function(cell) for cell in cells], calling `function` once per distinct cell (as `memo_key` tells them apart).

    A column whose cells are text, None and at most one other kind of value that no other kind
    equals (dates, or ints, or floats other than zero) is told apart by the cells themselves, in
    dictionaries (C speed, no key built per cell). Any other column goes cell by cell through
    `memo_key`; an unhashable cell is passed to `function` every time.
    """
    kinds = set(map(type, cells))
    others = kinds - _TEXT_OR_NONE
    if not others or (len(others) == 1 and others <= _SELF_KEYED and not (others == _FLOAT and 0.0 in cells)):
        answers = {cell: function(cell) for cell in dict.fromkeys(cells)}
        return list(map(answers.__getitem__, cells))
    memo: dict[Any, T] = {}
    found: list[T] = []
    append = found.append
    for cell in cells:
        try:
            key = memo_key(cell)
            answer = memo.get(key, _MISSING)
        except TypeError:  # unhashable: judged every time
            append(function(cell))
            continue
        if answer is _MISSING:
            answer = memo[key] = function(cell)
        append(answer)  # type: ignore[arg-type]
    return found


_TEXT_OR_NONE = frozenset({str, type(None)})
# Kinds whose values equal no value of another kind, and no other value of their own kind that
# memo_key keeps apart (float: 0.0 == -0.0, so a float column holding a zero goes by memo_key).
_SELF_KEYED = frozenset({int, float, date, datetime, time, bool})
_FLOAT = frozenset({float})


def judged_column(
    cells: Sequence[Any], judge: Callable[[Any], tuple[Any, ...]]
) -> tuple[list[Any], dict[int, tuple[Any, ...]]]:
    """(the first item of each cell's answer, {row index: answer} of the answers whose second item is set).

    `judge(cell)` answers (value, problem, ...); each distinct cell is judged once.
    """
    answers = each_distinct(cells, judge)
    values = list(map(_first, answers))
    problems = list(map(_second, answers))
    if problems.count(None) == len(problems):  # the usual column: no problem to note
        return values, {}
    return values, {index: answer for index, answer in enumerate(answers) if answer[1] is not None}


_first, _second = itemgetter(0), itemgetter(1)
