"""Group commit for the request log: events of requests that changed nothing are written together.

Each request still waits until its event is committed before its response leaves (nothing answered
goes unlogged), but under load one transaction carries the events of every request that arrived while
the previous one was committing, instead of one transaction per request.

One request's events (its own, and the consultations it made) stay together. If a batch fails on its
content rather than on the database being unreachable, the batch is split and retried without the bad
part, so one request that cannot be logged never fails the others that shared its transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.events import prepared
from app.audit.models import AuditEvent
from app.db.uow import events_committed

logger = logging.getLogger("cityservices.audit")

MAX_BATCH = 500
_TABLE: Table = AuditEvent.__table__  # type: ignore[assignment]
# Every column but the generated id; seq and hashes stay null until the sealer links the event.
_COLUMNS = [column.name for column in _TABLE.columns if column.name != "id"]

Events = list[dict[str, Any]]
_Item = tuple[Events, "asyncio.Future[None]"]


def is_unreachable(exc: BaseException) -> bool:
    """The database itself failed (every retry would fail too), as opposed to one batch's content."""
    if isinstance(exc, (OperationalError, InterfaceError, DisconnectionError, PoolTimeout, OSError, TimeoutError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class RequestLogWriter:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="request-log-writer")

    async def stop(self) -> None:
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):  # answer every request that is still waiting
            await asyncio.wait_for(self._queue.join(), timeout=10)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def write(self, fields: dict[str, Any], *more: dict[str, Any]) -> None:
        """Commit one request's event (and any further events of the same request, e.g. consultations),
        together, before returning."""
        events = [fields, *more]
        if self._task is None or self._task.done():
            await self._write_batch(events)  # not running (a script, a test without lifespan): write directly
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((events, done))
        await done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write_isolating(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write_isolating(self, batch: list[_Item]) -> None:
        """Write the batch; on a failure caused by its content, halve it and retry each half, so only
        the request whose events cannot be stored fails (log2(batch) extra transactions per bad one)."""
        try:
            await self._write_batch([fields for events, _ in batch for fields in events])
        except Exception as exc:
            if len(batch) > 1 and not is_unreachable(exc):
                middle = len(batch) // 2
                await self._write_isolating(batch[:middle])
                await self._write_isolating(batch[middle:])
                return
            # Each waiting request fails closed with the cause.
            logger.exception("request-log batch of %d requests failed", len(batch))
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
        else:
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    async def _write_batch(self, batch: list[dict[str, Any]]) -> None:
        # One executemany: one multi-row INSERT per batch on PostgreSQL (and on SQLite), whatever the
        # number of events; the ORM would insert row by row where it needs each generated id back.
        rows = [{name: event.get(name) for name in _COLUMNS} for event in map(prepared, batch)]
        async with self._sessionmaker() as session:
            try:
                await session.execute(insert(_TABLE), rows)  # Core: one statement, not ORM groups
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
        events_committed()
