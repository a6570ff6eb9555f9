"""A count, per Shanghai day of filing, of the status changes made to that day's applications after the day
was over: a figure kept for a past day (app/stats/rollups.py) is still right while its count is the one
it was computed at.

Noted when the session flushes an application whose status moved, in the same transaction as the move, so
no reader ever sees the move without the count: whatever read the count before the move committed reads
a lower count than the one after it. A change during the day itself is not counted; no figure is kept for
a day before it has been over for `SETTLED` (longer than any transaction runs).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import Date, Integer, Table, event, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.applications.models import Application
from app.clock import SHANGHAI, utc_now
from app.db.base import Base
from app.db.upserts import conflict_insert

SETTLED = timedelta(hours=1)


class LateChanges(Base):
    __tablename__ = "application_late_changes"

    day: Mapped[date] = mapped_column(Date, primary_key=True)  # the Shanghai day the applications were filed
    changes: Mapped[int] = mapped_column(Integer)


def shanghai_day(instant: datetime) -> date:
    return instant.astimezone(SHANGHAI).date()


def day_end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def settled(day: date, now: datetime) -> bool:
    """Over long enough that no transaction begun during it is still running."""
    return day_end(day) + SETTLED <= now


async def counts(session: AsyncSession, first: date, last: date) -> dict[date, int]:
    """The count of each day from `first` to `last` (both included) that has had a late change."""
    rows = await session.execute(
        select(LateChanges.day, LateChanges.changes).where(LateChanges.day >= first, LateChanges.day <= last)
    )
    return {day: n for day, n in rows.all()}


@event.listens_for(Session, "before_flush")
def _count_late_changes(session: Session, _context: object, _instances: object) -> None:
    now = utc_now()
    days: dict[date, int] = {}
    for obj in session.dirty:
        if isinstance(obj, Application) and inspect(obj).attrs.status.history.has_changes():
            day = shanghai_day(obj.created_at)
            if day_end(day) <= now:
                days[day] = days.get(day, 0) + 1
    if not days:
        return
    table: Table = LateChanges.__table__  # type: ignore[assignment]
    insert = conflict_insert(session)(table)
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.day], set_={"changes": table.c.changes + insert.excluded.changes}
    )
    session.execute(statement, [{"day": day, "changes": n} for day, n in days.items()])
