"""Reading the request log: the auditors' listing, export and verification, and a citizen's data access.

Every reader seals first (`app.audit.sealing.seal_all`): events are committed unsealed with the change they
describe and linked into the hash chain later, in batches. A reader that did not seal would miss the
events of the last few tens of milliseconds, its own request's predecessors included, and a verification
would stop short of the head. So these reads, GET requests, write: the sealer gives the waiting events
their `seq` and hashes and commits on sessions of its own (docs/architecture.md, "Why a read of the log
writes"). The request's own session stays read-only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import export, repository
from app.audit.checkpoints import CheckpointSigner, check_chain
from app.audit.repository import EventFilter
from app.audit.schemas import AuditEventOut, AuditPage, ChainVerification, CheckpointOut, DataAccessPage
from app.audit.sealing import seal_all
from app.audit.walks import Scope
from app.auth.principal import Principal
from app.cursor import cut_page, decode_cursor
from app.identity.subjects import SubjectHasher
from app.oversight.person_searches import PersonSearch
from app.oversight.presenter import chain_verification, data_access_out

ExportFormat = Literal["ndjson", "csv"]


@dataclass(frozen=True, slots=True)
class LogDownload:
    """The export, ready to stream: the rows, their media type and the file name offered."""

    body: AsyncIterator[bytes]
    media_type: str
    filename: str


def event_filter(
    *,
    hasher: SubjectHasher,
    search: PersonSearch,
    role: str | None,
    action: str | None,
    outcome: str | None,
    since: datetime | None,
    until: datetime | None,
) -> EventFilter:
    """The filter an auditor asked for; whose data is searched for by its keyed hash, never the number.
    A search for a person is admitted first (`person_searches.admit`)."""
    return EventFilter(
        actor=search.actor,
        role=role,
        subject_hash=hasher.hash(search.subject_id_number) if search.subject_id_number else None,
        action=action,
        outcome=outcome,
        since=since,
        until=until,
    )


async def events_page(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    filters: EventFilter,
    limit: int,
    cursor: str | None,
) -> AuditPage:
    """One page of the log in chain order, after the cursor's position."""
    await seal_all(sessionmaker)
    after = decode_cursor(cursor, kinds=(int,))[0] if cursor else None
    rows = await repository.page(session, filters=filters, after_seq=after, limit=limit)
    shown, next_cursor = cut_page(rows, limit, lambda e: (e.seq,))
    return AuditPage(
        items=[AuditEventOut.model_validate(e, from_attributes=True) for e in shown], next_cursor=next_cursor
    )


async def export_events(
    *, sessionmaker: async_sessionmaker[AsyncSession], filters: EventFilter, format: ExportFormat
) -> LogDownload:
    """Every matching event, streamed a batch at a time with its chain hash."""
    await seal_all(sessionmaker)
    events = repository.stream(sessionmaker, filters=filters)
    if format == "csv":
        return LogDownload(export.csv_rows(events), "text/csv; charset=utf-8", "audit-events.csv")
    return LogDownload(export.ndjson(events), "application/x-ndjson", "audit-events.ndjson")


async def verify_chain(
    *, sessionmaker: async_sessionmaker[AsyncSession], signer: CheckpointSigner, scope: Scope
) -> ChainVerification:
    """The chain recomputed (`check_chain` seals first): from the furthest signed checkpoint, or all of it
    against every checkpoint."""
    return chain_verification(await check_chain(sessionmaker, signer, scope=scope))


async def latest_checkpoint(session: AsyncSession) -> CheckpointOut | None:
    """The latest signed head as stored: reading it needs no sealing, a checkpoint is made of sealed events."""
    checkpoint = await repository.latest_checkpoint(session)
    return CheckpointOut.model_validate(checkpoint, from_attributes=True) if checkpoint else None


async def data_access_page(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    hasher: SubjectHasher,
    principal: Principal,
    limit: int,
    cursor: str | None,
) -> DataAccessPage:
    """Every consultation of the citizen's data, newest first, before the cursor's position."""
    assert principal.id_number is not None
    await seal_all(sessionmaker)
    before = decode_cursor(cursor, kinds=(int,))[0] if cursor else None
    rows = await repository.consultations_of(
        session, subject_hash=hasher.hash(principal.id_number), own_sub=principal.sub, before_seq=before, limit=limit
    )
    shown, next_cursor = cut_page(rows, limit, lambda e: (e.seq,))
    return DataAccessPage(items=[data_access_out(e) for e in shown], next_cursor=next_cursor)
