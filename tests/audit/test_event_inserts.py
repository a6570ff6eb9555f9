"""Audit events are inserted as rows, several per statement (issue 20, I2): a change's events in one
multi-row INSERT at its unit of work's commit; the group-committed events of read requests one
executemany per batch, of one statement text whatever the batch's size (issue 29: asyncpg prepares each
text once, and pipelines the rows)."""

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
def event_inserts(engine: Any, texts: set[str] | None = None) -> Iterator[list[int]]:
    """For every INSERT INTO audit_events sent to the driver on the engine meanwhile: how many rows it
    carries (its VALUES groups, or the rows of an executemany); its text added to `texts`."""
    seen: list[int] = []

    def listener(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_EVENTS"):
            seen.append(len(parameters) if executemany else statement.count("), (") + 1)
            if texts is not None:
                texts.add(statement)

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
    texts: set[str] = set()
    with event_inserts(collaborators.engine, texts) as inserts:
        responses = await asyncio.gather(*(client.get("/v1/services") for _ in range(30)))
        # Then one alone: a batch of one is the same statement as a batch of many.
        assert (await client.get("/v1/services")).status_code == 200
    assert {r.status_code for r in responses} == {200}
    assert await _stored(collaborators, route="/v1/services") == 31
    # Batches of the requests that arrived while the previous one committed, each one statement.
    assert sum(inserts) == 31 and len(inserts) < 30 and max(inserts) > 1 and inserts[-1] == 1, inserts
    assert len(texts) == 1, texts
