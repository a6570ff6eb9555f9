"""Queries over the request log: filtered pages, batches in chain order, a citizen's consultations, the
chain's plain rows for its walk, the checkpoints and the archived boundary."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import hours
from app.audit.chain import CHAINED_FIELDS
from app.audit.models import EVENTS_TABLE, AuditArchive, AuditCheckpoint, AuditEvent, EventRow

BATCH = 1000
WALK_BATCH = 1000  # rows per query of the walk: decoding a page holds the event loop (~7 ms for 1,000)
# What the walk needs of an event and nothing else: plain rows, no ORM objects to build and track.
_WALKED = select(*(EVENTS_TABLE.c[name] for name in CHAINED_FIELDS), EVENTS_TABLE.c.prev_hash, EVENTS_TABLE.c.hash)


@dataclass(frozen=True)
class EventFilter:
    actor: str | None = None
    role: str | None = None
    subject_hash: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        conditions = [
            c
            for c in (
                AuditEvent.actor_sub == self.actor if self.actor else None,
                AuditEvent.actor_role == self.role if self.role else None,
                AuditEvent.subject_hash == self.subject_hash if self.subject_hash else None,
                AuditEvent.action == self.action if self.action else None,
                AuditEvent.outcome == self.outcome if self.outcome else None,
                AuditEvent.occurred_at >= self.since if self.since else None,
                AuditEvent.occurred_at < self.until if self.until else None,
            )
            if c is not None
        ]
        if self.since or self.until:
            conditions += hours.seq_window(self.since, self.until)
        return query.where(and_(*conditions)) if conditions else query


async def page(session: AsyncSession, *, filters: EventFilter, after_seq: int | None, limit: int) -> list[AuditEvent]:
    query = filters.apply(select(AuditEvent).where(AuditEvent.seq.is_not(None)))
    if after_seq is not None:
        query = query.where(AuditEvent.seq > after_seq)
    rows = await session.execute(query.order_by(AuditEvent.seq).limit(limit + 1))
    return list(rows.scalars())


async def stream(
    sessionmaker: async_sessionmaker[AsyncSession], *, filters: EventFilter | None = None, batch: int = BATCH
) -> AsyncIterator[AuditEvent]:
    """Every matching event in chain order, a batch at a time: memory stays flat however long the log."""
    query = select(AuditEvent)
    async for event in _in_chain_order(sessionmaker, filters.apply(query) if filters else query, None, batch, True):
        yield event


async def chain_rows(
    sessionmaker: async_sessionmaker[AsyncSession], *, after_seq: int | None = None, batch: int = WALK_BATCH
) -> AsyncIterator[EventRow]:
    """Sealed events in chain order as plain rows of the hashed columns and the links, after `after_seq`."""
    async for row in _in_chain_order(sessionmaker, _WALKED, after_seq, batch, False):
        yield row


async def _in_chain_order(
    sessionmaker: async_sessionmaker[AsyncSession], query: Select[Any], after: int | None, batch: int, objects: bool
) -> AsyncIterator[Any]:
    """The query's sealed events after `after` in chain order, a batch per query on a fresh session: no
    connection is held between batches however long the walk. Without `after`, from the lowest position
    there is, whatever it is: a walk from `seq > 0` would not see an event whose position was set to zero or
    below (the database refuses that now; a verifier still must not assume it)."""
    seq = EVENTS_TABLE.c.seq
    while True:
        async with sessionmaker() as session:
            page = query.where(seq.is_not(None) if after is None else seq > after).order_by(seq).limit(batch)
            result = await session.execute(page)
            rows = list(result.scalars() if objects else result.all())
        if not rows:
            return
        for row in rows:
            yield row
        after = rows[-1].seq


async def row_at(session: AsyncSession, seq: int) -> EventRow | None:
    """The event at one position, as `chain_rows` gives it (the first, should the position repeat)."""
    query = _WALKED.where(EVENTS_TABLE.c.seq == seq).limit(1)
    return (await session.execute(query)).first()


async def consultations_of(
    session: AsyncSession, *, subject_hash: str, own_sub: str, before_seq: int | None, limit: int
) -> list[AuditEvent]:
    """Agency calls about the person, staff reading their records, public verifications of their
    certificates and uses of the links they shared; not the person's own requests."""
    query = select(AuditEvent).where(
        AuditEvent.seq.is_not(None),
        AuditEvent.subject_hash == subject_hash,
        or_(
            AuditEvent.kind == "agency_call",
            and_(AuditEvent.kind.in_(("request", "consultation")), AuditEvent.actor_role.in_(("clerk", "auditor"))),
            AuditEvent.action.in_(("certificate.verify", "certificate.verify_pdf", "share.use", "share.use_pdf")),
        ),
        or_(AuditEvent.actor_sub.is_(None), AuditEvent.actor_sub != own_sub, AuditEvent.kind == "agency_call"),
    )
    if before_seq is not None:
        query = query.where(AuditEvent.seq < before_seq)
    rows = await session.execute(query.order_by(AuditEvent.seq.desc()).limit(limit + 1))
    return list(rows.scalars())


async def checkpoints(session: AsyncSession) -> list[AuditCheckpoint]:
    """Every signed checkpoint, oldest first (one per AUDIT_CHECKPOINT_SECONDS at most: ~100,000 a year)."""
    return list((await session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id))).scalars())


async def persons_behind(session: AsyncSession, actor_sub: str, *, limit: int = 10) -> list[str]:
    """The persons (keyed hashes of their id numbers) whose tokens acted as this account, as the log
    recorded them: usually one, none for an account that never named its person."""
    query = (
        select(AuditEvent.actor_id_hash)
        .where(AuditEvent.actor_sub == actor_sub, AuditEvent.actor_id_hash.is_not(None))
        .distinct()
        .limit(limit)
    )
    return [h for h in (await session.execute(query)).scalars() if h is not None]


async def furthest_checkpoints(session: AsyncSession, *, limit: int = 20) -> list[AuditCheckpoint]:
    """The checkpoints furthest along the chain, by position (not by when they were made: a checkpoint
    signed later over a cut, shorter chain must not hide an earlier one further along)."""
    query = select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def archive_boundary(session: AsyncSession) -> tuple[int, str] | None:
    """The last archived event's position and hash (`cityservices audit-archive`): the live chain starts
    after it. None while nothing was archived."""
    query = select(AuditArchive.last_seq, AuditArchive.last_hash).order_by(AuditArchive.last_seq.desc()).limit(1)
    row = (await session.execute(query)).first()
    return (row.last_seq, row.last_hash) if row else None


async def latest_checkpoint(session: AsyncSession) -> AuditCheckpoint | None:
    return (
        await session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))
    ).scalar_one_or_none()


async def head(session: AsyncSession) -> tuple[int, str] | None:
    row = (
        await session.execute(
            select(AuditEvent.seq, AuditEvent.hash)
            .where(AuditEvent.seq.is_not(None))
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        )
    ).first()
    return (row.seq, row.hash) if row else None
