"""Audit events are inserted as rows, several per statement (issue 20, I2): a change's events in one
multi-row INSERT at its unit of work's commit, the group-committed events of read requests in one per
batch. (A plain executemany would reach asyncpg's executemany, which runs the INSERT once per row.)"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, func, select

from app.audit.models import AuditEvent
from app.audit.sealing import seal_all
from tests.builders import ZHANG_WEI, file, residence_permit, upload_proof


@contextmanager
def event_inserts(engine: Any) -> Iterator[list[int]]:
    """For every INSERT INTO audit_events statement sent on the engine meanwhile: how many rows it
    carries (its VALUES groups). An executemany of a one-row INSERT counts once per row it is run for."""
    seen: list[int] = []

    def listener(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_EVENTS"):
            rows = statement.count("), (") + 1
            if rows == 1 and executemany:
                seen.extend([1] * len(parameters))
            else:
                seen.append(rows)

    event.listen(engine.sync_engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listener)


async def _stored(collaborators: Any, **where: Any) -> int:
    async with collaborators.sessionmaker() as session:
        query = select(func.count()).select_from(AuditEvent)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return int((await session.execute(query)).scalar_one())


async def test_a_filings_events_are_one_insert_statement(client, tokens, collaborators):
    headers = tokens.citizen(*ZHANG_WEI[:2])
    material = await upload_proof(client, headers)
    with event_inserts(collaborators.engine) as inserts:
        response = await file(client, headers, residence_permit(ZHANG_WEI[2], [material]))
    assert response.status_code == 201, response.text
    request_id = response.headers["x-request-id"]
    assert await _stored(collaborators, request_id=request_id) >= 5  # its own event and four agency calls
    assert len(inserts) == 1 and inserts[0] >= 5, inserts  # one statement, all its rows
    await seal_all(collaborators.sessionmaker)
    assert (await client.get("/v1/audit/verify", headers=tokens.auditor())).json()["intact"] is True


async def test_read_requests_events_share_insert_statements(client, collaborators):
    with event_inserts(collaborators.engine) as inserts:
        responses = await asyncio.gather(*(client.get("/v1/services") for _ in range(30)))
    assert {r.status_code for r in responses} == {200}
    assert await _stored(collaborators, route="/v1/services") == 30
    # Batches of the requests that arrived while the previous one committed, each one statement.
    assert sum(inserts) >= 30 and len(inserts) < 30, inserts
