"""Appending to the request log, in the same transaction as the change an event describes.

Domain code calls `record(session, ...)` while it works and `commit(session)` once at the end: the
pending events are chained and inserted under the chain lock, then everything commits together.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.audit.chain import GENESIS_HASH, event_hash
from app.audit.models import AuditEvent
from app.errors import Conflict
from app.i18n import Text

_PENDING = "audit_pending"
_ON_COMMIT = "audit_on_commit"
_CHAIN_LOCK_KEY = 0x43495459  # "CITY": the advisory lock that serialises chain appends on PostgreSQL
_local_locks: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Lock] = weakref.WeakKeyDictionary()


class ConcurrentChange(Conflict):
    code = "CONCURRENT_CHANGE"
    title = Text("该记录已被他人同时修改", "Someone else changed this record at the same time")


def record(session: AsyncSession, **fields: Any) -> None:
    fields.setdefault("occurred_at", datetime.now(UTC))
    if fields.get("latency_ms") is not None:
        fields["latency_ms"] = round(float(fields["latency_ms"]), 3)
    session.info.setdefault(_PENDING, []).append(fields)


def on_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    session.info.setdefault(_ON_COMMIT, []).append(callback)


@asynccontextmanager
async def _chain_lock(session: AsyncSession) -> AsyncIterator[None]:
    bind = session.bind
    assert isinstance(bind, AsyncEngine)
    if bind.dialect.name == "postgresql":
        # Held until commit: no two transactions extend the same head (no forks, no gaps).
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})
        yield
        return
    lock = _local_locks.setdefault(bind, asyncio.Lock())
    async with lock:
        yield


async def commit(session: AsyncSession) -> None:
    """Flush the changes, append the pending events to the chain, commit them as one."""
    pending: list[dict[str, Any]] = session.info.pop(_PENDING, [])
    callbacks: list[Callable[[], None]] = session.info.pop(_ON_COMMIT, [])
    try:
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            # The change's own rows (and their row locks) first: the chain lock then covers only the append.
            # SQLite must instead write everything under the lock (see app.db.session).
            await session.flush()
        async with _chain_lock(session):
            await session.flush()
            if pending:
                await _append(session, pending)
            await session.commit()
    except StaleDataError as exc:
        await session.rollback()
        raise ConcurrentChange() from exc
    except BaseException:
        await session.rollback()
        raise
    for callback in callbacks:
        callback()


async def _append(session: AsyncSession, pending: list[dict[str, Any]]) -> None:
    head = (
        await session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1))
    ).first()
    seq, prev_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    for fields in pending:
        seq += 1
        fields["seq"] = seq
        digest = event_hash(prev_hash, fields)
        session.add(AuditEvent(**fields, prev_hash=prev_hash, hash=digest))
        prev_hash = digest
    await session.flush()
