"""Serial numbers and verification codes."""

from __future__ import annotations

import secrets

# No 0/O, 1/I/L, or U (V look-alike): easy to read aloud and type from paper.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 13  # 13 × log2(30) ≈ 63.8 bits: unguessable, still short
_GROUPS = (4, 4, 5)


def new_verification_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def display_code(code: str) -> str:
    """`7KQM3XPT9HWDA` -> `7KQM-3XPT-9HWDA`."""
    parts, start = [], 0
    for size in _GROUPS:
        parts.append(code[start : start + size])
        start += size
    return "-".join(parts)


def normalize_code(text: str) -> str | None:
    """What a person typed (any case, with or without dashes or spaces), or None if it cannot be a code."""
    candidate = "".join(ch for ch in text.upper() if ch not in "- \t")
    if len(candidate) != LENGTH or any(ch not in ALPHABET for ch in candidate):
        return None
    return candidate


def serial(prefix: str, year: int, number: int) -> str:
    return f"{prefix}-{year}-{number:08d}"
