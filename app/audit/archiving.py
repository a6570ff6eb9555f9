"""Archiving the request log's old months (`cityservices audit-archive --before YYYY-MM --out DIR`):
the months' partitions are detached from `audit_events`, their events written to DIR as the export's
NDJSON with the signed checkpoints that cover them, and the boundary (the last archived event's position
and hash) recorded in `audit_archives`, where the live chain's walk starts from
(docs/scaling.md, "The request log by month").

The archive is a prefix of the chain, cut by position, not by partition: an event is sealed (given its
`seq`) in commit order, so one that occurred on the last second of a month may come after the first
events of the next. The boundary is the last position before the first event of the month kept; an
archived month's later-sealed events (and any not sealed yet) go back into the live table (its DEFAULT
partition, their month being gone), so the live chain has no hole. The chain's head always stays live:
the sealer continues from the newest live event.

Before anything moves, the whole chain is walked against every checkpoint (an archive of a broken chain
is refused), and a checkpoint is signed over the head: the boundary is vouched for by a signed
checkpoint at or after it, which `verify-export --archive` and `GET /v1/audit/verify` demand
(`archive_boundary_unsigned` otherwise).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.audit import export, partitions, repository
from app.audit.anchors import Anchor, CheckpointRecord
from app.audit.archive_format import BOUNDARY_FILE, CHECKPOINTS_FILE, EVENTS_FILE, Boundary
from app.audit.chain import GENESIS_HASH
from app.audit.checkpoints import CheckpointSigner, check_chain, checkpoint_signature_ok, make_checkpoint
from app.audit.models import EVENTS_TABLE, AuditArchive, EventRow
from app.audit.partitions import Month
from app.db.uow import UnitOfWorkFactory


class ArchiveRefused(Exception):
    """Nothing was detached: why, in one line for the operator."""


def _engine(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    bind = sessionmaker.kw.get("bind")
    assert isinstance(bind, AsyncEngine)
    return bind


async def _prefix(
    sessionmaker: async_sessionmaker[AsyncSession], before: Month
) -> tuple[tuple[int, str], tuple[int, str]]:
    """(the position and hash the archive starts after, its last position and hash)."""
    async with sessionmaker() as session:
        start = await repository.archive_boundary(session) or (0, GENESIS_HASH)
        first_kept = await session.scalar(
            select(func.min(EVENTS_TABLE.c.seq)).where(EVENTS_TABLE.c.occurred_at >= before.start)
        )
        head = await repository.head(session)
        last_seq = first_kept - 1 if first_kept is not None else (head[0] if head else 0)
        if last_seq <= start[0]:
            raise ArchiveRefused(f"no event before {before} to archive (the live chain starts at {start[0] + 1})")
        if head is None or last_seq >= head[0]:
            # The sealer continues the chain from the newest live event: the head must stay live.
            raise ArchiveRefused(f"nothing would be left live after event {last_seq}: archive once {before} has events")
        last = await repository.row_at(session, last_seq)
    assert last is not None and last.hash is not None  # the whole chain was just walked: no gap
    return start, (last_seq, last.hash)


async def _covering(
    sessionmaker: async_sessionmaker[AsyncSession], signer: CheckpointSigner, start: int, last_seq: int
) -> list[CheckpointRecord]:
    """The genuine checkpoints inside the archive, and the first at or after its end (which vouches for
    the boundary); refused without that one."""
    async with sessionmaker() as session:
        found = [
            c for c in await repository.checkpoints(session) if c.seq > start and checkpoint_signature_ok(signer, c)
        ]
    found.sort(key=lambda c: (c.seq, c.id))
    after = [c for c in found if c.seq >= last_seq]
    if not after:
        raise ArchiveRefused(f"archive_boundary_unsigned: no signed checkpoint at or after event {last_seq}")
    return [CheckpointRecord.of(c) for c in found if c.seq < after[0].seq] + [CheckpointRecord.of(after[0])]


async def _until(rows: AsyncIterator[EventRow], last_seq: int) -> AsyncIterator[EventRow]:
    async for row in rows:
        if row.seq > last_seq:
            return
        yield row


async def _write_events(sessionmaker: async_sessionmaker[AsyncSession], out: Path, start: int, last_seq: int) -> None:
    """The archived events as the export writes them, a batch of lines per write, off the event loop."""
    file = await asyncio.to_thread((out / EVENTS_FILE).open, "wb")
    try:
        lines: list[bytes] = []
        async for line in export.ndjson(_until(repository.chain_rows(sessionmaker, after_seq=start), last_seq)):
            lines.append(line)
            if len(lines) >= repository.WALK_BATCH:
                await asyncio.to_thread(file.write, b"".join(lines))
                lines.clear()
        await asyncio.to_thread(file.write, b"".join(lines))
    finally:
        await asyncio.to_thread(file.close)


def _write_rest(out: Path, boundary: Boundary, records: list[CheckpointRecord]) -> None:
    (out / CHECKPOINTS_FILE).write_text("".join(r.to_json() + "\n" for r in records), encoding="utf-8")
    (out / BOUNDARY_FILE).write_text(boundary.to_json(), encoding="utf-8")  # last: the archive is complete


async def _detach(
    engine: AsyncEngine, months: list[str], boundary: Boundary, *, keep_detached: bool, now: datetime
) -> None:
    """One transaction: detach, send back what was sealed after the boundary, record it, drop the tables."""
    window = {"last": boundary.last_seq}
    async with engine.begin() as conn:
        for name in months:
            await conn.execute(text(f"ALTER TABLE {partitions.TABLE} DETACH PARTITION {name}"))
            await conn.execute(
                text(
                    f"WITH moved AS (DELETE FROM {name} WHERE seq IS NULL OR seq > :last RETURNING *) "
                    f"INSERT INTO {partitions.TABLE} SELECT * FROM moved"
                ),
                window,
            )
        # Archived events that had fallen into the DEFAULT partition (a month made late) are in the archive.
        await conn.execute(text(f"DELETE FROM {partitions.DEFAULT_PARTITION} WHERE seq <= :last"), window)
        left = await conn.scalar(text(f"SELECT count(*) FROM {partitions.TABLE} WHERE seq <= :last"), window)
        if left:
            raise ArchiveRefused(f"{left} archived events are still in the live table; nothing was detached")
        await conn.execute(
            insert(AuditArchive).values(
                before_month=boundary.before_month,
                first_seq=boundary.first_seq,
                last_seq=boundary.last_seq,
                last_hash=boundary.last_hash,
                events=boundary.events,
                archived_at=now,
            )
        )
        for name in [] if keep_detached else months:
            await conn.execute(text(f"DROP TABLE {name}"))


async def archive_months(
    *,
    uow: UnitOfWorkFactory,
    signer: CheckpointSigner,
    anchor: Anchor | None,
    before: Month,
    out: Path,
    keep_detached: bool,
    now: datetime,
) -> Boundary:
    """Archive every month before `before` (PostgreSQL): write DIR, then detach. Raises ArchiveRefused."""
    sessionmaker = uow.sessionmaker
    engine = _engine(sessionmaker)
    if engine.dialect.name != "postgresql":
        raise ArchiveRefused("the request log is partitioned by month on PostgreSQL only: nothing to archive here")
    if before > Month.of(now):
        raise ArchiveRefused(f"{before} is not over: archive months before the current one at most")
    if await asyncio.to_thread((out / BOUNDARY_FILE).exists):
        raise ArchiveRefused(f"{out} already holds an archive")
    check = await check_chain(sessionmaker, signer, scope="all")
    if not check.intact:
        raise ArchiveRefused(
            f"the chain is broken ({check.state.break_reason} at event {check.state.first_bad}): not archiving it"
        )
    await make_checkpoint(uow=uow, signer=signer, anchor=anchor)
    (start_seq, start_hash), (last_seq, last_hash) = await _prefix(sessionmaker, before)
    records = await _covering(sessionmaker, signer, start_seq, last_seq)
    async with engine.connect() as conn:
        attached = await conn.run_sync(partitions.partitions)
    months = [
        name for name in attached if (month := partitions.month_of_partition(name)) is not None and month < before
    ]
    boundary = Boundary(
        before_month=str(before),
        first_seq=start_seq + 1,
        starts_after_hash=start_hash,
        last_seq=last_seq,
        last_hash=last_hash,
        events=last_seq - start_seq,
        partitions=tuple(months),
        archived_at=now.isoformat(),
    )
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    await _write_events(sessionmaker, out, start_seq, last_seq)
    await asyncio.to_thread(_write_rest, out, boundary, records)
    try:
        await _detach(engine, months, boundary, keep_detached=keep_detached, now=now)
    except BaseException:
        # Nothing was detached: the directory is no archive, and a rerun may use it.
        await asyncio.to_thread((out / BOUNDARY_FILE).unlink)
        raise
    return boundary


class ArchiveTools(Protocol):
    """What the command is handed (the service's collaborators, built by `app.cli`)."""

    @property
    def uow(self) -> UnitOfWorkFactory: ...

    @property
    def anchor(self) -> Anchor | None: ...

    async def aclose(self) -> None: ...


def run_command(tools: ArchiveTools, signer: CheckpointSigner, before: str, out: Path, keep_detached: bool) -> int:
    """`cityservices audit-archive`: 0 when archived, 1 when refused (nothing detached), with one line."""

    async def run() -> Boundary:
        try:
            return await archive_months(
                uow=tools.uow,
                signer=signer,
                anchor=tools.anchor,
                before=Month.parse(before),
                out=out,
                keep_detached=keep_detached,
                now=datetime.now(UTC),
            )
        finally:
            await tools.aclose()

    try:
        boundary = asyncio.run(run())
    except (ArchiveRefused, ValueError) as exc:
        print(f"cityservices: audit-archive: {exc}", file=sys.stderr)
        return 1
    detached = ", ".join(boundary.partitions) or "no partition"
    print(
        f"archived events {boundary.first_seq}-{boundary.last_seq} ({boundary.events}) to {out}; "
        f"detached {detached} ({'kept' if keep_detached else 'dropped'})"
    )
    return 0
