"""Lifecycle transitions (docs/api.md#lifecycle-and-decisions) over HTTP: review decisions, withdrawal, window filing,
refusals."""

from __future__ import annotations

import asyncio

from tests.builders import (
    LI_NA,
    SHEN_GUOQIANG,
    WANG_FANG,
    WU_JIANGUO,
    ZHANG_WEI,
    file,
    file_residence_permit,
    household_registration,
    no_criminal_record,
    residence_permit,
    upload_proof,
)


async def _needs_review(client, tokens):
    headers = tokens.citizen(*WANG_FANG[:2])
    response = await file_residence_permit(client, headers, WANG_FANG[2])
    assert response.json()["status"] == "needs_review"
    return response.json()["id"], headers


async def test_clerk_approves_a_case_in_review_and_the_certificate_is_issued(client, tokens):
    application_id, citizen = await _needs_review(client, tokens)
    queue = (await client.get("/v1/review-queue", headers=tokens.clerk())).json()
    assert [a["id"] for a in queue["items"]] == [application_id]

    response = await client.post(
        f"/v1/applications/{application_id}/decision",
        headers=tokens.clerk(),
        json={"outcome": "approve", "reason": "租赁合同原件已核验"},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "issued"
    assert body["decision"]["by"] == "clerk" and body["decision"]["station_id"] == "310105-HQLB"
    assert body["certificate"]["status"] == "valid"
    mine = (await client.get(f"/v1/applications/{application_id}", headers=citizen)).json()
    assert mine["certificate"]["serial"] == body["certificate"]["serial"]
    assert (await client.get("/v1/review-queue", headers=tokens.clerk())).json()["items"] == []


async def test_clerk_rejects_a_case_in_review_with_a_reason(client, tokens):
    application_id, _ = await _needs_review(client, tokens)
    response = await client.post(
        f"/v1/applications/{application_id}/decision",
        headers=tokens.clerk(),
        json={"outcome": "reject", "reason": "无法提供租赁证明"},
    )
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert response.json()["decision"]["reason"] == "无法提供租赁证明"
    assert response.json()["certificate"] is None


async def test_deciding_twice_is_a_conflict(client, tokens):
    application_id, _ = await _needs_review(client, tokens)
    decide = {"outcome": "reject", "reason": "材料不全"}
    assert (
        await client.post(f"/v1/applications/{application_id}/decision", headers=tokens.clerk(), json=decide)
    ).status_code == 200
    second = await client.post(f"/v1/applications/{application_id}/decision", headers=tokens.clerk(), json=decide)
    assert second.status_code == 409
    assert second.json()["code"] == "INVALID_TRANSITION"
    assert second.headers["content-type"].startswith("application/problem+json")


async def test_two_clerks_deciding_at_once_one_wins(client, tokens):
    application_id, _ = await _needs_review(client, tokens)
    first, second = await asyncio.gather(
        client.post(
            f"/v1/applications/{application_id}/decision",
            headers=tokens.clerk(sub="clerk-a"),
            json={"outcome": "approve", "reason": "核验通过"},
        ),
        client.post(
            f"/v1/applications/{application_id}/decision",
            headers=tokens.clerk(sub="clerk-b"),
            json={"outcome": "reject", "reason": "材料不全"},
        ),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    final = (await client.get(f"/v1/applications/{application_id}", headers=tokens.clerk())).json()
    winner = first if first.status_code == 200 else second
    assert final["status"] == winner.json()["status"]


async def test_a_decided_application_cannot_be_decided_by_a_clerk(client, tokens):
    headers = tokens.citizen(*ZHANG_WEI[:2])
    issued = (await file_residence_permit(client, headers, ZHANG_WEI[2])).json()
    response = await client.post(
        f"/v1/applications/{issued['id']}/decision", headers=tokens.clerk(), json={"outcome": "reject", "reason": "x"}
    )
    assert response.status_code == 409


async def test_withdrawal_before_a_decision_then_a_second_withdrawal_conflicts(client, tokens):
    application_id, citizen = await _needs_review(client, tokens)
    response = await client.post(f"/v1/applications/{application_id}/withdraw", headers=citizen)
    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"
    again = await client.post(f"/v1/applications/{application_id}/withdraw", headers=citizen)
    assert again.status_code == 409 and again.json()["code"] == "INVALID_TRANSITION"


async def test_withdrawing_an_issued_application_conflicts(client, tokens):
    headers = tokens.citizen(*ZHANG_WEI[:2])
    issued = (await file(client, headers, no_criminal_record())).json()
    assert issued["status"] == "issued"
    response = await client.post(f"/v1/applications/{issued['id']}/withdraw", headers=headers)
    assert response.status_code == 409


async def test_clerk_files_at_the_window_and_the_citizen_sees_it_in_their_list(client, tokens):
    clerk = tokens.clerk("310101-NJDL")
    response = await file(
        client,
        clerk,
        {**household_registration(), "applicant": {"id_number": SHEN_GUOQIANG[0], "name": SHEN_GUOQIANG[1]}},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["channel"] == "window" and body["station_id"] == "310101-NJDL" and body["status"] == "issued"
    mine = (await client.get("/v1/applications", headers=tokens.citizen(*SHEN_GUOQIANG))).json()
    assert [a["id"] for a in mine["items"]] == [body["id"]]


async def test_clerk_must_name_the_applicant_and_citizens_must_not(client, tokens):
    clerk_response = await file(client, tokens.clerk(), no_criminal_record())
    assert clerk_response.status_code == 422 and clerk_response.json()["code"] == "APPLICANT_REQUIRED"
    citizen_response = await file(
        client,
        tokens.citizen(*ZHANG_WEI[:2]),
        {**no_criminal_record(), "applicant": {"id_number": LI_NA[0], "name": LI_NA[1]}},
    )
    assert citizen_response.status_code == 422 and citizen_response.json()["code"] == "APPLICANT_NOT_ALLOWED"


async def test_window_applicant_id_number_is_validated(client, tokens):
    response = await file(
        client,
        tokens.clerk(),
        {**no_criminal_record(), "applicant": {"id_number": "330106198803120151", "name": "张伟"}},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_FAILED"
    assert "330106198803120151" not in response.text  # never echoed back


async def test_a_citizen_cannot_see_or_withdraw_anothers_application(client, tokens):
    application_id, _ = await _needs_review(client, tokens)
    stranger = tokens.citizen(*LI_NA[:2])
    for response in (
        await client.get(f"/v1/applications/{application_id}", headers=stranger),
        await client.post(f"/v1/applications/{application_id}/withdraw", headers=stranger),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "APPLICATION_NOT_FOUND"
    assert (await client.get("/v1/applications", headers=stranger)).json()["items"] == []


async def test_a_citizen_cannot_use_anothers_material(client, tokens):
    owner = tokens.citizen(*WANG_FANG[:2])
    material = await upload_proof(client, owner)
    response = await file(client, tokens.citizen(*ZHANG_WEI[:2]), residence_permit(ZHANG_WEI[2], [material]))
    assert response.status_code == 422
    assert response.json()["code"] == "MATERIAL_NOT_FOUND"


async def test_unknown_service_and_bad_details_are_clear_errors(client, tokens):
    headers = tokens.citizen(*ZHANG_WEI[:2])
    unknown = await file(client, headers, {"service": "passport", "details": {}})
    assert unknown.status_code == 422 and unknown.json()["code"] == "UNKNOWN_SERVICE"
    missing_note = await file(client, headers, no_criminal_record("other"))
    assert missing_note.status_code == 422 and missing_note.json()["code"] == "INVALID_DETAILS"
    no_materials = await file(client, headers, residence_permit(ZHANG_WEI[2], []))
    assert no_materials.status_code == 422
    assert no_materials.json()["errors"][0]["loc"][:3] == ["body", "details", "material_ids"]


async def test_auditors_read_but_cannot_file_decide_or_withdraw(client, tokens):
    application_id, _ = await _needs_review(client, tokens)
    auditor = tokens.auditor()
    assert (await client.get(f"/v1/applications/{application_id}", headers=auditor)).status_code == 200
    assert (await client.get("/v1/review-queue", headers=auditor)).status_code == 200
    assert (await file(client, auditor, no_criminal_record())).status_code == 403
    assert (await client.post(f"/v1/applications/{application_id}/withdraw", headers=auditor)).status_code == 403
    decision = await client.post(
        f"/v1/applications/{application_id}/decision", headers=auditor, json={"outcome": "approve", "reason": "x"}
    )
    assert decision.status_code == 403 and decision.json()["code"] == "FORBIDDEN"


async def test_criminal_record_goes_to_review(client, tokens):
    response = await file(client, tokens.citizen(*WU_JIANGUO), no_criminal_record())
    assert response.json()["status"] == "needs_review"
    assert [r["code"] for r in response.json()["reasons"]] == ["CRIMINAL_RECORD_FOUND"]


async def test_list_filters_and_cursor_pagination(client, tokens):
    headers = tokens.citizen(*ZHANG_WEI[:2])
    ids = [(await file(client, headers, no_criminal_record())).json()["id"] for _ in range(3)]
    page1 = (await client.get("/v1/applications?limit=2", headers=headers)).json()
    page2 = (await client.get(f"/v1/applications?limit=2&cursor={page1['next_cursor']}", headers=headers)).json()
    assert [a["id"] for a in page1["items"] + page2["items"]] == list(reversed(ids))
    assert page2["next_cursor"] is None
    assert (await client.get("/v1/applications?status=rejected", headers=headers)).json()["items"] == []
    bad = await client.get("/v1/applications?cursor=garbage", headers=headers)
    assert bad.status_code == 422 and bad.json()["code"] == "INVALID_CURSOR"
