"""The verification page's upload form, answered as a page: POST /v1/verify negotiates (a browser's
form gets HTML in its language, API callers keep the JSON), and every public page carries a strict CSP."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from tests.builders import ZHANG_WEI, file_residence_permit

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


async def _issued_pdf(client, tokens) -> tuple[dict[str, str], bytes]:  # type: ignore[no-untyped-def]
    headers = tokens.citizen(*ZHANG_WEI[:2])
    certificate = (await file_residence_permit(client, headers, ZHANG_WEI[2])).json()["certificate"]
    pdf = (await client.get(f"/v1/certificates/{certificate['serial']}/pdf", headers=headers)).content
    return certificate, pdf


def _banner_word(html: str) -> str:
    match = re.search(r'<div class="word">(.*?)</div>', html)
    assert match is not None, html
    return match.group(1)


async def test_a_browser_posting_the_form_gets_a_page_and_an_api_caller_the_json(client, tokens):
    certificate, pdf = await _issued_pdf(client, tokens)
    page = await client.post(
        "/v1/verify", files={"file": ("c.pdf", pdf, "application/pdf")}, headers={"Accept": BROWSER_ACCEPT}
    )
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert _banner_word(page.text) == "有效" and certificate["serial"] in page.text
    assert "完好" in page.text and "与签发的文件完全一致" in page.text
    assert page.headers["content-language"] == "zh-CN" and page.headers["cache-control"] == "no-store"
    assert 'action="/v1/verify"' in page.text  # check another file
    for accept in (None, "*/*", "application/json", "application/json, text/html;q=0.5"):
        answer = await client.post(
            "/v1/verify",
            files={"file": ("c.pdf", pdf, "application/pdf")},
            headers={"Accept": accept} if accept else {},
        )
        assert answer.headers["content-type"] == "application/json", accept
        assert answer.json() == {
            "signature_intact": True,
            "on_record": True,
            "serial": certificate["serial"],
            "status": "valid",
        }


async def test_the_page_follows_accept_language(client, tokens):
    _, pdf = await _issued_pdf(client, tokens)
    page = await client.post(
        "/v1/verify",
        files={"file": ("c.pdf", pdf, "application/pdf")},
        headers={"Accept": BROWSER_ACCEPT, "Accept-Language": "en-GB,en;q=0.9"},
    )
    assert _banner_word(page.text) == "Valid" and 'lang="en"' in page.text
    assert "Intact" in page.text and page.headers["content-language"] == "en"


async def test_an_altered_pdf_is_answered_with_a_page_that_says_not_to_rely_on_it(client, tokens):
    _, pdf = await _issued_pdf(client, tokens)
    altered = pdf.replace(b"/Title", b"/Tltle", 1)
    page = await client.post(
        "/v1/verify", files={"file": ("c.pdf", altered, "application/pdf")}, headers={"Accept": BROWSER_ACCEPT}
    )
    assert page.status_code == 200 and _banner_word(page.text) == "签名无效"
    assert "请勿采信" in page.text and "没有与该文件一致的签发记录" in page.text


@pytest.mark.parametrize(
    "upload,status",
    [
        ({"content": b"file=nothing", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415),
        ({"files": {"file": ("big.pdf", b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024 + 10), "application/pdf")}}, 413),
    ],
)
async def test_an_upload_that_cannot_be_checked_is_answered_with_a_page_saying_why(client, upload, status):
    headers = {"Accept": BROWSER_ACCEPT, **upload.pop("headers", {})}
    page = await client.post("/v1/verify", headers=headers, **upload)
    assert page.status_code == status and page.headers["content-type"].startswith("text/html"), page.text[:300]
    assert _banner_word(page.text) == "无法核验"
    assert "Content-Security-Policy" in page.headers


async def test_every_public_page_carries_a_strict_csp_that_allows_exactly_its_style(client, tokens):
    certificate, pdf = await _issued_pdf(client, tokens)
    pages = [
        await client.get(f"/verify/{certificate['verification_code']}"),
        await client.get("/verify/NOPE-NOPE-NOPE"),
        await client.post(
            "/v1/verify", files={"file": ("c.pdf", pdf, "application/pdf")}, headers={"Accept": BROWSER_ACCEPT}
        ),
    ]
    for page in pages:
        policy = dict(
            directive.strip().split(" ", 1) for directive in page.headers["content-security-policy"].split(";")
        )
        assert policy["default-src"] == "'none'" and policy["base-uri"] == "'none'"
        assert policy["form-action"] == "'self'" and policy["frame-ancestors"] == "'none'"
        assert "script-src" not in policy and "<script" not in page.text  # no script at all
        (style,) = re.findall(r"<style>(.*?)</style>", page.text, re.DOTALL)
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        assert policy["style-src"] == f"'sha256-{digest}'"
