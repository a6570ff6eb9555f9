"""The hot reads' one statement, run by asyncpg itself on PostgreSQL (issue 29).

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

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

Processor = Callable[[Any], Any] | None
AnySelect = Select[*tuple[Any, ...]]  # any columns


@dataclass(frozen=True)
class _Compiled:
    sql: str
    binds: tuple[tuple[str, Any, Processor], ...]  # each positional parameter: name, default, processor
    columns: tuple[Processor, ...]


def _compile(statement: AnySelect, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    assert compiled.positiontup is not None, "asyncpg's parameters are positional"
    binds = tuple(
        (
            name,
            compiled.binds[name].effective_value,
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect),
        )
        for name in compiled.positiontup
    )
    columns = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in statement.selected_columns)
    return _Compiled(str(compiled), binds, columns)


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
        args = []
        for name, default, process in compiled.binds:
            value = params[name] if name in params else default
            args.append(value if process is None else process(value))
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
