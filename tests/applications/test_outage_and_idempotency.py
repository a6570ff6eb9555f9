"""Agency outage (202 → retried → decided), the wait limit, and Idempotency-Key under concurrency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.applications.models import Application
from app.certificates.models import Certificate
from integrations.datasets.demo import CASES
from tests.builders import LI_NA, SHEN_GUOQIANG, ZHANG_WEI, file, no_criminal_record, residence_permit, upload_proof


async def _count(collaborators, model) -> int:
    async with collaborators.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_filed_while_housing_is_down_then_issued_once_it_is_back(client, tokens, collaborators):
    headers = tokens.citizen(*ZHANG_WEI[:2])
    material = await upload_proof(client, headers)
    collaborators.agencies.housing_simulator.set_faults(down=True)

    response = await file(client, headers, residence_permit(ZHANG_WEI[2], [material]))

    assert response.status_code == 202, response.text
    pending = response.json()
    assert pending["status"] == "pending_agency"
    assert {c["code"]: c["outcome"] for c in pending["checks"]}["HOUSING_RECORD"] == "unavailable"

    await collaborators.worker.process_due(now=datetime.now(UTC) + timedelta(minutes=5))  # still down: still waiting
    assert (await client.get(f"/v1/applications/{pending['id']}", headers=headers)).json()["status"] == "pending_agency"

    collaborators.agencies.housing_simulator.reset()
    await asyncio.sleep(0.3)  # the circuit's reset interval in tests
    await collaborators.worker.process_due(now=datetime.now(UTC) + timedelta(hours=1))

    issued = (await client.get(f"/v1/applications/{pending['id']}", headers=headers)).json()
    assert issued["status"] == "issued", issued
    assert issued["certificate"] is not None
    assert await _count(collaborators, Application) == 1
    assert await _count(collaborators, Certificate) == 1


async def test_still_waiting_after_the_wait_limit_goes_to_review(client, tokens, collaborators):
    headers = tokens.citizen(*ZHANG_WEI[:2])
    collaborators.agencies.police_simulator.set_faults(down=True)
    pending = (await file(client, headers, no_criminal_record())).json()
    assert pending["status"] == "pending_agency"

    await collaborators.worker.process_due(
        now=datetime.now(UTC) + timedelta(seconds=collaborators.settings.agency_wait_limit + 1)
    )

    after = (await client.get(f"/v1/applications/{pending['id']}", headers=headers)).json()
    assert after["status"] == "needs_review"
    assert [r["code"] for r in after["reasons"]] == ["AGENCY_UNAVAILABLE"]
    queue = (await client.get("/v1/review-queue", headers=tokens.clerk())).json()
    assert [a["id"] for a in queue["items"]] == [pending["id"]]


async def test_a_pending_application_can_be_withdrawn_and_the_worker_leaves_it(client, tokens, collaborators):
    headers = tokens.citizen(*ZHANG_WEI[:2])
    collaborators.agencies.police_simulator.set_faults(down=True)
    pending = (await file(client, headers, no_criminal_record())).json()
    assert (await client.post(f"/v1/applications/{pending['id']}/withdraw", headers=headers)).status_code == 200
    collaborators.agencies.police_simulator.reset()
    await collaborators.worker.process_due(now=datetime.now(UTC) + timedelta(hours=1))
    assert (await client.get(f"/v1/applications/{pending['id']}", headers=headers)).json()["status"] == "withdrawn"


async def test_same_idempotency_key_and_body_returns_the_first_answer(client, tokens, collaborators):
    headers = {**tokens.citizen(*ZHANG_WEI[:2]), "Idempotency-Key": "k-1"}
    first = await file(client, headers, no_criminal_record())
    second = await file(client, headers, no_criminal_record())
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert await _count(collaborators, Application) == 1


async def test_same_idempotency_key_with_another_body_is_refused(client, tokens):
    headers = {**tokens.citizen(*ZHANG_WEI[:2]), "Idempotency-Key": "k-2"}
    assert (await file(client, headers, no_criminal_record())).status_code == 201
    other = await file(client, headers, no_criminal_record("study"))
    assert other.status_code == 422 and other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_concurrent_retries_with_one_key_make_one_application(client, tokens, collaborators):
    headers = {**tokens.citizen(*ZHANG_WEI[:2]), "Idempotency-Key": "k-concurrent"}
    responses = await asyncio.gather(*(file(client, headers, no_criminal_record()) for _ in range(5)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await _count(collaborators, Application) == 1
    assert await _count(collaborators, Certificate) == 1


async def test_keys_are_per_caller(client, tokens, collaborators):
    a = await file(client, {**tokens.citizen(*ZHANG_WEI[:2]), "Idempotency-Key": "shared"}, no_criminal_record())
    b = await file(
        client, {**tokens.citizen("340104199205200242", "李娜"), "Idempotency-Key": "shared"}, no_criminal_record()
    )
    assert a.json()["id"] != b.json()["id"]


async def test_concurrent_workers_never_take_the_same_application_twice(client, tokens, collaborators):
    # Six people: one person may have only one open application per service (DUPLICATE_APPLICATION).
    people = [
        ZHANG_WEI[:2],
        LI_NA[:2],
        SHEN_GUOQIANG,
        ("310101196703020422", "顾美玲"),
        ("31010119930610057X", "沈浩"),
        ("31010120010918102X", "沈悦"),
    ]
    collaborators.agencies.police_simulator.set_faults(down=True)
    pending = [(await file(client, tokens.citizen(*person), no_criminal_record())).json()["id"] for person in people]
    collaborators.agencies.police_simulator.reset()
    collaborators.agencies.reset_circuits()
    later = datetime.now(UTC) + timedelta(hours=1)
    tried = await asyncio.gather(*(collaborators.worker.process_due(now=later) for _ in range(3)))
    assert sum(tried) == len(pending)  # each application claimed by exactly one of the three
    async with collaborators.sessionmaker() as session:
        rows = (await session.execute(select(Application.status, Application.attempts))).all()
    assert [status for status, _ in rows] == ["issued"] * 6
    assert await _count(collaborators, Certificate) == 6


async def test_a_worker_claims_no_more_than_its_batch(client, tokens, collaborators):
    from app.applications.repository import claim_due

    collaborators.agencies.police_simulator.set_faults(down=True)
    # Seven people: one person has one open case per service (DUPLICATE_APPLICATION).
    people = [(c.id_number, c.name) for c in CASES if c.no_criminal_record == "issued" and c.file_as is None][:7]
    for person in people:
        assert (await file(client, tokens.citizen(*person), no_criminal_record())).status_code == 202
    later = datetime.now(UTC) + timedelta(hours=1)
    async with collaborators.uow() as work:
        first = await claim_due(work.session, now=later, lease_until=later + timedelta(minutes=2), limit=3)
        await work.commit()
    async with collaborators.uow() as work:
        second = await claim_due(work.session, now=later, lease_until=later + timedelta(minutes=2), limit=10)
        await work.commit()
    assert (len(first), len(second)) == (3, 4) and not set(first) & set(second)
