"""Opaque page cursors (docs/api.md#lists-cursors-and-query-parameters): the sort key of the last row, base64 of JSON;
a tampered one is 422."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from app.errors import ValidationFailed
from app.i18n import Text

Row = TypeVar("Row")


class InvalidCursor(ValidationFailed):
    code = "INVALID_CURSOR"
    title = Text("分页游标无效", "The cursor is not valid")


def encode_cursor(*values: Any) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


_MAX_INT = 2**63 - 1  # a BIGINT; anything larger never came from us and would overflow the query
_MAX_STR = 64


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a cursor value")


def _value(raw: Any, kind: type) -> Any:
    """One cursor element, accepted only in exactly the shape encode_cursor writes it."""
    if kind is int:
        if not isinstance(raw, int) or isinstance(raw, bool) or not 0 <= raw <= _MAX_INT:
            raise ValueError("not a sequence number")
        return raw
    if kind is datetime:
        if not isinstance(raw, str) or len(raw) > _MAX_STR:
            raise ValueError("not a timestamp")
        value = datetime.fromisoformat(raw)
        if value.tzinfo is None:
            raise ValueError("a cursor timestamp carries its time zone")
        return value
    if kind is str:
        if not isinstance(raw, str) or len(raw) > _MAX_STR or "\x00" in raw:
            raise ValueError("not an id")
        return raw
    raise TypeError(f"unsupported cursor element {kind!r}")


def decode_cursor(cursor: str, *, kinds: tuple[type, ...]) -> tuple[Any, ...]:
    try:
        # Infinity, NaN and 1e300 are valid to json.loads; none of them is a position in a list.
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)), parse_constant=_refuse_constant)
        if not isinstance(raw, list) or len(raw) != len(kinds):
            raise ValueError("shape")
        values = [_value(v, kind) for v, kind in zip(raw, kinds, strict=True)]
    except (ValueError, TypeError, OverflowError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidCursor() from exc
    return tuple(values)


def cut_page(
    rows: Sequence[Row], limit: int, position: Callable[[Row], tuple[Any, ...]]
) -> tuple[Sequence[Row], str | None]:
    """A page of `rows`, read one longer than `limit` to tell whether another page follows: the rows shown,
    and the cursor at the `position` (sort key) of the last of them, None on the last page."""
    page = rows[:limit]
    return page, encode_cursor(*position(page[-1])) if len(rows) > limit else None
