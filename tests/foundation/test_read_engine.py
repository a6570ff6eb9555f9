"""The hot reads' engine (app.db.session.create_read_engine): AUTOCOMMIT on the service's own pool, and a
connection it used is transactional again for the next unit of work (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import text

from app.db.session import create_engine, create_read_engine

PROBE = "read_engine_probe"  # dropped again: the schema drift test compares the tables with the models


async def test_the_read_engine_autocommits_and_hands_back_a_transactional_connection(database_url):
    engine = create_engine(database_url, pool_size=1, max_overflow=0)  # one connection: the same one each time
    reads = create_read_engine(engine)
    assert reads.pool is engine.pool
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
        await engine.dispose()


async def test_the_service_reads_on_its_own_pool(collaborators):
    assert collaborators.read_engine.pool is collaborators.engine.pool
    assert collaborators.read_engine.get_execution_options()["isolation_level"] == "AUTOCOMMIT"
