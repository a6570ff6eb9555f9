"""Free-text fields people type: normalised, bounded, and free of control and bidi characters."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}


def _clean_text(value: str) -> str:
    value = unicodedata.normalize("NFC", value).strip()
    for position, ch in enumerate(value):
        if unicodedata.category(ch) in _FORBIDDEN_CATEGORIES:
            raise ValueError(f"contains an invisible or control character (U+{ord(ch):04X}) at position {position}")
    if not value:
        raise ValueError("must not be empty")
    return value


def _check_length(max_length: int):  # type: ignore[no-untyped-def]
    def check(value: str) -> str:
        value = _clean_text(value)
        if len(value) > max_length:
            raise ValueError(f"must be at most {max_length} characters")
        return value

    return check


ShortText = Annotated[str, StringConstraints(max_length=400), AfterValidator(_check_length(200))]
ReasonText = Annotated[str, StringConstraints(max_length=1000), AfterValidator(_check_length(500))]
