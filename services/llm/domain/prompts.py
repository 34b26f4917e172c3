"""What a task sends a model, what makes two tasks the same call, and how a page too long for
the model's context is extracted in parts and merged.

Tokens are estimated (four characters a token, rounded up) because the service talks to any
OpenAI-compatible server and cannot know its tokenizer; the estimate errs on the long side for
English and is only used to size parts and to reserve rate-limit tokens, never to truncate.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

_CHARS_PER_TOKEN = 4
_SYSTEM = (
    "You are a careful data extraction assistant. Answer with one JSON object only, matching the "
    "JSON Schema you are given. Use only facts present in the input; use null for what it does not say."
)
_PARAGRAPH = re.compile(r"\n\s*\n")


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / _CHARS_PER_TOKEN)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def content_hash(value: Any) -> str:
    """The hash of a task's input, normalised: the same product or text hashes the same
    whatever order its fields came in."""
    text = value if isinstance(value, str) else canonical(value)
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


def cache_key(
    *, input_hash: str, prompt: str, schema: Mapping[str, Any] | None, model: str, max_tokens: int
) -> str:
    """Two tasks with this key would make the same call: the second is answered from the first."""
    parts = [input_hash, prompt, canonical(schema), model, str(max_tokens)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def query_messages(
    prompt: str, schema: Mapping[str, Any] | None, item: Mapping[str, Any]
) -> list[dict[str, str]]:
    """A job's query asked of one product (or item)."""
    wanted = f"\n\nJSON Schema of the answer:\n{canonical(schema)}" if schema else ""
    return [
        {"role": "system", "content": _SYSTEM},
        {"role": "user", "content": f"{prompt}{wanted}\n\nInput:\n{canonical(item)}"},
    ]


def extraction_messages(
    schema: Mapping[str, Any],
    partial: Mapping[str, Any],
    text: str,
    *,
    part: int,
    parts: int,
    prompt: str | None,
) -> list[dict[str, str]]:
    """A record's missing fields asked of (a part of) a page's text."""
    where = f" (part {part} of {parts} of the page)" if parts > 1 else ""
    known = f"\n\nFields already known (keep them unless the text contradicts them):\n{canonical(partial)}"
    instruction = prompt or "Extract one record from this web page."
    return [
        {"role": "system", "content": _SYSTEM},
        {
            "role": "user",
            "content": f"{instruction}\n\nJSON Schema of the record:\n{canonical(schema)}"
            f"{known if partial else ''}\n\nPage text{where}:\n{text}",
        },
    ]


def reask_message(errors: Sequence[str]) -> dict[str, str]:
    listed = "\n".join(f"- {error}" for error in errors[:20])
    return {
        "role": "user",
        "content": f"Your answer does not match the JSON Schema:\n{listed}\n"
        "Answer again with the corrected JSON object only.",
    }


def split_text(text: str, max_tokens: int) -> list[str]:
    """The text in parts of at most `max_tokens` (estimated), cut between paragraphs, then
    between lines, then anywhere; every character is in exactly one part."""
    limit = max(max_tokens, 1) * _CHARS_PER_TOKEN
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for piece in _pieces(text, limit):
        if current and len(current) + len(piece) > limit:
            parts.append(current)
            current = ""
        current += piece
    if current:
        parts.append(current)
    return parts


def merge_parts(
    outputs: Sequence[Mapping[str, Any]], partial: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, int]]:
    """One record from the records of a page's parts, deterministically: a field already known
    stays; a scalar is the first part's non-null value; lists are concatenated without repeats.
    Returns the record and, per field, the part (1-based; 0: known before) its value came from."""
    merged: dict[str, Any] = {key: value for key, value in partial.items() if value not in (None, "", [])}
    provenance = dict.fromkeys(merged, 0)
    for index, output in enumerate(outputs, start=1):
        for key, value in output.items():
            if value in (None, "", []):
                continue
            if isinstance(value, list) and isinstance(merged.get(key), list):
                known = {canonical(item) for item in merged[key]}
                merged[key] = merged[key] + [item for item in value if canonical(item) not in known]
            elif key not in merged:
                merged[key] = value
                provenance[key] = index
    return merged, provenance


def _pieces(text: str, limit: int) -> list[str]:
    """Paragraphs (with their separators), lines of a paragraph too long, slices of a line too long."""
    pieces: list[str] = []
    start = 0
    for match in _PARAGRAPH.finditer(text):
        pieces.append(text[start : match.end()])
        start = match.end()
    pieces.append(text[start:])
    out: list[str] = []
    for piece in pieces:
        if len(piece) <= limit:
            out.append(piece)
            continue
        for line in piece.splitlines(keepends=True):
            out.extend(line[i : i + limit] for i in range(0, len(line), limit))
    return [piece for piece in out if piece]
