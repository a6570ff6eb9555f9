"""Staff reads (docs/api.md#separation-of-duties-and-staff-reads): every application a clerk or auditor receives, in
any response, and every auditor query of the log filtered by a person's id number, is a consultation that person sees
in GET /v1/me/data-access (issue 13, item 3); recorded with one batched insert per response, not one per row."""

from __future__ import annotations

from tests.builders import LI_NA, WANG_FANG, ZHANG_WEI, file, file_residence_permit, no_criminal_record
from tests.statements import statements_sent


async def _data_access(client, tokens, person) -> list[dict]:
    response = await client.get("/v1/me/data-access?limit=100", headers=tokens.citizen(*person[:2]))
    assert response.status_code == 200
    return response.json()["items"]


async def test_a_clerks_list_page_is_a_consultation_of_each_applicant_listed(client, tokens):
    zhang = (await file(client, tokens.citizen(*ZHANG_WEI[:2]), no_criminal_record())).json()
    li = (await file(client, tokens.citizen(*LI_NA[:2]), no_criminal_record())).json()
    listed = await client.get("/v1/applications", headers=tokens.clerk(station="310104-XJH"))
    assert {a["id"] for a in listed.json()["items"]} == {zhang["id"], li["id"]}
    for person, application in ((ZHANG_WEI, zhang), (LI_NA, li)):
        reads = [i for i in await _data_access(client, tokens, person) if i["kind"] == "staff_read"]
        assert [(i["action"], i["by_role"], i["by_station"], i["application_id"]) for i in reads] == [
            ("application.list", "clerk", "310104-XJH", application["id"])
        ]


async def test_the_review_queue_read_by_an_auditor_is_a_consultation(client, tokens):
    review = (await file_residence_permit(client, tokens.citizen(*WANG_FANG[:2]), WANG_FANG[2])).json()
    assert (await client.get("/v1/review-queue", headers=tokens.auditor())).status_code == 200
    reads = [i for i in await _data_access(client, tokens, WANG_FANG) if i["kind"] == "staff_read"]
    assert [(i["action"], i["by_role"], i["application_id"]) for i in reads] == [
        ("application.review_queue", "auditor", review["id"])
    ]


async def test_an_auditor_searching_the_log_for_a_person_is_a_consultation_of_that_person(client, tokens):
    await file(client, tokens.citizen(*LI_NA[:2]), no_criminal_record())
    before = [i for i in await _data_access(client, tokens, LI_NA) if i["kind"] == "staff_read"]
    assert before == []
    searched = await client.get(
        f"/v1/audit/events?subject_id_number={LI_NA[0]}&purpose=核查市民投诉", headers=tokens.auditor()
    )
    assert searched.status_code == 200
    reads = [i for i in await _data_access(client, tokens, LI_NA) if i["kind"] == "staff_read"]
    assert [(i["action"], i["by_role"]) for i in reads] == [("audit.events", "auditor")]
    assert [i for i in await _data_access(client, tokens, ZHANG_WEI) if i["kind"] == "staff_read"] == []


async def test_a_citizen_listing_their_own_applications_consults_nobody(client, tokens):
    await file(client, tokens.citizen(*ZHANG_WEI[:2]), no_criminal_record())
    await client.get("/v1/applications", headers=tokens.citizen(*ZHANG_WEI[:2]))
    assert [i for i in await _data_access(client, tokens, ZHANG_WEI) if i["kind"] == "staff_read"] == []


async def test_a_page_of_twenty_is_recorded_with_one_insert(client, tokens, collaborators):
    for _ in range(20):
        await file(
            client, tokens.clerk(), {**no_criminal_record(), "applicant": {"id_number": LI_NA[0], "name": LI_NA[1]}}
        )
    with statements_sent(collaborators.engine) as sent:
        page = await client.get("/v1/applications?limit=20", headers=tokens.auditor())
    inserts = [s for s in sent if s.inserts_into("audit_events")]
    assert len(page.json()["items"]) == 20
    assert len(inserts) == 1, inserts
    reads = [i for i in await _data_access(client, tokens, LI_NA) if i["action"] == "application.list"]
    assert len(reads) == 20 and len({i["request_id"] for i in reads}) == 1
