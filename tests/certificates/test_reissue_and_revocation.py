"""Re-issue (补发) and revocation reason codes over HTTP (docs/api.md#duplicates-renewal-and-re-issue), and the public
pages they show."""

from __future__ import annotations

import io
from datetime import datetime

import httpx
import pypdf
import pytest

from app.main import create_app
from tests.builders import LI_NA, ZHANG_WEI, file_residence_permit

STAFF_ONLY_REASON = "申请人张伟身份证号330106198803120150信息填错"


async def _issued(client, tokens):
    headers = tokens.citizen(*ZHANG_WEI[:2])
    application = (await file_residence_permit(client, headers, ZHANG_WEI[2])).json()
    assert application["status"] == "issued"
    return application, headers


def _text(pdf: bytes) -> str:
    return pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


async def test_the_holder_reissues_a_lost_certificate_and_the_old_one_is_superseded(client, tokens):
    application, headers = await _issued(client, tokens)
    old = (await client.get(f"/v1/certificates/{application['certificate']['serial']}", headers=headers)).json()

    response = await client.post(f"/v1/certificates/{old['serial']}/reissue", headers=headers)
    assert response.status_code == 201, response.text
    new = response.json()
    assert response.headers["location"] == f"/v1/certificates/{new['serial']}"
    assert new["serial"] != old["serial"] and new["verification_code"] != old["verification_code"]
    assert new["serial"].startswith("JZZ-") and new["status"] == "valid" and new["replaces"] == old["serial"]
    assert new["facts"] == old["facts"]
    assert datetime.fromisoformat(new["expires_at"]) == datetime.fromisoformat(old["expires_at"])
    assert new["application_id"] == old["application_id"]

    before = (await client.get(f"/v1/certificates/{old['serial']}", headers=headers)).json()
    assert before["status"] == "superseded" and before["superseded_by"] == new["serial"]
    public_old = (await client.get(f"/v1/verify/{old['verification_code']}")).json()
    assert public_old["status"] == "superseded" and public_old["superseded_by"] == new["serial"]
    assert (await client.get(f"/v1/verify/{new['verification_code']}")).json()["status"] == "valid"
    # The application now points at its current certificate.
    detail = (await client.get(f"/v1/applications/{application['id']}", headers=headers)).json()
    assert detail["certificate"]["serial"] == new["serial"]

    new_pdf = (await client.get(f"/v1/certificates/{new['serial']}/pdf", headers=headers)).content
    text = _text(new_pdf)
    assert "补发" in text and old["serial"] in text and new["serial"] in text
    # The holder's own proof carries the full id number (docs/api.md#certificates-fit-to-print).
    assert ZHANG_WEI[0] in text
    verdict = (await client.post("/v1/verify", files={"file": ("c.pdf", new_pdf, "application/pdf")})).json()
    assert verdict == {"signature_intact": True, "on_record": True, "serial": new["serial"], "status": "valid"}
    old_pdf = (await client.get(f"/v1/certificates/{old['serial']}/pdf", headers=headers)).content
    verdict = (await client.post("/v1/verify", files={"file": ("c.pdf", old_pdf, "application/pdf")})).json()
    assert verdict == {"signature_intact": True, "on_record": True, "serial": old["serial"], "status": "superseded"}


async def test_the_verification_page_of_a_superseded_certificate_names_the_new_serial(client, tokens):
    application, headers = await _issued(client, tokens)
    serial = application["certificate"]["serial"]
    new = (await client.post(f"/v1/certificates/{serial}/reissue", headers=tokens.clerk())).json()
    page = await client.get(f"/verify/{application['certificate']['verification_code']}")
    assert page.status_code == 200 and "已补发" in page.text and new["serial"] in page.text


async def test_who_may_reissue_and_what_cannot_be_reissued(client, tokens):
    application, headers = await _issued(client, tokens)
    serial = application["certificate"]["serial"]
    assert (await client.post(f"/v1/certificates/{serial}/reissue", headers=tokens.auditor())).status_code == 403
    stranger = await client.post(f"/v1/certificates/{serial}/reissue", headers=tokens.citizen(*LI_NA[:2]))
    assert stranger.status_code == 404 and stranger.json()["code"] == "CERTIFICATE_NOT_FOUND"
    assert (await client.post("/v1/certificates/JZZ-2026-99999999/reissue", headers=headers)).status_code == 404

    new = (await client.post(f"/v1/certificates/{serial}/reissue", headers=tokens.clerk())).json()
    again = await client.post(f"/v1/certificates/{serial}/reissue", headers=headers)
    assert again.status_code == 409 and again.json()["code"] == "CERTIFICATE_SUPERSEDED"
    assert new["serial"] in again.json()["detail"]
    revoke_old = await client.post(f"/v1/certificates/{serial}/revoke", headers=tokens.clerk(), json={"reason": "x"})
    assert revoke_old.status_code == 409 and revoke_old.json()["code"] == "CERTIFICATE_SUPERSEDED"

    await client.post(f"/v1/certificates/{new['serial']}/revoke", headers=tokens.clerk(), json={"reason": "x"})
    revoked = await client.post(f"/v1/certificates/{new['serial']}/reissue", headers=headers)
    assert revoked.status_code == 409 and revoked.json()["code"] == "ALREADY_REVOKED"


async def test_revocation_shows_the_public_only_a_reason_code_and_the_date(client, tokens):
    application, headers = await _issued(client, tokens)
    certificate = application["certificate"]
    response = await client.post(
        f"/v1/certificates/{certificate['serial']}/revoke",
        headers=tokens.clerk(),
        json={"reason_code": "DATA_CORRECTED", "reason": STAFF_ONLY_REASON},
    )
    assert response.status_code == 200
    staff_view = response.json()
    assert staff_view["revocation_reason_code"] == "DATA_CORRECTED"
    assert staff_view["revoked_reason"] == STAFF_ONLY_REASON

    public = await client.get(f"/v1/verify/{certificate['verification_code']}")
    body = public.json()
    assert body["status"] == "revoked" and body["revocation_reason_code"] == "DATA_CORRECTED"
    assert datetime.fromisoformat(body["revoked_at"]) == datetime.fromisoformat(staff_view["revoked_at"])
    assert body["superseded_by"] is None
    page = await client.get(f"/verify/{certificate['verification_code']}")
    for answer in (public.text, page.text):
        assert STAFF_ONLY_REASON not in answer and "信息填错" not in answer and ZHANG_WEI[0] not in answer
    assert "证明信息已更正" in page.text and "撤销日期" in page.text

    # The holder sees the code, not the clerk's words; auditors and clerks see both.
    holder = (await client.get(f"/v1/certificates/{certificate['serial']}", headers=headers)).json()
    assert holder["revocation_reason_code"] == "DATA_CORRECTED" and holder["revoked_reason"] is None
    auditor = (await client.get(f"/v1/certificates/{certificate['serial']}", headers=tokens.auditor())).json()
    assert auditor["revoked_reason"] == STAFF_ONLY_REASON


async def test_the_reason_code_defaults_to_other_and_is_checked(client, tokens):
    application, _ = await _issued(client, tokens)
    serial = application["certificate"]["serial"]
    bad = await client.post(
        f"/v1/certificates/{serial}/revoke", headers=tokens.clerk(), json={"reason_code": "BORED", "reason": "x"}
    )
    assert bad.status_code == 422
    missing_reason = await client.post(
        f"/v1/certificates/{serial}/revoke", headers=tokens.clerk(), json={"reason_code": "LOST"}
    )
    assert missing_reason.status_code == 422
    ok = await client.post(f"/v1/certificates/{serial}/revoke", headers=tokens.clerk(), json={"reason": "x"})
    assert ok.json()["revocation_reason_code"] == "OTHER"


async def test_the_verification_page_follows_accept_language(client, tokens):
    application, _ = await _issued(client, tokens)
    code = application["certificate"]["verification_code"]
    chinese = await client.get(f"/verify/{code}")
    assert 'lang="zh-CN"' in chinese.text and "有效" in chinese.text
    english = await client.get(f"/verify/{code}", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert english.status_code == 200 and 'lang="en"' in english.text
    assert "Valid" in english.text and "Shanghai residence permit" in english.text
    assert english.headers["content-language"] == "en" and "accept-language" in english.headers["vary"].lower()
    assert 'action="/v1/verify"' in english.text
    missing = await client.get("/verify/2222-2222-22222", headers={"Accept-Language": "en"})
    assert missing.status_code == 404 and "Not found" in missing.text


@pytest.fixture
async def tight_app(settings):
    app = create_app(settings.model_copy(update={"rate_limit_verify": "2/minute"}), start_worker=False)
    async with app.router.lifespan_context(app):
        yield app


async def test_a_rate_limited_verification_page_is_a_page_not_json(tight_app):
    transport = httpx.ASGITransport(app=tight_app, client=("198.51.100.77", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for _ in range(2):
            await client.get("/verify/2222-2222-22222")
        limited = await client.get("/verify/2222-2222-22222", headers={"Accept-Language": "en"})
    assert limited.status_code == 429
    assert limited.headers["content-type"].startswith("text/html")
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert "Too many" in limited.text and f"in {limited.headers['retry-after']} seconds" in limited.text
