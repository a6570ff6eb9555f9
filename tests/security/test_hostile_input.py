"""Hostile input gets a clear 4xx problem document, never a 500, and memory stays bounded."""

from __future__ import annotations

import asyncio
import io
import zipfile

import pytest

from tests.builders import (
    LI_NA,
    PDF_PROOF,
    WANG_FANG,
    ZHANG_WEI,
    file,
    file_residence_permit,
    jpeg_image,
    no_criminal_record,
    png_image,
)

PNG_1PX = png_image((1, 1))
JPEG_MIN = jpeg_image((1, 1))


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def _problem(response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if code:
        assert response.json()["code"] == code


async def _upload(client, headers, content: bytes, name: str = "proof.pdf", media: str = "application/pdf"):
    return await client.post("/v1/materials", headers=headers, files={"file": (name, content, media)})


@pytest.mark.parametrize(
    "content,name",
    [
        (PDF_PROOF, "p.pdf"),
        (PNG_1PX, "p.png"),
        (JPEG_MIN, "p.jpg"),
    ],
)
async def test_real_pdf_png_and_jpeg_are_accepted_by_content(client, tokens, content, name):
    response = await _upload(client, tokens.citizen(*ZHANG_WEI[:2]), content, name, "application/octet-stream")
    assert response.status_code == 201
    assert response.json()["media_type"] in ("application/pdf", "image/png", "image/jpeg")


async def test_oversize_upload_is_refused_while_reading(client, tokens):
    before = _rss_mb()
    for _ in range(5):
        _problem(
            await _upload(client, tokens.citizen(*ZHANG_WEI[:2]), b"%PDF-1.4\n" + b"0" * (11 * 2**20)),
            413,
            "MATERIAL_TOO_LARGE",
        )
    assert _rss_mb() - before < 150


async def test_oversize_upload_without_content_length_is_refused(client, tokens):
    async def trickle():
        yield (
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
        )
        for _ in range(12):
            yield b"0" * 2**20
        yield b"\r\n--b--\r\n"

    headers = {**tokens.citizen(*ZHANG_WEI[:2]), "content-type": "multipart/form-data; boundary=b"}
    _problem(await client.post("/v1/materials", headers=headers, content=trickle()), 413, "MATERIAL_TOO_LARGE")


async def test_a_slow_upload_does_not_hold_up_other_requests(client, tokens):
    async def slow():
        yield (
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n"
        )
        for chunk in (PDF_PROOF[:10], PDF_PROOF[10:20], PDF_PROOF[20:]):
            await asyncio.sleep(0.5)
            yield chunk
        yield b"\r\n--b--\r\n"

    headers = {**tokens.citizen(*ZHANG_WEI[:2]), "content-type": "multipart/form-data; boundary=b"}
    upload = asyncio.create_task(client.post("/v1/materials", headers=headers, content=slow()))
    await asyncio.sleep(0.1)
    started = asyncio.get_running_loop().time()
    assert (await client.get("/v1/services")).status_code == 200
    assert asyncio.get_running_loop().time() - started < 1.0
    assert (await upload).status_code == 201


@pytest.mark.parametrize(
    "content,name,media",
    [
        (b"hello, I am text", "proof.pdf", "application/pdf"),
        (JPEG_MIN[:-2] + b"%PDF-1.4 polyglot" + b"\xff\xd9", "poly.jpg", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n" + b"junk" * 10, "broken.png", "image/png"),
        (b"GIF89a" + b"\x00" * 20, "x.gif", "image/gif"),
        (b"MZ\x90\x00" + b"\x00" * 100, "setup.pdf", "application/pdf"),
    ],
)
async def test_files_that_are_not_what_they_claim_are_415(client, tokens, content, name, media):
    _problem(
        await _upload(client, tokens.citizen(*ZHANG_WEI[:2]), content, name, media), 415, "UNSUPPORTED_MATERIAL_TYPE"
    )


async def test_a_zip_bomb_disguised_as_png_is_refused_without_being_opened(client, tokens):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.bin", b"\x00" * (200 * 2**20))
    before = _rss_mb()
    _problem(await _upload(client, tokens.citizen(*ZHANG_WEI[:2]), buffer.getvalue(), "photo.png", "image/png"), 415)
    assert _rss_mb() - before < 50


async def test_filenames_cannot_inject_headers_or_paths(client, tokens):
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="../../etc/passwd\\r\\nX-Evil: 1.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n" + PDF_PROOF + b"\r\n--b--\r\n"
    )
    headers = {**tokens.citizen(*ZHANG_WEI[:2]), "content-type": "multipart/form-data; boundary=b"}
    response = await client.post("/v1/materials", headers=headers, content=body)
    assert response.status_code == 201
    assert "x-evil" not in response.headers


async def test_multipart_without_the_file_part_and_wrong_content_type(client, tokens):
    headers = tokens.citizen(*ZHANG_WEI[:2])
    _problem(
        await client.post("/v1/materials", headers=headers, data={"other": "x"}, files={"nope": ("a", b"x")}),
        400,
        "MALFORMED_UPLOAD",
    )
    _problem(
        await client.post("/v1/materials", headers={**headers, "content-type": "application/json"}, content=b"{}"),
        415,
        "MULTIPART_REQUIRED",
    )


@pytest.mark.parametrize("name", ["王\u202e芳", "王\u0000芳", "王\n芳", "\u2066张伟\u2069", "", "王" * 65])
async def test_control_and_bidi_characters_in_names_are_refused(client, tokens, name):
    response = await file(
        client, tokens.clerk(), {**no_criminal_record(), "applicant": {"id_number": LI_NA[0], "name": name}}
    )
    _problem(response, 422, "VALIDATION_FAILED")


@pytest.mark.parametrize("reason", ["同意\u202e", "ok\u0007", "   ", "x" * 501])
async def test_control_characters_and_bounds_in_reasons_are_refused(client, tokens, reason):
    review = (await file_residence_permit(client, tokens.citizen(*WANG_FANG[:2]), WANG_FANG[2])).json()
    response = await client.post(
        f"/v1/applications/{review['id']}/decision",
        headers=tokens.clerk(),
        json={"outcome": "approve", "reason": reason},
    )
    _problem(response, 422, "VALIDATION_FAILED")


SQL_AND_HTML = "'; DROP TABLE applications; -- <script>alert(1)</script> \" OR 1=1 &amp;"


async def test_sql_and_html_metacharacters_are_just_text(client, tokens):
    citizen = tokens.citizen(*ZHANG_WEI[:2])
    odd = (await file_residence_permit(client, citizen, f"上海市长宁区虹桥路1号{SQL_AND_HTML}")).json()
    assert odd["status"] == "needs_review"
    assert odd["details"]["address"].endswith(SQL_AND_HTML)
    other = await file(client, citizen, no_criminal_record("other", SQL_AND_HTML))
    assert other.status_code == 201 and other.json()["details"]["purpose_note"] == SQL_AND_HTML
    listed = await client.get(f"/v1/applications?service={SQL_AND_HTML[:60]}", headers=tokens.clerk())
    assert listed.status_code == 200 and listed.json()["items"] == []
    assert (await client.get(f"/v1/applications/{SQL_AND_HTML[:30]}", headers=citizen)).status_code == 404
    assert len((await client.get("/v1/applications", headers=tokens.clerk())).json()["items"]) == 2


async def test_the_verification_page_escapes_what_people_typed(client, tokens):
    issued = (await file_residence_permit(client, tokens.citizen(*ZHANG_WEI[:2]), ZHANG_WEI[2])).json()
    serial = issued["certificate"]["serial"]
    revoked = await client.post(
        f"/v1/certificates/{serial}/revoke",
        headers=tokens.clerk(),
        json={"reason": "<script>alert('x')</script> & 错误"},
    )
    assert revoked.status_code == 200
    page = await client.get(f"/verify/{issued['certificate']['verification_code']}")
    assert "<script>alert" not in page.text
    # The clerk's words are never on the public page at all (docs/api.md#duplicates-renewal-and-re-issue): only the
    # reason code's label.
    assert "alert(" not in page.text and "&lt;script&gt;" not in page.text
    assert "已撤销" in page.text and "其他原因" in page.text
    odd_code = await client.get("/verify/<script>alert(1)</script>")
    assert odd_code.status_code == 404 and "<script>alert(1)" not in odd_code.text


async def test_revocation_racing_downloads_has_one_winner_and_consistent_bytes(client, tokens):
    citizen = tokens.citizen(*ZHANG_WEI[:2])
    issued = (await file_residence_permit(client, citizen, ZHANG_WEI[2])).json()
    serial = issued["certificate"]["serial"]
    downloads = [client.get(f"/v1/certificates/{serial}/pdf", headers=citizen) for _ in range(10)]
    revocations = [
        client.post(
            f"/v1/certificates/{serial}/revoke",
            headers=tokens.clerk(sub=f"clerk-{i}"),
            json={"reason": "核查发现地址有误"},
        )
        for i in range(4)
    ]
    results = await asyncio.gather(*downloads, *revocations)
    pdfs = {r.content for r in results[:10]}
    assert len(pdfs) == 1 and all(r.status_code == 200 for r in results[:10])
    assert sorted(r.status_code for r in results[10:]) == [200, 409, 409, 409]
    record = (await client.get(f"/v1/certificates/{serial}", headers=citizen)).json()
    assert record["status"] == "revoked"
