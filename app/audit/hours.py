"""The chain positions each hour of the request log holds, so that a search by time walks the chain from
its window instead of from the start.

A listing is in chain order (`seq`) but may be cut by `occurred_at`; the two agree only roughly (an event
is sealed after its request ends). Without help the database walks `seq` from the first event and filters,
which at 20M events is seconds for a day late in the year. The sealer records, per UTC hour of
`occurred_at`, the lowest and highest position it gave that hour's events, in the same transaction; a
window's events then lie between the lowest first position and the highest last position of the hours it
touches: an exact bound, so nothing is missed, and the walk starts at most a few thousand events early.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEvent, AuditSeqHour
from app.db.upserts import conflict_insert

_HOURS: Table = AuditSeqHour.__table__  # type: ignore[assignment]


def hour_of(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


async def record(session: AsyncSession, sealed: Iterable[tuple[datetime, int]]) -> None:
    """Widen each touched hour's bounds to the positions just given (occurred_at, seq)."""
    bounds: dict[datetime, tuple[int, int]] = {}
    for occurred_at, seq in sealed:
        hour = hour_of(occurred_at)
        low, high = bounds.get(hour, (seq, seq))
        bounds[hour] = (min(low, seq), max(high, seq))
    if not bounds:
        return
    await session.execute(
        _widening(session), [{"hour": hour, "first_seq": low, "last_seq": high} for hour, (low, high) in bounds.items()]
    )


_WIDENING: dict[str, Any] = {}  # per dialect: built once (every sealing round runs it)


def _widening(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    statement = _WIDENING.get(dialect)
    if statement is None:
        insert = conflict_insert(session)(_HOURS)
        lowest, highest = (func.least, func.greatest) if dialect == "postgresql" else (func.min, func.max)
        statement = _WIDENING[dialect] = insert.on_conflict_do_update(
            index_elements=[_HOURS.c.hour],
            set_={
                "first_seq": lowest(_HOURS.c.first_seq, insert.excluded.first_seq),
                "last_seq": highest(_HOURS.c.last_seq, insert.excluded.last_seq),
            },
        )
    return statement


def seq_window(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    """Conditions on `seq` that every sealed event with since <= occurred_at < until meets. No hour in the
    window gives NULL bounds, which match nothing: there is no such event."""
    touched = []
    if since is not None:
        touched.append(_HOURS.c.hour >= hour_of(since))
    if until is not None:
        touched.append(_HOURS.c.hour < until)
    first = select(func.min(_HOURS.c.first_seq)).where(*touched).scalar_subquery()
    last = select(func.max(_HOURS.c.last_seq)).where(*touched).scalar_subquery()
    return [AuditEvent.seq >= first, AuditEvent.seq <= last]
