"""The connection pool is sized by the settings, and an exhausted pool answers 503 quickly instead of
holding the request for SQLAlchemy's default 30 s (issue 20, R3)."""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack

import httpx
import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.api.collaborators import collaborators_of
from app.main import create_app


@pytest.fixture
async def small_pool_app(settings):
    app = create_app(
        settings.model_copy(
            update={"database_pool_size": 2, "database_max_overflow": 1, "database_pool_timeout_seconds": 0.3}
        ),
        start_worker=False,
    )
    async with app.router.lifespan_context(app):
        yield app


async def test_pool_size_overflow_and_timeout_come_from_the_settings(small_pool_app):
    engine = collaborators_of(small_pool_app).engine
    assert engine.pool.size() == 2
    async with AsyncExitStack() as held:
        for _ in range(3):  # the pool, then its one overflow connection
            await held.enter_async_context(engine.connect())
        started = time.monotonic()
        with pytest.raises(PoolTimeout):
            async with engine.connect():
                pass
        assert 0.25 <= time.monotonic() - started < 3


async def test_a_request_that_finds_no_connection_is_answered_503_at_once(small_pool_app, tokens):
    engine = collaborators_of(small_pool_app).engine
    transport = httpx.ASGITransport(app=small_pool_app, client=("198.51.100.9", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        async with AsyncExitStack() as held:
            for _ in range(3):
                await held.enter_async_context(engine.connect())
            started = time.monotonic()
            busy = await client.get("/v1/applications", headers=tokens.auditor())
            # Its query waited 0.3 s, then its event (the request log shares the pool) 0.3 s more: a 503
            # (AUDIT_UNAVAILABLE: nothing is answered unlogged), not a 30 s hang.
            assert busy.status_code == 503
            assert time.monotonic() - started < 5
        assert (await client.get("/v1/applications", headers=tokens.auditor())).status_code == 200


async def test_the_503_of_a_saturated_pool_says_when_to_try_again(small_pool_app, tokens, caplog):
    engine = collaborators_of(small_pool_app).engine
    transport = httpx.ASGITransport(app=small_pool_app, client=("198.51.100.9", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        async with AsyncExitStack() as held:
            for _ in range(3):
                await held.enter_async_context(engine.connect())
            request = asyncio.create_task(client.get("/v1/applications", headers=tokens.auditor()))
            # Free the connections once the request's own query has given up, so that its event is written.
            while not any("no database connection free" in r.getMessage() for r in caplog.records):
                assert not request.done()
                await asyncio.sleep(0.01)
        busy = await request
    assert busy.status_code == 503 and busy.json()["code"] == "SERVICE_UNAVAILABLE"
    assert busy.headers["retry-after"] == "1"
