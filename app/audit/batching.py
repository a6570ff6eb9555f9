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

from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.audit.events import prepared
from app.audit.models import EVENTS_TABLE, insert_row
from app.db.uow import events_committed

logger = logging.getLogger("cityservices.audit")

MAX_BATCH = 500
# One statement text whatever the batch's size, sent as an executemany (asyncpg pipelines the rows of
# one prepared statement). A multi-row INSERT (insertmanyvalues, as RETURNING would make it) is a new
# text, so a new statement to prepare, for every batch size: ~30 % more of this process's CPU per
# batch of 1-40 events (issue 29, docs/perf/2026-12-06-reads.md). Inline: a batch of one would otherwise
# be sent with RETURNING id, a second text.
_INSERT = insert(EVENTS_TABLE).inline()

Events = list[dict[str, Any]]
_Item = tuple[Events, "asyncio.Future[None]"]


def is_unreachable(exc: BaseException) -> bool:
    """The database itself failed (every retry would fail too), as opposed to one batch's content."""
    if isinstance(exc, (OperationalError, InterfaceError, DisconnectionError, PoolTimeout, OSError, TimeoutError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class RequestLogWriter:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        bind = sessionmaker.kw.get("bind")
        assert isinstance(bind, AsyncEngine), "the sessionmaker is bound to one engine"
        self._engine = bind  # a Core connection per batch: no ORM session to set up for one INSERT
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
        await self.write_rows([insert_row(prepared(event)) for event in (fields, *more)])

    async def write_rows(self, events: Events) -> None:
        """`write`, for events already made rows (`insert_row(prepared(...))`, as AuditLog makes them):
        each event is prepared once, not again here."""
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

    async def _write_batch(self, rows: Events) -> None:
        # One transaction per batch (BEGIN, the rows, COMMIT), whatever the number of events; rolled
        # back on any failure when the block is left.
        async with self._engine.begin() as conn:
            await conn.execute(_INSERT, rows)
        events_committed()
