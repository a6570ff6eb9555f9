"""Renewals and changes of address of a residence permit
(docs/api.md#duplicates-renewal-and-re-issue, #eight-services), over HTTP, on the demo dataset's permit table: every
decision, what the new permit's expiry is, and the old one superseded."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from app.catalogue.calendar import add_months
from app.certificates.models import Certificate
from app.clock import SHANGHAI, shanghai_today
from integrations.datasets.demo import PERMIT_CASES, PermitCase
from tests.builders import (
    ZHANG_WEI,
    address_change,
    file,
    no_criminal_record,
    renewal,
    residence_permit,
    upload_proof,
)


async def set_expiry(collaborators, serial: str, last_day: date) -> None:
    """Our own records are the only way to age a certificate: no clock is injected into the service."""
    end_of_day = datetime.combine(last_day, datetime.max.time(), SHANGHAI).replace(microsecond=0)
    async with collaborators.engine.begin() as conn:
        await conn.execute(update(Certificate).where(Certificate.serial == serial).values(expires_at=end_of_day))


async def obtain_permit(client, tokens, holder: tuple[str, str], address: str) -> dict:
    """A residence permit through the API; a clerk approves it when it goes to review."""
    headers = tokens.citizen(*holder)
    material = await upload_proof(client, headers)
    response = await file(client, headers, residence_permit(address, [material]))
    application = response.json()
    if application["status"] == "needs_review":
        response = await client.post(
            f"/v1/applications/{application['id']}/decision",
            headers=tokens.clerk(),
            json={"outcome": "approve", "reason": "原件已在窗口核验"},
        )
        application = response.json()
    assert application["status"] == "issued", application
    return application["certificate"]


async def arrange(client, tokens, collaborators, case: PermitCase) -> str:
    """The serial the filer will give, after what the case says became of the holder's permit."""
    holder = (case.holder, case.holder_name)
    permit = await obtain_permit(client, tokens, holder, case.permit_address)
    serial = permit["serial"]
    if case.state.startswith("expired-"):
        days = int(case.state.removeprefix("expired-").removesuffix("d"))
        await set_expiry(collaborators, serial, shanghai_today() - timedelta(days=days))
    elif case.state == "revoked":
        revoked = await client.post(
            f"/v1/certificates/{serial}/revoke", headers=tokens.clerk(), json={"reason": "证件信息有误"}
        )
        assert revoked.status_code == 200, revoked.text
    elif case.state == "superseded":
        first = await file(client, tokens.citizen(*holder), renewal(serial))
        assert first.json()["status"] == "issued", first.json()
    elif case.state == "unknown-serial":
        serial = "JZZ-2026-99999999"
    elif case.state == "not-a-permit":
        other = await file(client, tokens.citizen(*holder), no_criminal_record())
        serial = other.json()["certificate"]["serial"]
    else:
        assert case.state == "valid", case.state
    return serial


def _expected(text: str) -> tuple[str, list[str]]:
    status, _, codes = text.partition(":")
    return status.strip(), [c.strip() for c in codes.split(",") if c.strip()]


@pytest.mark.parametrize("case", PERMIT_CASES, ids=lambda c: f"{c.service}-{c.holder_name}-{c.state}-{c.purpose[:30]}")
async def test_permit_case_gets_the_decision_the_dataset_implies(client, tokens, collaborators, case: PermitCase):
    serial = await arrange(client, tokens, collaborators, case)
    old = (await client.get(f"/v1/certificates/{serial}", headers=tokens.clerk())).json()
    filer = tokens.citizen(case.filer or case.holder, case.file_as or case.filer_name or case.holder_name)
    if case.service == "residence-permit-renewal":
        body = renewal(serial.lower())  # serials are typed by people: case does not matter
    else:
        assert case.new_address is not None
        body = address_change(serial, case.new_address, [await upload_proof(client, filer)])

    response = await file(client, filer, body)

    status, codes = _expected(case.expected)
    if status == "409":  # refused at filing: nothing was filed
        assert response.status_code == 409 and [response.json()["code"]] == codes, response.text
        return
    assert response.status_code == 201, response.text
    application = response.json()
    assert application["status"] == status, application
    assert sorted(r["code"] for r in application["reasons"]) == sorted(codes)
    for reason in application["reasons"]:
        assert reason["message"]["zh"] and reason["message"]["en"]
    if "NO_VALID_PERMIT" in codes:
        # Nothing to renew or move: no agency was asked about anyone.
        assert [c["code"] for c in application["checks"]] == ["PERMIT"]
    if status != "issued":
        assert application["certificate"] is None
        return
    new = application["certificate"]
    assert new["serial"] != serial and new["serial"].startswith("JZZ-")
    old_last_day = datetime.fromisoformat(old["expires_at"]).astimezone(SHANGHAI).date()
    new_last_day = datetime.fromisoformat(new["expires_at"]).astimezone(SHANGHAI).date()
    if case.service == "residence-permit-renewal":
        assert new_last_day == add_months(old_last_day, 12)
    else:
        assert new_last_day == old_last_day
    assert new["status"] == "valid"
    verified = (await client.get(f"/v1/verify/{old['verification_code']}")).json()
    assert verified["status"] == "superseded"
    assert verified["superseded_by"] == new["serial"]


async def test_a_superseded_permit_is_no_longer_held(client, tokens, collaborators):
    """After a renewal only the new permit counts: renewing the old one again is refused, naming the new
    one (docs/api.md#one-valid-residence-permit), which can be moved."""
    permit = await obtain_permit(client, tokens, ZHANG_WEI[:2], ZHANG_WEI[2])
    citizen = tokens.citizen(*ZHANG_WEI[:2])
    renewed = (await file(client, citizen, renewal(permit["serial"]))).json()
    again = await file(client, citizen, renewal(permit["serial"]))
    assert again.status_code == 409 and again.json()["code"] == "CERTIFICATE_STILL_VALID"
    assert again.json()["serial"] == renewed["certificate"]["serial"]
    moved = await file(
        client,
        citizen,
        address_change(renewed["certificate"]["serial"], ZHANG_WEI[2], [await upload_proof(client, citizen)]),
    )
    assert moved.json()["status"] == "issued", moved.json()


async def test_a_residence_permit_while_holding_a_valid_one_is_refused(client, tokens, collaborators):
    permit = await obtain_permit(client, tokens, ZHANG_WEI[:2], ZHANG_WEI[2])
    citizen = tokens.citizen(*ZHANG_WEI[:2])
    material = await upload_proof(client, citizen)

    refused = await file(client, citizen, residence_permit(ZHANG_WEI[2], [material]))

    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "CERTIFICATE_STILL_VALID"
    listed = (await client.get("/v1/applications", headers=citizen)).json()["items"]
    assert len(listed) == 1  # the refusal filed nothing
    # A renewed permit is a residence permit too; an expired one no longer stands in the way.
    renewed = (await file(client, citizen, renewal(permit["serial"]))).json()
    assert (await file(client, citizen, residence_permit(ZHANG_WEI[2], [material]))).status_code == 409
    await set_expiry(collaborators, renewed["certificate"]["serial"], shanghai_today() - timedelta(days=1))
    assert (await file(client, citizen, residence_permit(ZHANG_WEI[2], [material]))).json()["status"] == "issued"


async def test_the_replaced_permits_application_still_shows_it_superseded(client, tokens, collaborators):
    permit = await obtain_permit(client, tokens, ZHANG_WEI[:2], ZHANG_WEI[2])
    citizen = tokens.citizen(*ZHANG_WEI[:2])
    renewed = (await file(client, citizen, renewal(permit["serial"]))).json()
    [first, *_] = [
        a
        for a in (await client.get("/v1/applications", headers=citizen)).json()["items"]
        if a["service"] == "residence-permit"
    ]
    assert first["certificate"]["serial"] == permit["serial"]
    assert first["certificate"]["status"] == "superseded"
    assert renewed["certificate"]["status"] == "valid"


async def test_approving_a_second_replacement_of_one_permit_is_a_conflict(client, tokens, collaborators):
    """Two cases in review both replace 王芳's permit: the first approval supersedes it; the second
    cannot (two valid successors), and stays in review for the clerk to reject."""
    wang = ("320102199107110642", "王芳")
    address = "上海市静安区延安中路1000号2号楼1502室"
    permit = await obtain_permit(client, tokens, wang, address)
    citizen = tokens.citizen(*wang)
    renewing = (await file(client, citizen, renewal(permit["serial"]))).json()
    moving = (
        await file(client, citizen, address_change(permit["serial"], address, [await upload_proof(client, citizen)]))
    ).json()
    assert renewing["status"] == moving["status"] == "needs_review"
    approve = {"outcome": "approve", "reason": "租赁合同已续签"}

    first = await client.post(f"/v1/applications/{renewing['id']}/decision", headers=tokens.clerk(), json=approve)
    second = await client.post(f"/v1/applications/{moving['id']}/decision", headers=tokens.clerk(), json=approve)

    assert first.status_code == 200 and first.json()["status"] == "issued"
    assert second.status_code == 409 and second.json()["code"] == "CERTIFICATE_SUPERSEDED"
    still = (await client.get(f"/v1/applications/{moving['id']}", headers=tokens.clerk())).json()
    assert still["status"] == "needs_review" and still["certificate"] is None
    verified = (await client.get(f"/v1/verify/{permit['verification_code']}")).json()
    assert verified["superseded_by"] == first.json()["certificate"]["serial"]


async def test_a_renewal_waiting_on_the_housing_bureau_is_renewed_once_it_answers(client, tokens, collaborators):
    """The permit is read from our records at once; the agencies' answers may come later (the worker)."""
    permit = await obtain_permit(client, tokens, ZHANG_WEI[:2], ZHANG_WEI[2])
    citizen = tokens.citizen(*ZHANG_WEI[:2])
    collaborators.agencies.housing_simulator.set_faults(down=True)

    response = await file(client, citizen, renewal(permit["serial"]))

    assert response.status_code == 202 and response.json()["status"] == "pending_agency"
    checks = {c["code"]: c["outcome"] for c in response.json()["checks"]}
    assert checks["PERMIT"] == "pass" and checks["HOUSING_RECORD"] == "unavailable"
    collaborators.agencies.housing_simulator.reset()
    await asyncio.sleep(0.3)  # the circuit's reset interval in tests
    await collaborators.worker.process_due(now=datetime.now(UTC) + timedelta(hours=1))
    renewed = (await client.get(f"/v1/applications/{response.json()['id']}", headers=citizen)).json()
    assert renewed["status"] == "issued", renewed
    assert (await client.get(f"/v1/verify/{permit['verification_code']}")).json()["status"] == "superseded"
