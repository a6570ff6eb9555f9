"""Certificate routes over HTTP: download byte for byte, ETag, revocation, public verification."""

from __future__ import annotations

import hashlib
from urllib.parse import unquote

from app.certificates.schemas import VerificationOut
from tests.builders import (
    LI_NA,
    SHEN_GUOQIANG,
    ZHANG_WEI,
    file,
    file_residence_permit,
    household_registration,
)


async def _issued(client, tokens):
    headers = tokens.citizen(*ZHANG_WEI[:2])
    application = (await file_residence_permit(client, headers, ZHANG_WEI[2])).json()
    assert application["status"] == "issued"
    return application["certificate"], headers


async def test_download_is_the_stored_pdf_with_etag_and_utf8_filename(client, tokens):
    certificate, headers = await _issued(client, tokens)
    response = await client.get(f"/v1/certificates/{certificate['serial']}/pdf", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    record = (await client.get(f"/v1/certificates/{certificate['serial']}", headers=headers)).json()
    assert hashlib.sha256(response.content).hexdigest() == record["sha256"]
    assert response.headers["etag"] == f'"{record["sha256"]}"'
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == f"上海市居住证-{certificate['serial']}.pdf"
    again = await client.get(f"/v1/certificates/{certificate['serial']}/pdf", headers=headers)
    assert again.content == response.content
    cached = await client.get(
        f"/v1/certificates/{certificate['serial']}/pdf", headers={**headers, "If-None-Match": response.headers["etag"]}
    )
    assert cached.status_code == 304 and cached.content == b""


async def test_others_cannot_download_and_auditors_do_not_download(client, tokens):
    certificate, _ = await _issued(client, tokens)
    stranger = await client.get(f"/v1/certificates/{certificate['serial']}/pdf", headers=tokens.citizen(*LI_NA[:2]))
    assert stranger.status_code == 404 and stranger.json()["code"] == "CERTIFICATE_NOT_FOUND"
    auditor = await client.get(f"/v1/certificates/{certificate['serial']}/pdf", headers=tokens.auditor())
    assert auditor.status_code == 403
    assert (await client.get(f"/v1/certificates/{certificate['serial']}", headers=tokens.auditor())).status_code == 200
    assert (
        await client.get(f"/v1/certificates/{certificate['serial']}/pdf", headers=tokens.clerk())
    ).status_code == 200


async def test_verify_by_code_in_any_case_with_masked_data_only(client, tokens):
    certificate, _ = await _issued(client, tokens)
    code = certificate["verification_code"]
    response = await client.get(f"/v1/verify/{code.lower().replace('-', '')}")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == "valid" and body["serial"] == certificate["serial"]
    assert body["issued_at"] == certificate["issued_at"]
    assert set(body) == set(VerificationOut.model_fields)  # every field of the documented shape, no more
    assert body["holder_name_masked"] == "张*" and body["id_number_masked"] == "3301**********0150"
    assert ZHANG_WEI[0] not in response.text
    assert (await client.get("/v1/verify/2222-2222-22222")).status_code == 404


async def test_revocation_by_a_clerk_shows_in_verification(client, tokens):
    certificate, headers = await _issued(client, tokens)
    citizen_try = await client.post(
        f"/v1/certificates/{certificate['serial']}/revoke", headers=headers, json={"reason": "x"}
    )
    assert citizen_try.status_code == 403
    response = await client.post(
        f"/v1/certificates/{certificate['serial']}/revoke", headers=tokens.clerk(), json={"reason": "地址填报错误"}
    )
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    assert (await client.get(f"/v1/verify/{certificate['verification_code']}")).json()["status"] == "revoked"
    again = await client.post(
        f"/v1/certificates/{certificate['serial']}/revoke", headers=tokens.clerk(), json={"reason": "again"}
    )
    assert again.status_code == 409 and again.json()["code"] == "ALREADY_REVOKED"


async def test_uploaded_pdf_is_verified_and_one_altered_byte_breaks_it(client, tokens):
    certificate, headers = await _issued(client, tokens)
    pdf = (await client.get(f"/v1/certificates/{certificate['serial']}/pdf", headers=headers)).content
    good = await client.post("/v1/verify", files={"file": ("c.pdf", pdf, "application/pdf")})
    assert good.json() == {
        "signature_intact": True,
        "on_record": True,
        "serial": certificate["serial"],
        "status": "valid",
    }
    position = pdf.index(b"/Contents") - 200  # inside the signed byte range, in the page content
    altered = pdf[:position] + bytes([pdf[position] ^ 0x01]) + pdf[position + 1 :]
    bad = await client.post("/v1/verify", files={"file": ("c.pdf", altered, "application/pdf")})
    assert bad.status_code == 200
    assert bad.json()["signature_intact"] is False
    assert bad.json()["on_record"] is False
    garbage = await client.post("/v1/verify", files={"file": ("c.pdf", b"not a pdf", "application/pdf")})
    assert garbage.json() == {"signature_intact": False, "on_record": False, "serial": None, "status": None}


async def test_verification_page_states_the_status_in_chinese(client, tokens):
    certificate, _ = await _issued(client, tokens)
    page = await client.get(f"/verify/{certificate['verification_code']}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "有效" in page.text and certificate["serial"] in page.text and ZHANG_WEI[0] not in page.text
    missing = await client.get("/verify/2222-2222-22222")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")


async def test_household_registration_certificate_states_hukou_address_and_relation(client, tokens):
    application = (await file(client, tokens.citizen(*SHEN_GUOQIANG), household_registration())).json()
    assert application["status"] == "issued"
    record = (
        await client.get(f"/v1/certificates/{application['certificate']['serial']}", headers=tokens.clerk())
    ).json()
    facts = dict(record["facts"])
    assert facts["与户主关系"] == "本人" and facts["户籍地址"]
    assert record["serial"].startswith("HJZ-")
