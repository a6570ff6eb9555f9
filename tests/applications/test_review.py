"""The clerk's review (docs/api.md#the-clerks-review): the evidence, a request for materials (补正), a recheck,
search."""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.applications.models import Application
from app.applications.states import OPEN
from app.audit.models import AuditEvent
from tests.builders import (
    LI_NA,
    PDF_PROOF,
    SHEN_GUOQIANG,
    WANG_FANG,
    ZHANG_WEI,
    file,
    file_residence_permit,
    no_criminal_record,
    pdf_document,
    residence_permit,
    upload_proof,
)
from tests.conftest import TEST_DATABASE_URL

RENEWED_LEASE = pdf_document(note=b"renewed lease")
REQUEST = {"outcome": "request_materials", "reason": "请上传续签后的租赁合同 / upload the renewed lease"}


async def _in_review(client, tokens):
    citizen = tokens.citizen(*WANG_FANG[:2])
    response = await file_residence_permit(client, citizen, WANG_FANG[2])
    assert response.json()["status"] == "needs_review", response.text
    return response.json()["id"], citizen


async def _materials_requested(client, tokens):
    application_id, citizen = await _in_review(client, tokens)
    response = await client.post(f"/v1/applications/{application_id}/decision", headers=tokens.clerk(), json=REQUEST)
    assert response.status_code == 200, response.text
    return application_id, citizen


async def test_the_whole_loop_review_request_materials_upload_redecided_issued(client, tokens):
    application_id, citizen = await _in_review(client, tokens)
    clerk = tokens.clerk()

    listed = (await client.get(f"/v1/applications/{application_id}/materials", headers=clerk)).json()["items"]
    assert len(listed) == 1 and listed[0]["media_type"] == "application/pdf" and listed[0]["size"] == len(PDF_PROOF)
    proof = await client.get(f"/v1/applications/{application_id}/materials/{listed[0]['id']}", headers=clerk)
    assert proof.status_code == 200 and proof.content == PDF_PROOF

    asked = await client.post(f"/v1/applications/{application_id}/decision", headers=clerk, json=REQUEST)
    assert asked.json()["status"] == "needs_materials"
    assert asked.json()["decision"]["reason"] == REQUEST["reason"]
    assert [r["code"] for r in asked.json()["reasons"]] == ["MATERIALS_REQUESTED"]

    lease = await upload_proof(client, citizen, RENEWED_LEASE)
    supplied = await client.post(
        f"/v1/applications/{application_id}/materials", headers=citizen, json={"material_ids": [lease]}
    )
    assert supplied.status_code == 200, supplied.text
    # Every check ran again: the housing bureau has not registered the renewal yet, so a clerk decides.
    assert supplied.json()["status"] == "needs_review"
    assert [r["code"] for r in supplied.json()["reasons"]] == ["NO_HOUSING_RECORD"]
    listed = (await client.get(f"/v1/applications/{application_id}/materials", headers=clerk)).json()["items"]
    assert [m["sha256"] for m in listed][1:] == [(await _material_sha(client, citizen, application_id, lease))]

    approved = await client.post(
        f"/v1/applications/{application_id}/decision",
        headers=clerk,
        json={"outcome": "approve", "reason": "续签租赁合同已核验"},
    )
    assert approved.json()["status"] == "issued" and approved.json()["certificate"]["status"] == "valid"
    history = (await client.get(f"/v1/applications/{application_id}", headers=citizen)).json()
    assert history["status"] == "issued"


async def _material_sha(client, citizen, application_id, material_id):
    response = await client.get(f"/v1/applications/{application_id}/materials/{material_id}", headers=citizen)
    assert response.status_code == 200
    return hashlib.sha256(response.content).hexdigest()


async def test_a_material_is_served_so_that_no_browser_renders_it(client, tokens):
    application_id, citizen = await _in_review(client, tokens)
    material = (await client.get(f"/v1/applications/{application_id}/materials", headers=citizen)).json()["items"][0]
    response = await client.get(f"/v1/applications/{application_id}/materials/{material['id']}", headers=citizen)
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "sandbox"


async def test_a_clerk_opening_a_material_is_in_the_citizens_data_access_view(client, tokens):
    application_id, citizen = await _in_review(client, tokens)
    material = (await client.get(f"/v1/applications/{application_id}/materials", headers=citizen)).json()["items"][0]
    await client.get(
        f"/v1/applications/{application_id}/materials/{material['id']}", headers=tokens.clerk(sub="clerk-reader")
    )
    seen = (await client.get("/v1/me/data-access", headers=citizen, params={"limit": 100})).json()["items"]
    reads = [e for e in seen if e["action"] == "application.material.read"]
    assert len(reads) == 1 and reads[0]["by_role"] == "clerk" and reads[0]["application_id"] == application_id


async def test_materials_are_not_for_auditors_nor_for_other_citizens(client, tokens):
    application_id, citizen = await _in_review(client, tokens)
    material = (await client.get(f"/v1/applications/{application_id}/materials", headers=citizen)).json()["items"][0]
    path = f"/v1/applications/{application_id}/materials"
    assert (await client.get(path, headers=tokens.auditor())).status_code == 403
    assert (await client.get(f"{path}/{material['id']}", headers=tokens.auditor())).status_code == 403
    other = tokens.citizen(*LI_NA[:2])
    assert (await client.get(path, headers=other)).json()["code"] == "APPLICATION_NOT_FOUND"
    assert (await client.get(f"{path}/{material['id']}", headers=other)).status_code == 404


async def test_a_material_not_attached_to_the_application_is_not_found(client, tokens):
    application_id, citizen = await _in_review(client, tokens)
    unattached = await upload_proof(client, citizen)
    response = await client.get(f"/v1/applications/{application_id}/materials/{unattached}", headers=tokens.clerk())
    assert response.status_code == 404 and response.json()["code"] == "ATTACHED_MATERIAL_NOT_FOUND"


async def test_materials_are_supplied_only_on_needs_materials(client, tokens):
    application_id, citizen = await _in_review(client, tokens)
    lease = await upload_proof(client, citizen, RENEWED_LEASE)
    response = await client.post(
        f"/v1/applications/{application_id}/materials", headers=citizen, json={"material_ids": [lease]}
    )
    assert response.status_code == 409 and response.json()["code"] == "INVALID_TRANSITION"


async def test_only_the_applicant_supplies_materials_and_only_their_own(client, tokens):
    application_id, citizen = await _materials_requested(client, tokens)
    someone_elses = await upload_proof(client, tokens.citizen(*LI_NA[:2]))
    response = await client.post(
        f"/v1/applications/{application_id}/materials", headers=citizen, json={"material_ids": [someone_elses]}
    )
    assert response.status_code == 422 and response.json()["code"] == "MATERIAL_NOT_FOUND"
    assert response.json()["errors"][0]["loc"] == ["body", "material_ids", "0"]
    clerk = await client.post(
        f"/v1/applications/{application_id}/materials", headers=tokens.clerk(), json={"material_ids": [someone_elses]}
    )
    assert clerk.status_code == 403


async def test_a_case_waiting_for_materials_may_be_withdrawn(client, tokens):
    application_id, citizen = await _materials_requested(client, tokens)
    response = await client.post(f"/v1/applications/{application_id}/withdraw", headers=citizen)
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"


async def test_unanswered_request_is_rejected_once_after_the_wait_limit(client, tokens, collaborators):
    application_id, citizen = await _materials_requested(client, tokens)
    assert await collaborators.worker.process_due() == 0  # not yet
    later = datetime.now(UTC) + timedelta(seconds=collaborators.settings.materials_wait_limit + 60)
    tried = await asyncio.gather(*(collaborators.worker.process_due(now=later) for _ in range(3)))
    assert sum(tried) == 1  # exactly one worker rejected it
    body = (await client.get(f"/v1/applications/{application_id}", headers=citizen)).json()
    assert body["status"] == "rejected"
    assert [r["code"] for r in body["reasons"]] == ["MATERIALS_NOT_SUPPLIED"]
    assert body["reasons"][0]["message"]["zh"] and body["reasons"][0]["message"]["en"]
    async with collaborators.sessionmaker() as session:
        events = (
            await session.execute(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.application_id == application_id, AuditEvent.action == "application.rejected")
            )
        ).scalar_one()
    assert events == 1


async def test_a_case_escalated_while_an_agency_was_down_is_decided_on_evidence_after_a_recheck(
    client, tokens, collaborators
):
    citizen = tokens.citizen(*ZHANG_WEI[:2])
    collaborators.agencies.police_simulator.set_faults(down=True)
    filed = await file(client, citizen, no_criminal_record())
    assert filed.status_code == 202
    application_id = filed.json()["id"]
    await collaborators.worker.process_due(
        now=datetime.now(UTC) + timedelta(seconds=collaborators.settings.agency_wait_limit + 60)
    )
    escalated = (await client.get(f"/v1/applications/{application_id}", headers=citizen)).json()
    assert escalated["status"] == "needs_review" and escalated["reasons"][0]["code"] == "AGENCY_UNAVAILABLE"

    collaborators.agencies.police_simulator.reset()
    collaborators.agencies.reset_circuits()
    response = await client.post(f"/v1/applications/{application_id}/recheck", headers=tokens.clerk())
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "issued"
    assert {c["outcome"] for c in response.json()["checks"]} == {"pass"}
    assert all(c["evidence_sha256"] for c in response.json()["checks"])


async def test_a_recheck_while_the_agency_is_still_down_waits_again(client, tokens, collaborators):
    application_id, _ = await _in_review(client, tokens)
    collaborators.agencies.housing_simulator.set_faults(down=True)
    response = await client.post(f"/v1/applications/{application_id}/recheck", headers=tokens.clerk())
    assert response.status_code == 202 and response.json()["status"] == "pending_agency"


async def test_recheck_is_only_for_cases_in_review(client, tokens):
    citizen = tokens.citizen(*ZHANG_WEI[:2])
    issued = (await file(client, citizen, no_criminal_record())).json()
    response = await client.post(f"/v1/applications/{issued['id']}/recheck", headers=tokens.clerk())
    assert response.status_code == 409 and response.json()["code"] == "INVALID_TRANSITION"
    assert (await client.post(f"/v1/applications/{issued['id']}/recheck", headers=citizen)).status_code == 403


async def test_a_clerk_may_not_recheck_or_request_materials_on_a_case_they_filed(client, tokens):
    clerk = tokens.clerk(sub="clerk-filer")
    material = await upload_proof(client, clerk)
    filed = await file(
        client,
        clerk,
        {**residence_permit(WANG_FANG[2], [material]), "applicant": {"id_number": WANG_FANG[0], "name": WANG_FANG[1]}},
    )
    application_id = filed.json()["id"]
    assert filed.json()["status"] == "needs_review"
    for path, body in (("recheck", None), ("decision", REQUEST)):
        response = await client.post(f"/v1/applications/{application_id}/{path}", headers=clerk, json=body)
        assert response.status_code == 403 and response.json()["code"] == "SEPARATION_OF_DUTIES"
    other = await client.post(
        f"/v1/applications/{application_id}/decision", headers=tokens.clerk(sub="clerk-2"), json=REQUEST
    )
    assert other.status_code == 200 and other.json()["status"] == "needs_materials"


# -- search ----------------------------------------------------------------------------------------


async def test_staff_find_a_persons_applications_by_id_number(client, tokens):
    mine = (await file(client, tokens.citizen(*ZHANG_WEI[:2]), no_criminal_record())).json()
    await file(client, tokens.citizen(*LI_NA[:2]), no_criminal_record())
    for staff in (tokens.clerk(), tokens.auditor()):
        found = (await client.get("/v1/applications", headers=staff, params={"id_number": ZHANG_WEI[0]})).json()
        assert [a["id"] for a in found["items"]] == [mine["id"]]


async def test_staff_find_the_application_holding_a_certificate(client, tokens):
    issued = (await file(client, tokens.citizen(*ZHANG_WEI[:2]), no_criminal_record())).json()
    await file(client, tokens.citizen(*LI_NA[:2]), no_criminal_record())
    serial, code = issued["certificate"]["serial"], issued["certificate"]["verification_code"]
    typed = code.replace("-", "").lower()  # as someone types it off the paper
    for params in (
        {"serial": serial},
        {"verification_code": code},
        {"verification_code": typed},
        {"serial": serial, "verification_code": code},
    ):
        found = (await client.get("/v1/applications", headers=tokens.clerk(), params=params)).json()
        assert [a["id"] for a in found["items"]] == [issued["id"]], params
    nothing = await client.get("/v1/applications", headers=tokens.clerk(), params={"serial": "JZZ-2026-99999999"})
    assert nothing.json()["items"] == []


async def test_citizens_may_not_search(client, tokens):
    response = await client.get(
        "/v1/applications", headers=tokens.citizen(*ZHANG_WEI[:2]), params={"id_number": LI_NA[0]}
    )
    assert response.status_code == 403 and response.json()["code"] == "SEARCH_NOT_ALLOWED"


async def test_search_by_an_invalid_id_number_is_refused(client, tokens):
    response = await client.get("/v1/applications", headers=tokens.clerk(), params={"id_number": "330106198803120151"})
    assert response.status_code == 422


async def test_an_unknown_query_parameter_is_refused_not_ignored(client, tokens):
    for path in ("/v1/applications", "/v1/review-queue"):
        response = await client.get(path, headers=tokens.clerk(), params={"id_numbr": ZHANG_WEI[0]})
        assert response.status_code == 422, path
        assert response.json()["code"] == "UNKNOWN_PARAMETER"
        assert ZHANG_WEI[0] not in response.text
    echoed = await client.get("/v1/applications", headers=tokens.clerk(), params={ZHANG_WEI[0]: "1"})
    assert echoed.status_code == 422 and ZHANG_WEI[0] not in echoed.text


# -- duplicates ------------------------------------------------------------------------------------


async def test_a_second_filing_while_one_is_open_is_a_duplicate(client, tokens):
    application_id, citizen = await _in_review(client, tokens)
    again = await file_residence_permit(client, citizen, WANG_FANG[2])
    assert again.status_code == 409
    assert again.json()["code"] == "DUPLICATE_APPLICATION" and again.json()["application_id"] == application_id
    other_service = await file(client, citizen, no_criminal_record())
    assert other_service.status_code == 201


async def test_a_retry_with_the_same_idempotency_key_still_gets_the_first_answer(client, tokens):
    citizen = tokens.citizen(*WANG_FANG[:2])
    material = await upload_proof(client, citizen)
    headers = {**citizen, "Idempotency-Key": "review-1"}
    first = await file(client, headers, residence_permit(WANG_FANG[2], [material]))
    again = await file(client, headers, residence_permit(WANG_FANG[2], [material]))
    assert first.status_code == again.status_code == 201 and again.json()["id"] == first.json()["id"]


async def test_a_residence_permit_while_holding_a_valid_one_is_refused(client, tokens):
    citizen = tokens.citizen(*ZHANG_WEI[:2])
    first = await file_residence_permit(client, citizen, ZHANG_WEI[2])
    assert first.json()["status"] == "issued"
    again = await file_residence_permit(client, citizen, ZHANG_WEI[2])
    assert again.status_code == 409 and again.json()["code"] == "CERTIFICATE_STILL_VALID"
    assert again.json()["serial"] == first.json()["certificate"]["serial"]
    # Other certificates may be held several times (a no-criminal-record certificate per employer).
    assert (await file(client, citizen, no_criminal_record())).status_code == 201
    assert (await file(client, citizen, no_criminal_record())).status_code == 201


async def test_two_concurrent_filings_of_a_waiting_case_one_proceeds_one_is_a_duplicate(client, tokens, collaborators):
    citizen = tokens.citizen(*SHEN_GUOQIANG)
    collaborators.agencies.police_simulator.set_faults(down=True)
    first, second = await asyncio.gather(
        file(client, citizen, no_criminal_record()), file(client, citizen, no_criminal_record())
    )
    assert sorted([first.status_code, second.status_code]) == [202, 409]
    loser, winner = (first, second) if first.status_code == 409 else (second, first)
    assert loser.json()["code"] == "DUPLICATE_APPLICATION" and loser.json()["application_id"] == winner.json()["id"]


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL serialises a person's filings; SQLite has one writer")
async def test_two_concurrent_residence_permit_filings_issue_one_permit(client, tokens):
    citizen = tokens.citizen(*ZHANG_WEI[:2])
    materials = [await upload_proof(client, citizen) for _ in range(2)]
    first, second = await asyncio.gather(
        *(file(client, citizen, residence_permit(ZHANG_WEI[2], [m])) for m in materials)
    )
    assert sorted([first.status_code, second.status_code]) == [201, 409]
    loser = first if first.status_code == 409 else second
    assert loser.json()["code"] == "CERTIFICATE_STILL_VALID"


def test_the_open_case_index_covers_exactly_the_open_statuses():
    [index] = [i for i in Application.__table__.indexes if i.name == "uq_applications_open_per_service"]
    for dialect in ("postgresql", "sqlite"):
        where = str(index.dialect_options[dialect]["where"])
        assert set(re.findall(r"'(\w+)'", where)) == {s.value for s in OPEN}, where
