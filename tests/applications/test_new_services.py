"""What the five newer services (docs/api.md#eight-services) add beyond their decisions (test_decisions.py,
test_permits.py): the catalogue, refusals at filing, whose data a kinship certificate consults, documents and
validity."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pypdf

from app.clock import SHANGHAI, shanghai_today
from integrations.datasets.demo import NOT_IN_DATASET
from tests.builders import SHEN_GUOQIANG, ZHANG_WEI, file, kinship, temporary_identity

SHEN_HAO = ("31010119930610057X", "沈浩")
EIGHT = {
    "residence-permit",
    "no-criminal-record-certificate",
    "household-registration-certificate",
    "residence-registration",
    "residence-permit-renewal",
    "residence-permit-address-change",
    "kinship-certificate",
    "temporary-identity-certificate",
}


async def test_the_catalogue_lists_eight_services_each_with_its_details_and_validity(client):
    every = (await client.get("/v1/services")).json()["items"]
    items = [s for s in every if s["processing_mode"] != "window"]
    assert {s["code"] for s in items} == EIGHT
    for service in items:
        assert service["name"]["zh"] and service["name"]["en"]
        assert service["validity"]["zh"] and service["validity"]["en"]
        assert service["details_schema"]["properties"]
    by_code = {s["code"]: s for s in items}
    assert by_code["temporary-identity-certificate"]["validity_months"] is None
    assert set(by_code["residence-permit-renewal"]["details_schema"]["properties"]) == {"certificate_serial"}
    assert set(by_code["kinship-certificate"]["details_schema"]["properties"]) == {"relative_id_number", "purpose"}


async def test_kinship_about_oneself_is_refused_at_filing(client, tokens):
    response = await file(client, tokens.citizen(*SHEN_GUOQIANG), kinship(SHEN_GUOQIANG[0]))
    assert response.status_code == 422
    assert response.json()["code"] == "RELATIVE_IS_APPLICANT"
    assert response.json()["errors"][0]["loc"] == ["body", "details", "relative_id_number"]


async def test_kinship_details_are_validated(client, tokens):
    bad_number = await file(client, tokens.citizen(*SHEN_GUOQIANG), kinship("310101196508150310"))
    assert bad_number.status_code == 422 and bad_number.json()["code"] == "INVALID_DETAILS"
    bad_reason = await file(client, tokens.citizen(*SHEN_GUOQIANG), temporary_identity("bored"))
    assert bad_reason.status_code == 422 and bad_reason.json()["code"] == "INVALID_DETAILS"


async def test_the_relatives_record_is_their_data_and_consulted_only_when_it_can_matter(client, tokens):
    issued = (await file(client, tokens.citizen(*SHEN_GUOQIANG), kinship(SHEN_HAO[0]))).json()
    assert issued["status"] == "issued"
    facts = dict(
        (
            await client.get(
                f"/v1/certificates/{issued['certificate']['serial']}", headers=tokens.citizen(*SHEN_GUOQIANG)
            )
        ).json()["facts"]
    )
    assert facts["亲属关系"] == "沈浩系申请人之子"
    assert SHEN_HAO[0] not in str(facts)  # the relative's number is masked like the holder's

    hao_sees = (await client.get("/v1/me/data-access", headers=tokens.citizen(*SHEN_HAO))).json()["items"]
    assert [(i["kind"], i["dataset"], i["application_id"]) for i in hao_sees] == [
        ("agency_call", "population.person", issued["id"])
    ]
    # 张伟's hukou is not in Shanghai: rejected before anyone else's record is read.
    rejected = (await file(client, tokens.citizen(*ZHANG_WEI[:2]), kinship(SHEN_HAO[0]))).json()
    assert [r["code"] for r in rejected["reasons"]] == ["NOT_LOCAL_HUKOU"]
    assert len((await client.get("/v1/me/data-access", headers=tokens.citizen(*SHEN_HAO))).json()["items"]) == 1


async def test_kinship_about_an_unknown_number_is_rejected_and_states_nothing(client, tokens):
    response = (await file(client, tokens.citizen(*SHEN_GUOQIANG), kinship(NOT_IN_DATASET))).json()
    assert response["status"] == "rejected"
    assert [r["code"] for r in response["reasons"]] == ["RELATIVE_NOT_FOUND"]


async def test_temporary_identity_certificate_is_valid_30_days_and_states_the_registry(client, tokens):
    citizen = tokens.citizen(*ZHANG_WEI[:2])
    application = (await file(client, citizen, temporary_identity("travel"))).json()
    assert application["status"] == "issued"
    certificate = application["certificate"]
    last_day = datetime.fromisoformat(certificate["expires_at"]).astimezone(SHANGHAI).date()
    assert last_day == shanghai_today() + timedelta(days=30)
    pdf = (await client.get(f"/v1/certificates/{certificate['serial']}/pdf", headers=citizen)).content
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for stated in ("临时身份证明", "浙江省杭州市西湖区文三路88号", "1988-03-12", "出行"):
        assert stated in text, stated
    assert certificate["serial"].startswith("LSZ-")


async def test_a_window_filing_of_a_new_service_belongs_to_the_citizen(client, tokens):
    clerk = tokens.clerk()
    response = await file(
        client, clerk, {**kinship(SHEN_HAO[0]), "applicant": {"id_number": SHEN_GUOQIANG[0], "name": SHEN_GUOQIANG[1]}}
    )
    assert response.status_code == 201 and response.json()["status"] == "issued"
    assert response.json()["channel"] == "window"
    mine = (await client.get("/v1/applications", headers=tokens.citizen(*SHEN_GUOQIANG))).json()["items"]
    assert [a["id"] for a in mine] == [response.json()["id"]]


async def test_a_kinship_approved_across_households_does_not_claim_one_household(client, tokens):
    wu = ("310107197511200333", "吴建国")
    review = (await file(client, tokens.citizen(*wu), kinship(SHEN_GUOQIANG[0]))).json()
    assert review["status"] == "needs_review"
    assert [r["code"] for r in review["reasons"]] == ["NOT_SAME_HOUSEHOLD"]

    approved = await client.post(
        f"/v1/applications/{review['id']}/decision",
        headers=tokens.clerk(),
        json={"outcome": "approve", "reason": "核验结婚证原件"},
    )

    assert approved.status_code == 200 and approved.json()["status"] == "issued"
    serial = approved.json()["certificate"]["serial"]
    facts = dict((await client.get(f"/v1/certificates/{serial}", headers=tokens.citizen(*wu))).json()["facts"])
    assert facts["亲属关系"] == "分属不同户，经窗口人工核实"
    pdf = (await client.get(f"/v1/certificates/{serial}/pdf", headers=tokens.citizen(*wu))).content
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "同户家庭成员" not in text and "人工核实" in text
