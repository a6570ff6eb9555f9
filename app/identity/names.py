"""Personal names: cleaning on input, masking for display to third parties.

`clean_name()` is applied to every name an applicant submits, before it is stored or compared
with the population registry. It NFC-normalises and strips surrounding whitespace, canonicalises
look-alike middle dots to U+00B7 `·` (the separator used in transliterated minority and foreign
names such as `买买提·艾力`), and rejects with `ValueError`:

- an empty name, or one longer than `MAX_NAME_LENGTH` (64) characters (code points, after cleaning);
- control characters (tabs, new lines, NUL, C1 controls) and line/paragraph separators;
- bidirectional marks, embeddings, overrides and isolates (U+200E, U+200F, U+061C,
  U+202A-U+202E, U+2066-U+2069), which can make a name display as something it is not;
- every other invisible format character (zero-width space/joiners, BOM, soft hyphen, ...):
  they make two different strings look identical;
- lone surrogates (they cannot be stored as UTF-8).

Private-use characters and code points unassigned in this Python's Unicode database are
deliberately ALLOWED: rare characters in Chinese names (生僻字) are still held in private-use code
points by some registries, and newer CJK extensions may be unknown to an older Python.
Latin names with inner spaces (`Anna Maria Smith`) are allowed; inner whitespace is kept as written.

`mask_name()` is for anything shown to someone other than the holder (e.g. the public
certificate-verification page): the first character is kept and every other character, including
spaces and middle dots, becomes `*` (`张三` -> `张*`, `欧阳娜娜` -> `欧***`); a one-character name
becomes `*`. It never raises on odd input: invisible and control characters are dropped before
masking so that the one character shown can never be a bidi override.
"""

from __future__ import annotations

import unicodedata

__all__ = ["MAX_NAME_LENGTH", "clean_name", "mask_name"]

MAX_NAME_LENGTH = 64

_BIDI = frozenset("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_MIDDLE_DOTS = str.maketrans(dict.fromkeys("\u30fb\uff65\u2022\u2027\u22c5\u2219", "\u00b7"))
# categories rejected outright; Cf (format) is handled separately for a precise message
_FORBIDDEN_CATEGORIES = {
    "Cc": "control character",
    "Zl": "line separator",
    "Zp": "paragraph separator",
    "Cs": "lone surrogate",
}


def _describe(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, '')}".rstrip()


def clean_name(name: str) -> str:
    """The cleaned name, or ValueError saying why the name cannot be accepted."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, not {type(name).__name__}")
    cleaned = unicodedata.normalize("NFC", name).strip().translate(_MIDDLE_DOTS)
    if not cleaned:
        raise ValueError("name must not be empty")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise ValueError(f"name must be at most {MAX_NAME_LENGTH} characters, got {len(cleaned)}")
    for position, ch in enumerate(cleaned, start=1):
        if ch in _BIDI:
            raise ValueError(
                f"name contains a bidirectional control character ({_describe(ch)}) at position {position}"
            )
        category = unicodedata.category(ch)
        if category == "Cf":
            raise ValueError(f"name contains an invisible format character ({_describe(ch)}) at position {position}")
        if category in _FORBIDDEN_CATEGORIES:
            raise ValueError(
                f"name contains a {_FORBIDDEN_CATEGORIES[category]} ({_describe(ch)}) at position {position}"
            )
    return cleaned


def mask_name(name: str) -> str:
    """`张三` -> `张*`, `欧阳娜娜` -> `欧***`, `李` -> `*`; empty input gives ``""``."""
    visible = "".join(
        ch
        for ch in unicodedata.normalize("NFC", name)
        if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp", "Cs")
    ).strip()
    if len(visible) <= 1:
        return "*" * len(visible)
    return visible[0] + "*" * (len(visible) - 1)
