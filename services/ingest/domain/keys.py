"""API keys: high-entropy secrets shown once; only their SHA-256 is stored.

A key looks like `trawl_<12 chars>_<43 chars>`; the part up to the second underscore is the
prefix shown in listings to tell keys apart. SHA-256 without salt is enough here: the secret
has 256 bits of entropy, so there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

KEY_MARK = "trawl_"
_PREFIX_CHARS = 12


@dataclass(frozen=True)
class NewKey:
    plaintext: str
    prefix: str
    digest: bytes


def new_key() -> NewKey:
    plaintext = f"{KEY_MARK}{secrets.token_hex(_PREFIX_CHARS // 2)}_{secrets.token_urlsafe(32)}"
    return NewKey(plaintext=plaintext, prefix=key_prefix(plaintext), digest=key_digest(plaintext))


def key_prefix(plaintext: str) -> str:
    return plaintext[: len(KEY_MARK) + _PREFIX_CHARS]


def key_digest(plaintext: str) -> bytes:
    return hashlib.sha256(plaintext.encode()).digest()


def looks_like_key(candidate: str) -> bool:
    return candidate.startswith(KEY_MARK) and len(candidate) > len(KEY_MARK) + _PREFIX_CHARS + 1
