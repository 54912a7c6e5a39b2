"""SECRET_KEY: never a published one, never a guessable one; the installation's own by default."""

from __future__ import annotations

import math
import os
import secrets
from collections import Counter
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

DEFAULT_SECRET_KEY = "simpul-development-key-change-me"  # as in config.py: known to everyone
# Keys published in documentation and examples: signing with them lets anyone forge a session.
KNOWN_KEYS = {DEFAULT_SECRET_KEY, "\2\1thisismyscretkey\1\2\\e\\y\\y\\h", "secret", "changeme", "change-me"}
# A random 128-bit key (token_hex(16), token_urlsafe(16), a UUID) scores 75 or more in the
# estimate below, which undercounts short random strings; 40 spaces, 32 equal characters,
# alternations and alphabet runs score under 40.
MIN_KEY_BITS = 64
HOW_TO_MAKE_ONE = "python -c 'import secrets; print(secrets.token_hex(32))'"


def _shannon(symbols: Sequence[Hashable]) -> float:
    """Bits per symbol of the symbols' observed frequencies."""
    counts = Counter(symbols)
    total = len(symbols)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def _period(key: str) -> int:
    """Length of the shortest unit that repeats to make `key` (its own length if none)."""
    for size in range(1, len(key)):
        if all(key[i] == key[i - size] for i in range(size, len(key))):
            return size
    return len(key)


def estimated_bits(key: str) -> float:
    """A cautious estimate of the key's randomness in bits, whatever its length.

    A repeated block is worth one block; within it, each character counts for the spread of
    the characters and of the steps between neighbours, whichever is less, so `aaaa…`,
    `abab…` and `abcd…` count for little.
    """
    unit = key[: _period(key)]
    steps = [ord(b) - ord(a) for a, b in zip(unit, unit[1:], strict=False)]
    if not steps:
        return 0.0
    return len(unit) * min(_shannon(unit), _shannon(steps))


def check_secret_key(key: Any) -> None:
    """Refuse to start outside debug mode with a published or guessable SECRET_KEY."""
    if not isinstance(key, str) or key in KNOWN_KEYS:
        problem = "is a published default"
    elif (bits := estimated_bits(key)) < MIN_KEY_BITS:
        problem = f"is too predictable (about {bits:.0f} bits of randomness, at least {MIN_KEY_BITS} needed)"
    else:
        return
    raise RuntimeError(
        f"SECRET_KEY {problem}; set SIMPUL_SECRET_KEY to a long random value ({HOW_TO_MAKE_ONE}), "
        "or unset it to use instance/secret_key"
    )


def instance_secret_key(instance: Path) -> str:
    """The installation's own random key in instance/secret_key, created once (0600)."""
    path = instance / "secret_key"
    try:
        instance.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Written aside, then linked in whole: a worker starting alongside never reads half a key.
            draft = instance / f".secret_key.{os.getpid()}"
            with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
                handle.write(secrets.token_hex(32))
            try:
                os.link(draft, path)
            except FileExistsError:
                pass  # another worker was first; its key is the one
            finally:
                draft.unlink()
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise RuntimeError(
            f"SECRET_KEY is the published default and {path} cannot be kept ({exc}); "
            "set SIMPUL_SECRET_KEY to a long random value"
        ) from exc
    if estimated_bits(key) < MIN_KEY_BITS:
        raise RuntimeError(f"{path} holds no usable key; delete it to have a new one made, or set SIMPUL_SECRET_KEY")
    return key


def settle_secret_key(config: dict[str, Any], instance: Path) -> None:
    """Outside debug and tests: the instance key instead of the published default; refuse weak keys."""
    if config["DEBUG"] or config.get("TESTING"):
        return
    if config["SECRET_KEY"] == DEFAULT_SECRET_KEY:
        config["SECRET_KEY"] = instance_secret_key(instance)
    else:
        check_secret_key(config["SECRET_KEY"])
