"""The only place the oversight package queries: the auditors' person searches of the last hour."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.locks import lock_until_transaction_ends
from app.oversight.models import PersonSearch


async def take_person_search(
    session: AsyncSession, *, auditor: str, now: datetime, window: timedelta, limit: int
) -> datetime | None:
    """Count one search by `auditor`, unless they made `limit` in the `window` before `now`: then nothing is
    counted and the answer is when the oldest of those leaves the window. Serialised per auditor until the
    caller's transaction ends (PostgreSQL: an advisory lock; SQLite: the write lock its first write takes),
    so that concurrent requests to any process share one count."""
    await lock_until_transaction_ends(session, f"person-search:{auditor}")
    await session.execute(
        delete(PersonSearch).where(PersonSearch.auditor == auditor, PersonSearch.searched_at <= now - window)
    )
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(PersonSearch.searched_at)).where(PersonSearch.auditor == auditor)
        )
    ).one()
    if count >= limit:
        return oldest + window
    session.add(PersonSearch(auditor=auditor, searched_at=now))
    return None
