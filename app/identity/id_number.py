"""GB 11643-1999 resident identity numbers: validation and masking.

Raw id numbers are personal data; anything shown to a person other than the holder, and anything
written to logs or the request log, uses `mask()` (or a keyed hash, see app.audit).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_SHAPE = re.compile(r"^[1-9][0-9]{5}([0-9]{8})[0-9]{3}[0-9X]$")


class InvalidIdNumber(ValueError):
    """The string is not a GB 11643 resident identity number."""


def check_digit(first17: str) -> str:
    """The 18th character for the 17 digits given (ISO 7064 MOD 11-2)."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def validate(value: str) -> str:
    """Return the canonical form (upper-case X) or raise InvalidIdNumber with the reason."""
    candidate = value.strip().upper()
    match = _SHAPE.match(candidate)
    if match is None:
        raise InvalidIdNumber("must be 18 characters: 17 digits and a digit or X")
    birth = match.group(1)
    try:
        born = date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    except ValueError as exc:
        raise InvalidIdNumber("birth date in the id number is not a real date") from exc
    if born.year < 1900 or born > date.today():
        raise InvalidIdNumber("birth date in the id number is out of range")
    if check_digit(candidate[:17]) != candidate[17]:
        raise InvalidIdNumber("checksum digit does not match")
    return candidate


def is_valid(value: str) -> bool:
    try:
        validate(value)
    except InvalidIdNumber:
        return False
    return True


def mask(id_number: str) -> str:
    """`310105199001011234` -> `3101**********1234`: region kept, birth date and sequence hidden."""
    return f"{id_number[:4]}{'*' * 10}{id_number[-4:]}"


def province_code(id_number: str) -> str:
    return id_number[:2]


def _pydantic_validate(value: str) -> str:
    try:
        return validate(value)
    except InvalidIdNumber as exc:
        raise ValueError(f"not a valid resident identity number: {exc}") from exc


IdNumber = Annotated[str, AfterValidator(_pydantic_validate)]
"""Use in every schema that takes an id number."""
