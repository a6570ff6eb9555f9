"""One unit of work per request and per worker job: one transaction, one commit, the audit events inside.

Counted at the connection (SQLAlchemy's begin/commit/rollback events on the engine), for the task that
runs the request only: the sealer and the request-log writer run in tasks of their own. The suite runs
this on PostgreSQL too (TEST_DATABASE_URL), where the serial comes from a sequence.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select

from app.applications.models import Application
from app.audit.models import AuditEvent
from app.certificates.models import Certificate
from tests.builders import ZHANG_WEI, file, residence_permit, upload_proof


@contextmanager
def transactions(engine: Any) -> Iterator[Counter[str]]:
    """Begin, commit and rollback on the engine, made by the current task."""
    task = asyncio.current_task()
    seen: Counter[str] = Counter()

    def listener(kind: str) -> Any:
        def count(*_: Any) -> None:
            if asyncio.current_task() is task:
                seen[kind] += 1

        return count

    listeners = [(name, listener(name)) for name in ("begin", "commit", "rollback")]
    for name, fn in listeners:
        event.listen(engine.sync_engine, name, fn)
    try:
        yield seen
    finally:
        for name, fn in listeners:
            event.remove(engine.sync_engine, name, fn)


async def _count(collaborators: Any, query: Any) -> int:
    async with collaborators.sessionmaker() as session:
        return int((await session.execute(query)).scalar_one())


async def test_filing_and_issuing_commits_once_with_its_audit_events(client, tokens, collaborators):
    headers = tokens.citizen(*ZHANG_WEI[:2])
    material = await upload_proof(client, headers)

    with transactions(collaborators.engine) as seen:
        response = await file(client, headers, residence_permit(ZHANG_WEI[2], [material]))

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "issued"
    # The checks, the agency calls, the serial, the certificate, the request's event: one transaction.
    assert seen == Counter(begin=1, commit=1), seen
    application_id = response.json()["id"]
    assert await _count(collaborators, select(func.count()).select_from(Certificate)) == 1
    kinds = await _count(
        collaborators, select(func.count(AuditEvent.kind.distinct())).where(AuditEvent.application_id == application_id)
    )
    assert kinds == 2  # the filing request and its agency calls, committed with the application


async def test_a_worker_retry_is_one_transaction(client, tokens, collaborators):
    headers = tokens.citizen(*ZHANG_WEI[:2])
    material = await upload_proof(client, headers)
    collaborators.agencies.housing_simulator.set_faults(down=True)
    pending = await file(client, headers, residence_permit(ZHANG_WEI[2], [material]))
    assert pending.status_code == 202, pending.text
    collaborators.agencies.housing_simulator.reset()
    collaborators.agencies.reset_circuits()

    with transactions(collaborators.engine) as seen:
        tried = await collaborators.worker._retry(pending.json()["id"], now=datetime.now(UTC) + timedelta(hours=1))

    assert tried is None
    assert seen == Counter(begin=1, commit=1), seen
    status = await _count(
        collaborators, select(func.count()).select_from(Application).where(Application.status == "issued")
    )
    assert status == 1


async def test_a_failed_filing_leaves_neither_the_application_nor_its_agency_calls(client, tokens, collaborators):
    headers = tokens.citizen(*ZHANG_WEI[:2])
    material = await upload_proof(client, headers)
    # Same key, different body, after a first filing: refused before anything is written.
    first = await file(client, {**headers, "Idempotency-Key": "k-1"}, residence_permit(ZHANG_WEI[2], [material]))
    assert first.status_code == 201

    with transactions(collaborators.engine) as seen:
        refused = await file(
            client, {**headers, "Idempotency-Key": "k-1"}, residence_permit(ZHANG_WEI[2] + " ", [material])
        )

    assert refused.status_code == 422, refused.text
    assert seen["commit"] == 0, seen
    assert await _count(collaborators, select(func.count()).select_from(Application)) == 1
