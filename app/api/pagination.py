"""Cursor pagination (docs/api.md#lists-cursors-and-query-parameters): `?limit=` ≤ 100 and an opaque `?cursor=` (coded
by app.cursor, the one place cursors are made and read)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

Limit = Annotated[int, Query(ge=1, le=100, description="Page size, at most 100")]
Cursor = Annotated[str | None, Query(max_length=200, description="`next_cursor` from the previous page")]
