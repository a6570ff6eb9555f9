"""Cursor pagination (CONTRACT §4): `?limit=` ≤ 100 and an opaque `?cursor=`."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query

from app.errors import ValidationFailed
from app.i18n import Text

Limit = Annotated[int, Query(ge=1, le=100, description="Page size, at most 100")]
Cursor = Annotated[str | None, Query(max_length=200, description="`next_cursor` from the previous page")]


class InvalidCursor(ValidationFailed):
    code = "INVALID_CURSOR"
    title = Text("分页游标无效", "The cursor is not valid")


def encode_cursor(*values: Any) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, kinds: tuple[type, ...]) -> tuple[Any, ...]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(kinds):
            raise ValueError("shape")
        values = [datetime.fromisoformat(v) if kind is datetime else kind(v) for v, kind in zip(raw, kinds, strict=True)]
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise InvalidCursor() from exc
    return tuple(values)
