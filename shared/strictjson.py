"""JSON as RFC 8259 defines it, wherever JSON comes in (API bodies, Kafka payloads).

Python's `json` module also takes `NaN`, `Infinity` and `-Infinity`, and turns `1e999` into
an infinite float; PostgreSQL refuses all of them in json columns, and no other JSON reader
need accept them. They are refused here, with the position, as any other syntax error.
"""

from __future__ import annotations

import json
import math
from typing import Any

# Integers longer than this are refused rather than left to Python's own digit limit
# (4,300), whose ValueError would not say where the number was.
MAX_INTEGER_DIGITS = 1000


class _NotJson(ValueError):
    pass


def _constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON value")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotJson(f"{text} is too large for a number")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _NotJson(f"an integer of {len(text):,} digits is too long (at most {MAX_INTEGER_DIGITS:,})")
    return int(text)


def loads(data: str | bytes) -> Any:
    """`json.loads`, refusing non-finite numbers and absurdly long integers with a
    JSONDecodeError like any other invalid JSON."""
    text = data.decode() if isinstance(data, bytes) else data
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except _NotJson as exc:
        # The decoder does not say where a hook failed; point at the first offending token.
        raise json.JSONDecodeError(str(exc), text, _position(text, str(exc))) from None


def _position(text: str, message: str) -> int:
    token = message.split(" ", 1)[0]
    found = text.find(token)
    return max(found, 0)
