"""Locks a transaction holds until it ends, for checks that must see every change committed before them.

On PostgreSQL, an advisory lock keyed by a string (`pg_advisory_xact_lock`). SQLite has a single writer:
the first write of a transaction takes the database's write lock, which serves the same purpose there.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
_HELD = "cityservices.xact_locks"  # session.info: (the transaction, the keys it holds)


async def lock_until_transaction_ends(session: AsyncSession, key: str) -> None:
    """Wait for, then hold until commit or rollback, the lock named `key` (PostgreSQL; nothing on SQLite).
    A key this transaction already holds costs no round trip: a filing takes its person's lock before
    deciding and again where the issue is decided (issue 29). The service takes no savepoints, whose
    rollback would release a lock taken after them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    held: tuple[object, set[str]] | None = session.info.get(_HELD)
    if held is not None and held[0] is session.sync_session.get_transaction() and key in held[1]:
        return
    await session.execute(_LOCK, {"key": key})
    transaction = session.sync_session.get_transaction()  # begun by that statement if none was
    if held is None or held[0] is not transaction:
        held = (transaction, set())
        session.info[_HELD] = held
    held[1].add(key)
