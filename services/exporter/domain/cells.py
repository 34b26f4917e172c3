"""A value in a cell of a flat format (CSV, Excel): nested values as JSON text."""

from __future__ import annotations

import json
from typing import Any


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def text(value: Any) -> str:
    """None is an empty cell; true/false as JSON writes them; nested values as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json_text(value)
