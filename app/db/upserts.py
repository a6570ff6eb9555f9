"""INSERT … ON CONFLICT for the session's database: PostgreSQL's and SQLite's are separate constructs with
the same `on_conflict_do_update` / `on_conflict_do_nothing` and `excluded`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session


def conflict_insert(session: Session | AsyncSession) -> Callable[[Any], postgresql.Insert | sqlite.Insert]:
    """`conflict_insert(session)(table)`: the INSERT construct of the database the session is bound to."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
