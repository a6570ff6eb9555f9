"""The unit of work: one session, one transaction, one commit, for one request or one worker job.

Repositories read and stage changes in `uow.session`; nothing else calls `commit()`. Request-log events
(rows of column values the layers above hand over with `add_event`) are inserted at the boundary, after
the changes they describe, so a change and its audit trail commit or roll back together. The sessions never
autoflush, so the transaction takes its write locks only in `commit()`.

This module sits at the bottom of the layers: it knows rows, not what they mean. The conflicts it detects
(`StaleWrite`: a lost optimistic lock, or a unique key a concurrent transaction took first) are turned
into a domain error by the domain that caused it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

from sqlalchemy import Insert, Table, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

# Called after every commit that wrote events (the audit sealer's wake-up, registered by app.audit.sealing).
events_committed_listeners: list[Callable[[], None]] = []


def events_committed() -> None:
    """Wake whoever links committed events into the chain (also called by the request-log writer)."""
    for wake in events_committed_listeners:
        wake()


class StaleWrite(Exception):
    """Someone else changed a versioned row between our read and our commit, or committed first a row
    that a unique key allows once."""


def is_unique_violation(exc: IntegrityError) -> bool:
    """A unique constraint refused a row (PostgreSQL's SQLSTATE 23505, SQLite's message); not a NOT NULL,
    foreign-key or check violation, which are faults of ours, not races."""
    original = exc.orig
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return sqlstate == "23505" or "UNIQUE constraint failed" in str(original)


class UnitOfWork:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._events: list[tuple[Table, dict[str, Any]]] = []
        self._before_commit: list[Callable[[UnitOfWork], None]] = []
        self._after_commit: list[Callable[[], None]] = []
        self.committed = False

    def add_event(self, table: Table, row: dict[str, Any]) -> None:
        """An audit row (every column of `table` but its generated key, the same for all rows of a table),
        inserted in this transaction at commit, after the changes it describes."""
        self._events.append((table, row))

    def before_commit(self, hook: Callable[[UnitOfWork], None]) -> None:
        """Runs at the boundary, before the events are inserted: the last moment to add one."""
        self._before_commit.append(hook)

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    async def commit(self, *, stale: Callable[[], Exception] = StaleWrite) -> None:
        """The one commit of this unit of work. A lost optimistic lock, or a unique key taken by a concurrent
        transaction, raises `stale()`, the domain's own error for it (the changes and events are rolled
        back)."""
        if self.committed:
            raise RuntimeError("a unit of work commits once")
        for hook in self._before_commit:
            hook(self)
        events, self._events = self._events, []
        try:
            await self.session.flush()
            for table, rows in _by_table(events):
                # Core rows, not ORM objects: nothing reads them back in this session, and the ORM's
                # unit of work per object cost more than the insert. RETURNING only so that SQLAlchemy
                # sends one multi-row INSERT (insertmanyvalues); without it asyncpg runs it once per row.
                await self.session.execute(_inserting(table), rows)
            await self.session.commit()
        except StaleDataError as exc:
            await self.session.rollback()
            raise stale() from exc
        except IntegrityError as exc:
            await self.session.rollback()
            if is_unique_violation(exc):
                raise stale() from exc
            raise
        except BaseException:
            await self.session.rollback()
            raise
        self.committed = True
        for callback in self._after_commit:
            callback()
        if events:
            events_committed()

    async def rollback(self) -> None:
        self._events.clear()
        await self.session.rollback()


@cache
def _inserting(table: Table) -> Insert:
    """Built once per table (each commit with events runs it)."""
    return insert(table).returning(*table.primary_key.columns)


def _by_table(events: list[tuple[Table, dict[str, Any]]]) -> list[tuple[Table, list[dict[str, Any]]]]:
    """Consecutive rows of one table together, in the order they were added."""
    groups: list[tuple[Table, list[dict[str, Any]]]] = []
    for table, row in events:
        if groups and groups[-1][0] is table:
            groups[-1][1].append(row)
        else:
            groups.append((table, [row]))
    return groups


class UnitOfWorkFactory:
    """Built once in the lifespan from the sessionmaker; `async with uow() as work:` per request or job."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[UnitOfWork]:
        async with self.sessionmaker() as session:
            work = UnitOfWork(session)
            try:
                yield work
            finally:
                if not work.committed:
                    await session.rollback()
