"""Engine and sessions. Sessions never autoflush: writes reach the database only in `commit()` (app.db.uow),
so on SQLite the write lock is taken only while the request-log chain is being appended."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.config import Settings


def pool_options(settings: Settings) -> dict[str, Any]:
    """The service's connection pool, per process (DATABASE_POOL_SIZE, DATABASE_MAX_OVERFLOW,
    DATABASE_POOL_TIMEOUT_SECONDS). Sized for the requests a process serves at once: a pool smaller than
    that closes every overflow connection on return, so under load connections are opened and closed
    hundreds of times a second, each re-authenticating and losing asyncpg's prepared statements (issue
    20: 713 opened in 15 s at 32 connections per worker with 10 + 10). A request that still finds none
    free fails after the timeout with a 503 instead of queueing for SQLAlchemy's default 30 s."""
    return {
        "pool_size": settings.database_pool_size,
        "max_overflow": settings.database_max_overflow,
        "pool_timeout": settings.database_pool_timeout_seconds,
    }


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An engine for `url`; `kwargs` are SQLAlchemy's (the service passes `pool_options(settings)`; tools
    and migrations keep SQLAlchemy's small default pool)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        else:  # one connection for the whole in-memory database: no pool to size
            for option in ("pool_size", "max_overflow", "pool_timeout"):
                kwargs.pop(option, None)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, **kwargs)


def create_read_engine(engine: AsyncEngine, *, pool_size: int, pool_timeout: float) -> AsyncEngine:
    """An engine for reads that change nothing, in AUTOCOMMIT: no BEGIN and no ROLLBACK around a read's
    one statement (two round trips on PostgreSQL). Each statement sees what was committed before it began.

    PostgreSQL: a pool of its own (`DATABASE_READ_POOL_SIZE`, no overflow, the service's pool timeout),
    its connections AUTOCOMMIT from the moment they open. The same pool through an AUTOCOMMIT view of
    `engine` costs nearly what it saves, because SQLAlchemy sets the isolation level at every check-out
    and resets it at every return (a loop of connect + one select under callgrind, 2026-12-05: 769 k
    instructions with BEGIN and ROLLBACK, 736 k through the view, 513 k on its own engine; issue 29).
    A read holds its connection for one statement, so a small pool serves many concurrent reads; a
    process that serves no hot read (`cityservices worker`) never opens one.

    SQLite: the view (in process, a BEGIN costs no round trip; an in-memory database is one connection).
    A connection used through it comes back to the pool transactional again (aiosqlite and asyncpg
    alike: tests/foundation/test_read_engine.py)."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return create_async_engine(
        engine.url, isolation_level="AUTOCOMMIT", pool_size=pool_size, max_overflow=0, pool_timeout=pool_timeout
    )


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on `engine`; on the read engine, sessions for reads that need mapped objects."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
