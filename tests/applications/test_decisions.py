"""Every demo person × every service that decides on the agencies alone reaches the decision its rules
imply (docs/api.md#lifecycle-and-decisions, #eight-services; one row per reason code). Renewals and changes of
address: test_permits.py."""

from __future__ import annotations

import pytest

from integrations.datasets.demo import CASES
from tests.builders import (
    file,
    household_registration,
    kinship,
    no_criminal_record,
    residence_permit,
    residence_registration,
    temporary_identity,
    upload_proof,
)

SERVICES = {
    "residence-permit": "residence_permit",
    "no-criminal-record-certificate": "no_criminal_record",
    "household-registration-certificate": "household_registration",
    "residence-registration": "residence_registration",
    "kinship-certificate": "kinship",
    "temporary-identity-certificate": "temporary_identity",
}
ANY_ADDRESS = "上海市黄浦区人民大道200号1号楼101室"


def _expected(text: str) -> tuple[str, list[str]]:
    status, _, codes = text.partition(":")
    return status.strip(), [c.strip() for c in codes.split(",") if c.strip()]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.id_number}-{c.name}")
@pytest.mark.parametrize("service", list(SERVICES))
async def test_demo_person_gets_the_decision_the_dataset_implies(client, tokens, case, service):
    headers = tokens.citizen(case.id_number, case.file_as or case.name)
    if service in ("residence-permit", "residence-registration"):
        material = await upload_proof(client, headers)
        build = residence_permit if service == "residence-permit" else residence_registration
        body = build(case.address or ANY_ADDRESS, [material])
    elif service == "no-criminal-record-certificate":
        body = no_criminal_record()
    elif service == "household-registration-certificate":
        body = household_registration()
    elif service == "kinship-certificate":
        assert case.relative is not None
        body = kinship(case.relative)
    else:
        body = temporary_identity("card_lost")

    response = await file(client, headers, body)

    status, codes = _expected(getattr(case, SERVICES[service]))
    assert response.status_code == 201, response.text
    application = response.json()
    assert application["status"] == status, application
    assert sorted(r["code"] for r in application["reasons"]) == sorted(codes)
    for reason in application["reasons"]:
        assert reason["message"]["zh"] and reason["message"]["en"]
    for check in application["checks"]:
        assert check["outcome"] in ("pass", "fail", "unavailable")
        assert check["detail"]["zh"] and check["detail"]["en"]
        if check["outcome"] != "unavailable":
            assert len(check["evidence_sha256"]) == 64
    assert (application["certificate"] is not None) == (status == "issued")
    assert application["channel"] == "online"
