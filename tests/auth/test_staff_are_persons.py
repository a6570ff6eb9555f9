"""Staff are persons, not accounts (docs/api.md#staff-are-persons; issue 26): the red team's reproductions, over HTTP.

A clerk token without an id number approved its holder's own case (何刚, a criminal record, his own
no-criminal-record certificate: 200 issued) and revoked its holder's own certificate (张伟); a window
filing by one account was decided by the same person's second clerk account. Separation of duties now
compares persons; in production a staff token must say whose it is, and in development such a token
may read but changes nothing.
"""

from __future__ import annotations

import pytest

from app.config import Environment
from tests.builders import (
    LI_NA,
    WU_JIANGUO,
    ZHANG_WEI,
    file,
    no_criminal_record,
    staff_id_number,
)

HE_GANG = ("500103198207070778", "何刚")  # a criminal record: his certificate goes to review
APPROVE = {"outcome": "approve", "reason": "核查无误"}


def _clerk_without_id_number(tokens, sub: str) -> dict[str, str]:
    return tokens.header(tokens.mint(roles=["clerk"], sub=sub, name="窗口民警", station_id="310105-HQLB"))


def _refused(response, code: str) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["code"] == code
    assert response.headers["content-type"].startswith("application/problem+json")


async def _status(client, tokens, application_id: str) -> str:
    response = await client.get(f"/v1/applications/{application_id}", headers=tokens.clerk(sub="clerk-reader"))
    return str(response.json()["status"])


async def test_a_clerk_token_without_id_number_cannot_approve_its_holders_own_case(client, tokens):
    review = (await file(client, tokens.citizen(*HE_GANG), no_criminal_record())).json()
    assert review["status"] == "needs_review"
    case = f"/v1/applications/{review['id']}"

    _refused(
        await client.post(f"{case}/decision", headers=_clerk_without_id_number(tokens, "he-gang-clerk"), json=APPROVE),
        "STAFF_IDENTITY_REQUIRED",
    )
    _refused(
        await client.post(f"{case}/recheck", headers=_clerk_without_id_number(tokens, "he-gang-clerk")),
        "STAFF_IDENTITY_REQUIRED",
    )
    his_own = tokens.clerk(sub="he-gang-clerk", id_number=HE_GANG[0])
    _refused(await client.post(f"{case}/decision", headers=his_own, json=APPROVE), "SEPARATION_OF_DUTIES")
    assert await _status(client, tokens, review["id"]) == "needs_review"
    assert (
        await client.post(f"{case}/decision", headers=tokens.clerk(sub="another-clerk"), json=APPROVE)
    ).status_code == 200


async def test_a_clerk_token_without_id_number_cannot_revoke_its_holders_own_certificate(client, tokens):
    issued = (await file(client, tokens.citizen(*ZHANG_WEI[:2]), no_criminal_record())).json()
    serial = issued["certificate"]["serial"]
    revoke = f"/v1/certificates/{serial}/revoke"
    body = {"reason_code": "DATA_CORRECTED", "reason": "信息有误"}

    _refused(
        await client.post(revoke, headers=_clerk_without_id_number(tokens, "zhang-wei-clerk"), json=body),
        "STAFF_IDENTITY_REQUIRED",
    )
    _refused(
        await client.post(revoke, headers=tokens.clerk(sub="zhang-wei-clerk", id_number=ZHANG_WEI[0]), json=body),
        "SEPARATION_OF_DUTIES",
    )
    verified = (await client.get(f"/v1/verify/{issued['certificate']['verification_code']}")).json()
    assert verified["status"] == "valid"


async def test_a_second_account_of_the_filing_clerk_is_refused_like_the_first(client, tokens):
    person = staff_id_number("clerk-window")
    window = {**no_criminal_record(), "applicant": {"id_number": WU_JIANGUO[0], "name": WU_JIANGUO[1]}}
    review = (await file(client, tokens.clerk(sub="clerk-window", id_number=person), window)).json()
    assert review["status"] == "needs_review" and review["channel"] == "window"
    case = f"/v1/applications/{review['id']}"
    second_account = tokens.clerk("310106-JAS", sub="clerk-window-2", id_number=person)

    _refused(await client.post(f"{case}/decision", headers=second_account, json=APPROVE), "SEPARATION_OF_DUTIES")
    _refused(await client.post(f"{case}/recheck", headers=second_account), "SEPARATION_OF_DUTIES")
    asked = {"outcome": "request_materials", "reason": "请补充材料"}
    _refused(await client.post(f"{case}/decision", headers=second_account, json=asked), "SEPARATION_OF_DUTIES")
    assert await _status(client, tokens, review["id"]) == "needs_review"
    approved = await client.post(f"{case}/decision", headers=tokens.clerk(sub="clerk-other"), json=APPROVE)
    assert approved.status_code == 200 and approved.json()["status"] == "issued"
    serial = approved.json()["certificate"]["serial"]
    revoke = {"reason": "受理有误"}
    _refused(
        await client.post(f"/v1/certificates/{serial}/revoke", headers=second_account, json=revoke),
        "SEPARATION_OF_DUTIES",
    )


async def test_in_development_a_staff_token_without_id_number_reads_but_changes_nothing(client, tokens):
    clerk = _clerk_without_id_number(tokens, "anonymous-clerk")
    assert (await client.get("/v1/review-queue", headers=clerk)).status_code == 200
    window = {**no_criminal_record(), "applicant": {"id_number": LI_NA[0], "name": LI_NA[1]}}
    _refused(await file(client, clerk, window), "STAFF_IDENTITY_REQUIRED")
    assert (await client.get("/v1/applications", headers=tokens.clerk())).json()["items"] == []


@pytest.fixture
def production(collaborators, settings, monkeypatch):
    """The running service as production sees its callers (only the setting that decides it changes)."""
    monkeypatch.setattr(collaborators, "settings", settings.model_copy(update={"environment": Environment.production}))


@pytest.mark.usefixtures("production")
async def test_in_production_a_staff_token_without_id_number_is_refused_everywhere(client, tokens):
    clerk = _clerk_without_id_number(tokens, "anonymous-clerk")
    auditor = tokens.header(tokens.mint(roles=["auditor"], sub="anonymous-auditor", name="审计员"))
    for headers, path in ((clerk, "/v1/review-queue"), (clerk, "/v1/applications"), (auditor, "/v1/audit/verify")):
        _refused(await client.get(path, headers=headers), "STAFF_IDENTITY_REQUIRED")
    # An id number that is not a valid resident identity number names no person either.
    invalid = tokens.header(
        tokens.mint(roles=["clerk"], sub="c", name="窗口民警", station_id="310105-HQLB", id_number="310101198001010010")
    )
    _refused(await client.get("/v1/review-queue", headers=invalid), "STAFF_IDENTITY_REQUIRED")
    assert (await client.get("/v1/review-queue", headers=tokens.clerk())).status_code == 200
    assert (await client.get("/v1/applications", headers=tokens.citizen(*ZHANG_WEI[:2]))).status_code == 200
