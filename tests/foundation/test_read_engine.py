"""The hot reads' engine (app.db.session.create_read_engine): AUTOCOMMIT, on a pool of its own on
PostgreSQL and on the service's pool on SQLite, where a connection it used is transactional again for
the next unit of work. Either way the service's own engine stays transactional."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.session import create_engine, create_read_engine

PROBE = "read_engine_probe"  # dropped again: the schema drift test compares the tables with the models


async def test_the_read_engine_autocommits_and_hands_back_a_transactional_connection(database_url):
    engine = create_engine(database_url, pool_size=1, max_overflow=0)  # one connection: the same one each time
    reads = create_read_engine(engine, pool_size=1, pool_timeout=5)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"CREATE TABLE {PROBE} (x INTEGER)"))
        async with reads.connect() as conn:
            await conn.execute(text(f"INSERT INTO {PROBE} VALUES (1)"))  # no commit: kept only under AUTOCOMMIT
        async with engine.connect() as conn:
            await conn.execute(text(f"INSERT INTO {PROBE} VALUES (2)"))
            await conn.rollback()  # undone: the pooled connection left AUTOCOMMIT when it came back
        async with reads.connect() as conn:
            assert (await conn.execute(text(f"SELECT x FROM {PROBE}"))).scalars().all() == [1]
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {PROBE}"))
        if reads.pool is not engine.pool:
            await reads.dispose()
        await engine.dispose()


async def _autocommits(conn: AsyncConnection) -> bool:
    driver = (await conn.get_raw_connection()).dbapi_connection  # SQLAlchemy's adapter of asyncpg or aiosqlite
    if hasattr(driver, "autocommit"):  # asyncpg's
        return bool(driver.autocommit)
    return driver.isolation_level is None  # aiosqlite's, as sqlite3's


async def test_the_service_reads_on_a_pool_of_its_own_on_postgresql(collaborators):
    reads, engine, settings = collaborators.read_engine, collaborators.engine, collaborators.settings
    async with reads.connect() as conn:
        assert await _autocommits(conn)
    async with engine.connect() as conn:
        assert not await _autocommits(conn)
    if engine.dialect.name == "postgresql":
        assert reads.pool is not engine.pool
        assert reads.pool.size() == settings.database_read_pool_size
    else:
        assert reads.pool is engine.pool
