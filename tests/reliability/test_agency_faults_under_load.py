"""Agency faults under load: errors and latency, then an outage; every filing is answered in time and
every one is decided once the agencies are back, with nothing duplicated."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.applications.models import Application
from app.certificates.models import Certificate
from integrations.datasets.demo import CASES
from tests.builders import file, household_registration, no_criminal_record, residence_permit, upload_proof

REQUEST_DEADLINE_S = 10.0
# Distinct (person, service) pairs that issue: one person may not have two open cases of one service. Not the
# day-boundary people (a lease ending today): the drain decides two hours ahead, which may be tomorrow in Shanghai.
ISSUABLE = [
    (c, service)
    for service in ("residence-permit", "no-criminal-record", "household-registration")
    for c in CASES
    if getattr(c, service.replace("-", "_")) == "issued" and not c.purpose.startswith("boundary")
]


async def _file_one(client, tokens, filing, index: int) -> tuple[float, int, str]:
    case, service = filing
    headers = {**tokens.citizen(case.id_number, case.name), "Idempotency-Key": f"load-{index}"}
    if service == "residence-permit":
        material = await upload_proof(client, headers)
        body = residence_permit(case.address, [material])
    elif service == "no-criminal-record":
        body = no_criminal_record()
    else:
        body = household_registration()
    started = time.monotonic()
    response = await file(client, headers, body)
    return time.monotonic() - started, response.status_code, response.json()["id"]


async def _drain(collaborators) -> None:
    for _ in range(20):
        if not await collaborators.worker.process_due(now=datetime.now(UTC) + timedelta(hours=2)):
            return
        await asyncio.sleep(0.3)


@pytest.mark.slow
async def test_errors_latency_then_outage_every_filing_answered_and_later_decided(client, tokens, collaborators):
    police, housing = collaborators.agencies.police_simulator, collaborators.agencies.housing_simulator
    police.set_faults(error_rate=0.3, latency_ms=2000, seed=7)
    housing.set_faults(error_rate=0.3, latency_ms=2000, seed=8)
    assert len(ISSUABLE) >= 32
    first = await asyncio.gather(*(_file_one(client, tokens, ISSUABLE[i * 2], i) for i in range(16)))
    housing.set_faults(down=True)
    police.set_faults(error_rate=0.3, seed=9)
    second = await asyncio.gather(*(_file_one(client, tokens, ISSUABLE[(i - 16) * 2 + 1], i) for i in range(16, 32)))

    answered = first + second
    assert all(status in (201, 202) for _, status, _ in answered)
    assert max(elapsed for elapsed, _, _ in answered) < REQUEST_DEADLINE_S
    assert any(status == 202 for _, status, _ in answered)

    police.reset()
    housing.reset()
    collaborators.agencies.reset_circuits()
    await _drain(collaborators)

    async with collaborators.sessionmaker() as session:
        statuses = dict((await session.execute(select(Application.id, Application.status))).all())
        certificates = (
            await session.execute(select(Certificate.application_id, func.count()).group_by(Certificate.application_id))
        ).all()
    assert set(statuses) == {application_id for _, _, application_id in answered}
    undecided = {application_id: str(status) for application_id, status in statuses.items() if status != "issued"}
    assert not undecided, undecided
    assert len(certificates) == len(statuses) and all(n == 1 for _, n in certificates)
