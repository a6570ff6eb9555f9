"""Group commit for the request log: events of requests that changed nothing are written together.

Each request still waits until its event is committed before its response leaves (nothing answered
goes unlogged), but under load one transaction carries the events of every request that arrived while
the previous one was committing, instead of one transaction per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.recorder import commit, record

logger = logging.getLogger("cityservices.audit")

MAX_BATCH = 500


class RequestLogWriter:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._queue: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[None]]] = asyncio.Queue()
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

    async def write(self, fields: dict[str, Any]) -> None:
        if self._task is None or self._task.done():
            await self._write_batch([fields])  # not running (a script, a test without lifespan): write directly
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((fields, done))
        await done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write_batch([fields for fields, _ in batch])
            except Exception as exc:  # each waiting request fails closed with the cause
                logger.exception("request-log batch of %d failed", len(batch))
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write_batch(self, batch: list[dict[str, Any]]) -> None:
        async with self._sessionmaker() as session:
            for fields in batch:
                record(session, **fields)
            await commit(session)
