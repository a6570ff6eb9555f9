"""Where the outbox is queried (besides the reminder scans' test of a dedupe key). Claims are app.db.queue's, as the worker's of applications: one
UPDATE … RETURNING over candidates chosen FOR UPDATE SKIP LOCKED on PostgreSQL, so dispatchers share
the outbox and no event is taken by two of them at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.queue import Queue
from app.db.upserts import conflict_insert
from app.notifications.models import DEAD, FAILED, PENDING, SENT, SKIPPED, OutboxEvent, SinkDelivery

# The outbox, delivered by the dispatcher (app.db.queue: claims, leases, backoff); each claim counts an attempt.
OUTBOX = Queue(
    key=OutboxEvent.id,
    due_at=OutboxEvent.next_attempt_at,
    waiting=OutboxEvent.state == PENDING,
    on_claim={OutboxEvent.attempts: OutboxEvent.attempts + 1},
    tiebreak=(OutboxEvent.id,),
)


async def claim_due(session: AsyncSession, *, now: datetime, lease_until: datetime, limit: int) -> list[OutboxEvent]:
    """Take up to `limit` due events, counting the attempt and pushing their next attempt past the lease:
    a dispatcher that dies before marking them leaves them due again when the lease ends."""
    ids = await OUTBOX.claim(session, now=now, lease_until=lease_until, limit=limit)
    if not ids:
        return []
    rows = await session.execute(select(OutboxEvent).where(OutboxEvent.id.in_(ids)).order_by(OutboxEvent.id))
    return list(rows.scalars())


async def mark_sent(session: AsyncSession, ids: Sequence[int], *, now: datetime, state: str = SENT) -> None:
    if ids:
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(ids), OutboxEvent.state == PENDING)
            .values(state=state, delivered_at=now, last_error=None)
            .execution_options(synchronize_session=False)
        )


async def mark_failed(session: AsyncSession, event_id: int, *, error: str, retry_at: datetime | None) -> None:
    """Due again at `retry_at`, or dead-lettered when it is None."""
    values: dict[str, object] = {"last_error": error[:500]}
    values.update({"next_attempt_at": retry_at} if retry_at is not None else {"state": DEAD})
    await session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id == event_id, OutboxEvent.state == PENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def sinks_that_received(session: AsyncSession, event_ids: Sequence[int]) -> dict[int, set[str]]:
    """For each event, the sinks that already have it: a retry sends it to the others only."""
    received: dict[int, set[str]] = {event_id: set() for event_id in event_ids}
    if event_ids:
        rows = await session.execute(
            select(SinkDelivery.event_id, SinkDelivery.sink).where(
                SinkDelivery.event_id.in_(event_ids), SinkDelivery.state == SENT
            )
        )
        for event_id, sink in rows:
            received[event_id].add(sink)
    return received


@dataclass(frozen=True)
class SinkOutcome:
    """One sink's attempt at one event: received (`error` None), failed (tried again with the event), or
    failed for the last time (`dead`)."""

    event_id: int
    sink: str
    error: str | None
    dead: bool = False

    @property
    def state(self) -> str:
        return SENT if self.error is None else DEAD if self.dead else FAILED


async def record_sink_outcomes(session: AsyncSession, outcomes: Sequence[SinkOutcome], *, now: datetime) -> None:
    """Each sink's state of each event, in one INSERT … ON CONFLICT DO UPDATE on both databases."""
    if not outcomes:
        return
    rows = [
        {
            "event_id": o.event_id,
            "sink": o.sink,
            "state": o.state,
            "attempts": 1,
            "last_error": o.error[:500] if o.error else None,
            "delivered_at": now if o.error is None else None,
            "updated_at": now,
        }
        for o in outcomes
    ]
    insert = conflict_insert(session)
    statement = insert(SinkDelivery).values(rows)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[SinkDelivery.event_id, SinkDelivery.sink],
            set_={
                "state": statement.excluded.state,
                "last_error": statement.excluded.last_error,
                "delivered_at": statement.excluded.delivered_at,
                "updated_at": statement.excluded.updated_at,
                "attempts": SinkDelivery.attempts + 1,
            },
        )
    )


async def dead_sinks(session: AsyncSession, event_ids: Sequence[int]) -> dict[int, list[str]]:
    """For each dead-lettered event, the sinks that gave up on it (the others received it)."""
    dead_to: dict[int, list[str]] = {event_id: [] for event_id in event_ids}
    if event_ids:
        rows = await session.execute(
            select(SinkDelivery.event_id, SinkDelivery.sink)
            .where(SinkDelivery.event_id.in_(event_ids), SinkDelivery.state == DEAD)
            .order_by(SinkDelivery.sink)
        )
        for event_id, sink in rows:
            dead_to[event_id].append(sink)
    return dead_to


async def dead(session: AsyncSession, *, limit: int = 100) -> list[OutboxEvent]:
    rows = await session.execute(
        select(OutboxEvent).where(OutboxEvent.state == DEAD).order_by(OutboxEvent.id).limit(limit)
    )
    return list(rows.scalars())


async def replay(session: AsyncSession, event_id: int, *, now: datetime) -> bool:
    """A dead (or skipped) event becomes due now, with a fresh count of attempts."""
    result = await session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id == event_id, OutboxEvent.state.in_((DEAD, SKIPPED)))
        .values(state=PENDING, attempts=0, next_attempt_at=now, last_error=None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def feed(session: AsyncSession, *, subject_hash: str, since_id: int | None, limit: int) -> list[OutboxEvent]:
    """A citizen's events, oldest first: those after `since_id`, or else the latest `limit`."""
    query = select(OutboxEvent).where(OutboxEvent.subject_hash == subject_hash)
    if since_id is not None:
        rows = await session.execute(query.where(OutboxEvent.id > since_id).order_by(OutboxEvent.id).limit(limit))
        return list(rows.scalars())
    rows = await session.execute(query.order_by(OutboxEvent.id.desc()).limit(limit))
    return list(reversed(rows.scalars().all()))


async def add_once(session: AsyncSession, event: OutboxEvent) -> bool:
    """Insert an event carrying a `dedupe_key` unless one with that key exists (two dispatchers scanning at
    once): INSERT … ON CONFLICT DO NOTHING on both databases."""
    insert = conflict_insert(session)
    values = {c.name: getattr(event, c.key) for c in OutboxEvent.__table__.columns if getattr(event, c.key) is not None}
    result = await session.execute(
        insert(OutboxEvent).values(**values).on_conflict_do_nothing(index_elements=[OutboxEvent.dedupe_key])
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
