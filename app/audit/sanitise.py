"""Every value headed for the request log is made storable before it is inserted.

Much of an event comes from the caller (the HTTP method, a token's `sub`, a path parameter, a
client address behind a proxy). PostgreSQL refuses a string longer than its column and any NUL
character, no driver can encode a lone UTF-16 surrogate (JSON lets a caller send "\\ud800"), and one
refused row fails the statement it is in: an event must never be able to fail because of what a
stranger sent. So NUL, other C0 control characters and lone surrogates are replaced, strings are cut
to their column's length, and `details` (JSON) is cleaned the same way and bounded.
SQLite enforces neither rule, which is why this runs everywhere, not only on PostgreSQL.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from sqlalchemy import String

from app.audit.models import AuditEvent

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
MAX_DETAILS_CHARS = 4096
MAX_DETAIL_STRING = 512
_TRUNCATED = "…"


def _column_lengths() -> dict[str, int]:
    return {
        column.name: column.type.length
        for column in AuditEvent.__table__.columns
        if isinstance(column.type, String) and column.type.length
    }


LENGTHS = _column_lengths()


def clean_text(value: str, limit: int | None = None) -> str:
    value = _CONTROL.sub("\ufffd", value) if _CONTROL.search(value) else value
    if limit is not None and len(value) > limit:
        value = value[: max(limit - 1, 0)] + _TRUNCATED
    return value


def _clean_json(value: Any, depth: int = 0) -> Any:
    if depth > 8:
        return None
    if isinstance(value, str):
        return clean_text(value, MAX_DETAIL_STRING)
    if isinstance(value, dict):
        return {clean_text(str(k), 80): _clean_json(v, depth + 1) for k, v in list(value.items())[:50]}
    if isinstance(value, (list, tuple)):
        return [_clean_json(v, depth + 1) for v in list(value)[:50]]
    if isinstance(value, float) and not math.isfinite(value):  # NaN and Infinity are not JSON
        return None
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return clean_text(str(value), MAX_DETAIL_STRING)


def clean_details(details: dict[str, Any] | None) -> dict[str, Any] | None:
    if details is None:
        return None
    cleaned = _clean_json(details)
    if len(json.dumps(cleaned, ensure_ascii=False, default=str)) > MAX_DETAILS_CHARS:
        return {"truncated": True}
    return cleaned  # type: ignore[no-any-return]


def storable(fields: dict[str, Any]) -> dict[str, Any]:
    """The event's fields, each string bounded by its column and free of characters a database refuses."""
    out = dict(fields)
    for name, value in fields.items():
        if isinstance(value, str):
            out[name] = clean_text(value, LENGTHS.get(name))
        elif name == "details":
            out[name] = clean_details(value)
    return out
