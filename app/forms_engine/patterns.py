"""A field's `pattern`: a valid regular expression that cannot take hours on one value.

Python's regular expressions backtrack. A repetition inside a repetition, as in `(a+)+b`,
tries every way of splitting the input between the two, so a 40-character value can keep a
worker busy for days, on a screen or at load time when the default is checked. Such patterns
are refused here, the common cause of catastrophic backtracking; a possessive quantifier
(`a++`) or an atomic group (`(?>…)`) never backtracks and is accepted.
"""

from __future__ import annotations

import re
from re import _constants as sre  # the parser's own names; Python >= 3.11
from re import _parser
from typing import Any

from .messages import N_, Message, shown

_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT)
_SPAN = 10  # a count that can vary by more than this, or repeat more often, multiplies the ways


def pattern_problem(pattern: str) -> Message | None:
    """Why `pattern` cannot be a field's pattern, or None."""
    try:
        re.compile(pattern)
        parsed = _parser.parse(pattern)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:  # deep nesting, huge counts
        return Message(N_("is not a valid regular expression: %(error)s"), {"error": shown(str(exc))})
    if _backtracks(parsed, inside=False):
        return Message(
            N_(
                "repeats a part that itself repeats, as in (a+)+, so checking one value can take hours; "
                "make the inner repetition possessive, as in (a++)+, or write it without nesting"
            )
        )
    return None


def _varies(low: int, high: int) -> bool:
    return high == sre.MAXREPEAT or high - low > _SPAN


def _parts(op: Any, arg: Any) -> tuple[list[Any], bool]:
    """The sub-patterns of one parsed item, and whether they are judged on their own.

    Possessive repetitions and atomic groups never give back what they matched: whatever
    repeats inside them does not multiply with what repeats outside.
    """
    if op == sre.SUBPATTERN:
        return [arg[3]], False
    if op == sre.BRANCH:
        return list(arg[1]), False
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        return [arg[1]], False
    if op == sre.GROUPREF_EXISTS:
        return [part for part in arg[1:] if part is not None], False
    if op == sre.POSSESSIVE_REPEAT:
        return [arg[2]], True
    if op == sre.ATOMIC_GROUP:
        return [arg], True
    return [], False


def _backtracks(items: Any, inside: bool) -> bool:
    """Whether a repetition that varies lies inside one that repeats often (`inside`): (a+)+, (.*a){20}."""
    for op, arg in items:
        if op in _REPEATS:
            low, high, body = arg
            if (_varies(low, high) and inside) or _backtracks(body, inside or high > _SPAN):
                return True
            continue
        parts, alone = _parts(op, arg)
        if any(_backtracks(part, False if alone else inside) for part in parts):
            return True
    return False
