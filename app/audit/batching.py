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

import asyncpg
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.audit.events import prepared
from app.audit.models import EVENTS_TABLE, INSERTED_COLUMNS, insert_row
from app.db.driver import DriverInsert
from app.db.uow import events_committed

logger = logging.getLogger("cityservices.audit")

MAX_BATCH = 500
# One statement text whatever the batch's size, sent as an executemany (asyncpg pipelines the rows of
# one prepared statement). A multi-row INSERT (insertmanyvalues, as RETURNING would make it) is a new
# text, so a new statement to prepare, for every batch size: ~30 % more of this process's CPU per
# batch of 1-40 events (issue 29, docs/perf/2026-12-06-reads.md). Inline: a batch of one would otherwise
# be sent with RETURNING id, a second text.
_INSERT = insert(EVENTS_TABLE).inline()
# On PostgreSQL the writer task holds one connection and runs the same statement on asyncpg itself: a pool
# checkout and SQLAlchemy's transaction and execution cost ~230 µs of CPU a batch more (a batch of 1-5
# events: 420-500 µs against 200-245; docs/perf/2026-12-06-request-log-writer.md), and under load a batch
# is a few requests' events.
_DRIVER_INSERT = DriverInsert(_INSERT, INSERTED_COLUMNS)
# What asyncpg raises when the connection, not the batch, failed (besides OSError and TimeoutError). Its
# InterfaceError includes DataError, a value a column cannot take: that is the batch's (a ValueError too).
_DRIVER_UNREACHABLE = (
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,  # "another operation is in progress" on a dead session
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.CrashShutdownError,
)

Events = list[dict[str, Any]]
_Item = tuple[Events, "asyncio.Future[None]"]


class _NotWritten(Exception):
    """The held connection failed before any COMMIT was sent: nothing of the batch was written."""


def is_unreachable(exc: BaseException) -> bool:
    """The database itself failed (every retry would fail too), as opposed to one batch's content."""
    if isinstance(exc, (OperationalError, InterfaceError, DisconnectionError, PoolTimeout, OSError, TimeoutError)):
        return True
    if isinstance(exc, _DRIVER_UNREACHABLE) and not isinstance(exc, ValueError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class RequestLogWriter:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        bind = sessionmaker.kw.get("bind")
        assert isinstance(bind, AsyncEngine), "the sessionmaker is bound to one engine"
        self._engine = bind  # a Core connection per batch: no ORM session to set up for one INSERT
        self._held: AsyncConnection | None = None  # PostgreSQL: the writer task's own connection
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
        await self._release()

    async def write(self, fields: dict[str, Any], *more: dict[str, Any]) -> None:
        """Commit one request's event (and any further events of the same request, e.g. consultations),
        together, before returning."""
        await self.write_rows([insert_row(prepared(event)) for event in (fields, *more)])

    async def write_rows(self, events: Events) -> None:
        """`write`, for events already made rows (`insert_row(prepared(...))`, as AuditLog makes them):
        each event is prepared once, not again here."""
        if self._task is None or self._task.done():
            # Not running (a script, a test without lifespan): written directly, on a pooled connection (the
            # held one is the task's alone).
            await self._write_pooled(events)
            events_committed()
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
        """One transaction per batch (BEGIN, the rows, COMMIT), whatever the number of events; rolled back
        on any failure."""
        if self._engine.dialect.name == "postgresql":
            try:
                await self._write_held(rows, last_try=False)
            except _NotWritten:
                # The held connection had died while idle (a restarted server, a dropped session) and nothing
                # of the batch reached a COMMIT: once more, on a new connection.
                await self._write_held(rows, last_try=True)
        else:
            await self._write_pooled(rows)
        events_committed()

    async def _write_pooled(self, rows: Events) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(_INSERT, rows)

    async def _write_held(self, rows: Events, *, last_try: bool) -> None:
        committing = refused = False
        try:
            if self._held is None:
                self._held = await self._engine.connect()
            driver = (await self._held.get_raw_connection()).driver_connection
            assert driver is not None
            transaction = driver.transaction()
            await transaction.start()
            try:
                await _DRIVER_INSERT.run(driver, self._engine.dialect, rows)
            except Exception as exc:
                # The batch's content refused, and the connection answered the rollback: it stays.
                await transaction.rollback()
                refused = not is_unreachable(exc)
                raise
            committing = True  # from here the outcome may be unknown: never written twice
            await transaction.commit()
        except BaseException as exc:
            if not refused:
                # After a failure in flight asyncpg may not know yet that the server ended the session (as
                # app/db/driver.py's reads found): the connection is not used again.
                await self._release(exc)
            if not last_try and not committing and is_unreachable(exc):
                raise _NotWritten from exc
            raise

    async def _release(self, failure: BaseException | None = None) -> None:
        held, self._held = self._held, None
        if held is None:
            return
        if failure is not None:
            with contextlib.suppress(Exception):
                (await held.get_raw_connection()).invalidate(failure if isinstance(failure, Exception) else None)
        with contextlib.suppress(Exception):
            await held.close()
