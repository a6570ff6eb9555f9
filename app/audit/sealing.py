"""Sealing: linking committed events into the hash chain, in the order they are sealed.

Events are inserted unsealed (no `seq`, no hashes) with the change they describe, so commits never wait
for one another. One sealer at a time per database (a PostgreSQL advisory lock; a process lock on
SQLite) takes the unsealed events, gives each the next `seq` and its hash over its content and the
previous hash, and commits. The chain therefore has no forks and no gaps, and an event is sealed within
milliseconds of its commit; readers of the log (verify, export, listings, checkpoints) seal first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.audit.chain import GENESIS_HASH, event_hash
from app.audit.models import AuditEvent
from app.audit.verification import fields_of
from app.db import uow

logger = logging.getLogger("cityservices.audit")

BATCH = 2000
POLL_SECONDS = 0.5  # events committed by other processes are sealed at least this often
_CHAIN_LOCK_KEY = 0x43495459  # "CITY"
_local_locks: dict[str, asyncio.Lock] = {}  # per database file, however many engines point at it


@asynccontextmanager
async def _sealer_lock(session: AsyncSession) -> AsyncIterator[None]:
    bind = session.bind
    assert isinstance(bind, AsyncEngine)
    if bind.dialect.name == "postgresql":
        # Held until commit: no two sealers extend the same head.
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})
        yield
        return
    async with _local_locks.setdefault(str(bind.url), asyncio.Lock()):
        yield


async def seal_once(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Seal up to BATCH unsealed events; return how many."""
    async with sessionmaker() as session, _sealer_lock(session):
        head = (
            await session.execute(
                select(AuditEvent.seq, AuditEvent.hash)
                .where(AuditEvent.seq.is_not(None))
                .order_by(AuditEvent.seq.desc())
                .limit(1)
            )
        ).first()
        seq, prev_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
        unsealed = list(
            (
                await session.execute(
                    select(AuditEvent).where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id).limit(BATCH)
                )
            ).scalars()
        )
        if not unsealed:
            return 0
        links = []
        for event in unsealed:
            seq += 1
            fields = fields_of(event)
            fields["seq"] = seq
            digest = event_hash(prev_hash, fields)
            links.append({"id": event.id, "seq": seq, "prev_hash": prev_hash, "hash": digest})
            prev_hash = digest
        await session.execute(update(AuditEvent), links)
        await session.commit()
        return len(links)


async def seal_all(sessionmaker: async_sessionmaker[AsyncSession], *, max_rounds: int = 50) -> int:
    """Seal everything committed so far (readers of the log call this first). Bounded, so that a reader
    under a constant stream of new events still gets its answer."""
    total = 0
    for _ in range(max_rounds):
        sealed = await _seal_once_retrying(sessionmaker)
        if not sealed:
            break
        total += sealed
    return total


async def _seal_once_retrying(sessionmaker: async_sessionmaker[AsyncSession], attempts: int = 5) -> int:
    # SQLite: a sealer whose read snapshot went stale before its write gets "database is locked"/busy
    # snapshot, and a second process's sealer loses on the unique seq; both simply try again.
    for attempt in range(attempts):
        try:
            return await seal_once(sessionmaker)
        except (OperationalError, IntegrityError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.01 * (attempt + 1))
    return 0


class Sealer:
    """Background sealing for one process: woken by each local commit, polling for other processes'."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        uow.events_committed_listeners.append(self._wake.set)
        self._task = asyncio.create_task(self._run(), name="audit-sealer")

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            uow.events_committed_listeners.remove(self._wake.set)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await seal_all(self._sessionmaker)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=POLL_SECONDS)
            self._wake.clear()
            try:
                await seal_all(self._sessionmaker)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("sealing the request log failed; retrying")
                await asyncio.sleep(POLL_SECONDS)
