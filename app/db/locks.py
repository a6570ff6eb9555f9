"""Locks a transaction holds until it ends, for checks that must see every change committed before them.

On PostgreSQL, an advisory lock keyed by a string (`pg_advisory_xact_lock`). SQLite has a single writer:
the first write of a transaction takes the database's write lock, which serves the same purpose there.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def lock_until_transaction_ends(session: AsyncSession, key: str) -> None:
    """Wait for, then hold until commit or rollback, the lock named `key` (PostgreSQL; nothing on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})
