"""Audit events are inserted as rows, several per statement (issue 20, I2): a change's events in one
multi-row INSERT at its unit of work's commit; the group-committed events of read requests one
executemany per batch, of one statement text whatever the batch's size (issue 29: asyncpg prepares each
text once, and pipelines the rows)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.audit.sealing import seal_all
from tests.builders import ZHANG_WEI, file, residence_permit, upload_proof
from tests.statements import Sent, statements_sent


def event_rows(sent: list[Sent]) -> list[int]:
    """For every INSERT INTO audit_events sent: how many rows it carries (its VALUES groups, or the rows
    of an executemany)."""
    return [
        len(s.parameters) if s.executemany else s.statement.count("), (") + 1
        for s in sent
        if s.inserts_into("audit_events")
    ]


async def _stored(collaborators: Any, **where: Any) -> int:
    async with collaborators.sessionmaker() as session:
        query = select(func.count()).select_from(AuditEvent)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return int((await session.execute(query)).scalar_one())


async def test_a_filings_events_are_one_insert_statement(client, tokens, collaborators):
    headers = tokens.citizen(*ZHANG_WEI[:2])
    material = await upload_proof(client, headers)
    with statements_sent(collaborators.engine) as sent:
        response = await file(client, headers, residence_permit(ZHANG_WEI[2], [material]))
    inserts = event_rows(sent)
    assert response.status_code == 201, response.text
    request_id = response.headers["x-request-id"]
    assert await _stored(collaborators, request_id=request_id) >= 5  # its own event and four agency calls
    assert len(inserts) == 1 and inserts[0] >= 5, inserts  # one statement, all its rows
    await seal_all(collaborators.sessionmaker)
    assert (await client.get("/v1/audit/verify", headers=tokens.auditor())).json()["intact"] is True


async def test_read_requests_events_share_insert_statements(client, collaborators):
    with statements_sent(collaborators.engine) as sent:
        responses = await asyncio.gather(*(client.get("/v1/services") for _ in range(30)))
        # Then one alone: a batch of one is the same statement as a batch of many.
        assert (await client.get("/v1/services")).status_code == 200
    inserts = event_rows(sent)
    texts = {s.statement for s in sent if s.inserts_into("audit_events")}
    assert {r.status_code for r in responses} == {200}
    assert await _stored(collaborators, route="/v1/services") == 31
    # Batches of the requests that arrived while the previous one committed, each one statement.
    assert sum(inserts) == 31 and len(inserts) < 30 and max(inserts) > 1 and inserts[-1] == 1, inserts
    assert len(texts) == 1, texts
