"""The log beyond reach (docs/api.md#the-log-beyond-reach; issue 26): an auditor's search of the request log for a
person.

The red team recovered a full id number from its masked form in 1,515 unthrottled `subject_id_number`
searches (12.7 s), and a search by `actor` (a person's `sub`) was no consultation of that person. Now a
search for a person (`subject_id_number` or `actor`, on /v1/audit/events and the export) states its
purpose, counts against AUDIT_PERSON_SEARCHES_PER_HOUR per auditor (in the database, whatever process
answers), and is a consultation of the person searched for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.main import create_app
from tests.builders import LI_NA, ZHANG_WEI, file, no_criminal_record, staff_id_number

PURPOSE = "核查市民投诉（工单 2026-118）"


def _search(**params: str) -> dict[str, str]:
    return {"purpose": PURPOSE, **params}


async def _staff_reads(client, tokens, person) -> list[tuple[str, str | None]]:
    items = (await client.get("/v1/me/data-access", headers=tokens.citizen(*person[:2]))).json()["items"]
    return [(i["action"], i["by_role"]) for i in items if i["kind"] == "staff_read"]


@pytest.fixture
def allowance(collaborators, settings, monkeypatch):
    """Three person searches an hour, for the process that `client` talks to."""
    limited = settings.model_copy(update={"audit_person_searches_per_hour": 3})
    monkeypatch.setattr(collaborators, "settings", limited)
    return limited


@pytest.mark.parametrize("path", ["/v1/audit/events", "/v1/audit/export"])
async def test_a_search_for_a_person_needs_a_purpose(client, tokens, path):
    auditor = tokens.auditor()
    for params in ({"subject_id_number": ZHANG_WEI[0]}, {"actor": "someone"}):
        refused = await client.get(path, headers=auditor, params=params)
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "PURPOSE_REQUIRED"
        too_short = await client.get(path, headers=auditor, params={**params, "purpose": "核查"})
        assert too_short.status_code == 422
        assert (await client.get(path, headers=auditor, params={**params, "purpose": PURPOSE})).status_code == 200
    # Searching by anything but a person needs none.
    assert (await client.get(path, headers=auditor, params={"role": "clerk"})).status_code == 200


async def test_the_purpose_is_kept_in_the_searchs_event_with_any_id_number_in_it_masked(client, tokens):
    auditor = tokens.auditor()
    purpose = f"复核 {LI_NA[0]} 的投诉"
    assert (
        await client.get("/v1/audit/events", headers=auditor, params=_search(actor="x", purpose=purpose))
    ).status_code == 200
    events = (await client.get("/v1/audit/events?action=audit.events&limit=100", headers=auditor)).json()["items"]
    [search] = [e for e in events if (e["details"] or {}).get("purpose")]
    assert search["details"]["purpose"] == "复核 3401**********0242 的投诉"
    exported = (await client.get("/v1/audit/export?action=audit.events", headers=auditor)).text
    assert LI_NA[0] not in exported


@pytest.mark.usefixtures("allowance")
async def test_an_auditor_has_an_hourly_allowance_of_person_searches_shared_by_their_accounts(client, tokens):
    auditor = tokens.auditor(sub="auditor-1")
    for params in (_search(subject_id_number=ZHANG_WEI[0]), _search(actor="clerk-1")):
        assert (await client.get("/v1/audit/events", headers=auditor, params=params)).status_code == 200
    assert (await client.get("/v1/audit/export", headers=auditor, params=_search(actor="x"))).status_code == 200

    refused = await client.get("/v1/audit/events", headers=auditor, params=_search(subject_id_number=LI_NA[0]))

    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "PERSON_SEARCH_LIMIT"
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert 3500 <= int(refused.headers["retry-after"]) <= 3600
    assert (await client.get("/v1/audit/export", headers=auditor, params=_search(actor="x"))).status_code == 429
    # The same person's second account shares the allowance; another auditor has their own.
    second_account = tokens.auditor(sub="auditor-1-bis", id_number=staff_id_number("auditor-1"))
    assert (await client.get("/v1/audit/events", headers=second_account, params=_search(actor="x"))).status_code == 429
    other = tokens.auditor(sub="auditor-2")
    assert (await client.get("/v1/audit/events", headers=other, params=_search(actor="x"))).status_code == 200
    # Searches that name no person are not counted.
    assert (await client.get("/v1/audit/events?role=clerk", headers=auditor)).status_code == 200
    # A refused search consulted nobody.
    assert [r for r in await _staff_reads(client, tokens, LI_NA) if r[0] == "audit.events"] == []


@pytest.fixture
async def second_process(allowance) -> AsyncIterator[httpx.AsyncClient]:
    """Another instance of the service on the same database, as a second worker process would be: its own
    engine, pool, collaborators and memory; only the database is shared."""
    other = create_app(allowance, start_worker=False)
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other, client=("203.0.113.8", 50001))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as client:
            yield client


async def test_the_allowance_holds_across_instances_of_the_service(client, second_process, tokens):
    auditor = tokens.auditor()
    answered: list[Any] = []
    for i, instance in enumerate((client, second_process, client, second_process)):
        response = await instance.get("/v1/audit/events", headers=auditor, params=_search(actor=f"x{i}"))
        answered.append(response.status_code)
    assert answered == [200, 200, 200, 429]


async def test_a_search_by_actor_is_a_consultation_of_the_person_behind_that_account(client, tokens):
    await file(client, tokens.citizen(*ZHANG_WEI[:2], sub="zhang-mobile-app"), no_criminal_record())
    # 李娜 is also a clerk: a search of what her clerk account did is a consultation of her.
    li_as_clerk = tokens.clerk(sub="li-na-at-the-window", id_number=LI_NA[0])
    assert (await client.get("/v1/review-queue", headers=li_as_clerk)).status_code == 200
    assert await _staff_reads(client, tokens, ZHANG_WEI) == []

    auditor = tokens.auditor()
    for actor in ("zhang-mobile-app", "li-na-at-the-window"):
        assert (await client.get("/v1/audit/events", headers=auditor, params=_search(actor=actor))).status_code == 200

    assert await _staff_reads(client, tokens, ZHANG_WEI) == [("audit.events", "auditor")]
    assert await _staff_reads(client, tokens, LI_NA) == [("audit.events", "auditor")]
    # An account the log never saw act is nobody's.
    assert (await client.get("/v1/audit/events", headers=auditor, params=_search(actor="nobody"))).status_code == 200
    assert await _staff_reads(client, tokens, ZHANG_WEI) == [("audit.events", "auditor")]
