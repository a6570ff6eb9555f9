"""Statements on the hottest paths, run by asyncpg itself on PostgreSQL (issue 29): the hot reads' one
SELECT (`DriverRead`) and the request log's batch INSERT (`DriverInsert`).

SQLAlchemy's execution of a statement (the cache key, the execution context, the result object, the hop
into a greenlet and back) cost a hot read about 100 µs of the serving process's CPU beyond what the
driver's own `fetchrow` costs on the same pooled connection (2026-12-06, the application view in a loop:
264-331 µs against 173-219 µs a read; docs/perf/2026-12-06-driver-render-walk.md). Here the statement is still
built with SQLAlchemy and compiled by it, once per dialect; its parameters and columns go through their
SQLAlchemy types' own processors, as SQLAlchemy would apply them; the connection is still the engine's
(its pool, its AUTOCOMMIT). SQLite, in process, keeps SQLAlchemy's execution.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

Processor = Callable[[Any], Any] | None
AnySelect = Select[*tuple[Any, ...]]  # any columns

# Told of each statement run here (its text, its arguments: one row's, or a list of rows' for many), as
# SQLAlchemy's `before_cursor_execute` tells of its own: the tests count what a request sends.
statement_listeners: list[Callable[[str, Any, bool], None]] = []


@dataclass(frozen=True)
class _Compiled:
    sql: str
    binds: tuple[tuple[str, Any, Processor], ...]  # each positional parameter: name, default, processor
    columns: tuple[Processor, ...]


def _compile(statement: AnySelect | Insert, dialect: Dialect, column_keys: list[str] | None = None) -> _Compiled:
    compiled = statement.compile(dialect=dialect, column_keys=column_keys)
    assert compiled.positiontup is not None, "asyncpg's parameters are positional"
    binds = tuple(
        (
            name,
            compiled.binds[name].effective_value,
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect),
        )
        for name in compiled.positiontup
    )
    selected = statement.selected_columns if isinstance(statement, Select) else ()
    columns = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in selected)
    return _Compiled(str(compiled), binds, columns)


def _arguments(compiled: _Compiled, params: Mapping[str, Any]) -> list[Any]:
    args = []
    for name, default, process in compiled.binds:
        value = params[name] if name in params else default
        args.append(value if process is None else process(value))
    return args


class DriverRead:
    """A SELECT of at most one row, by primary or unique key, for a hot read on an AUTOCOMMIT connection."""

    def __init__(self, statement: AnySelect) -> None:
        self.statement = statement
        self._compiled: _Compiled | None = None  # the service runs on one PostgreSQL dialect per process

    async def first(self, connection: AsyncConnection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        if connection.dialect.name != "postgresql":
            row = (await connection.execute(self.statement, params)).first()
            return None if row is None else tuple(row)
        if self._compiled is None:
            self._compiled = _compile(self.statement, connection.dialect)
        compiled = self._compiled
        args = _arguments(compiled, params)
        for listener in statement_listeners:
            listener(compiled.sql, args, False)
        pooled = await connection.get_raw_connection()
        driver = pooled.driver_connection
        assert driver is not None
        try:
            record = await driver.fetchrow(compiled.sql, *args)
        except BaseException as exc:
            # Whatever failed (the connection, a cancellation in flight, the statement), the connection is
            # closed rather than handed out again: a new one costs a connect, a broken one the next read.
            # SQLAlchemy asks `is_closed()`, which asyncpg may not know yet ("another operation is in
            # progress" after the server ended the session).
            pooled.invalidate(exc if isinstance(exc, Exception) else None)
            raise
        if record is None:
            return None
        return tuple(
            value if process is None else process(value)
            for process, value in zip(compiled.columns, record, strict=True)
        )


class DriverInsert:
    """An INSERT of many rows, each naming the same `columns`, as one prepared statement that asyncpg
    pipelines row by row (`executemany`): on a connection the caller holds, in a transaction the caller
    opened (PostgreSQL only)."""

    def __init__(self, statement: Insert, columns: tuple[str, ...]) -> None:
        self.statement = statement
        self.columns = list(columns)
        self._compiled: _Compiled | None = None

    async def run(self, driver: Any, dialect: Dialect, rows: list[dict[str, Any]]) -> None:
        if self._compiled is None:
            self._compiled = _compile(self.statement, dialect, self.columns)
        compiled = self._compiled
        args = [_arguments(compiled, row) for row in rows]
        for listener in statement_listeners:
            listener(compiled.sql, args, True)
        await driver.executemany(compiled.sql, args)
