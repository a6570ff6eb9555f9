"""Sharing a certificate with consent, over HTTP (docs/sharing.md): every row of the sharing table."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from app.main import create_app
from app.sharing.models import Share
from tests.builders import LI_NA, ZHANG_WEI, file_residence_permit

ALL_FIELDS = ["service", "serial", "holder_name", "id_number_masked", "id_number", "issued_at", "expires_at", "details"]


async def _issued(client, tokens):
    headers = tokens.citizen(*ZHANG_WEI[:2])
    application = (await file_residence_permit(client, headers, ZHANG_WEI[2])).json()
    assert application["status"] == "issued", application
    return application["certificate"]["serial"], headers


async def _share(client, serial, headers, **body):
    response = await client.post(
        f"/v1/certificates/{serial}/shares", headers=headers, json={"recipient": "某科技公司人事部", **body}
    )
    assert response.status_code == 201, response.text
    return response.json()


def _path(url: str) -> str:
    return url.removeprefix("http://testserver")


async def test_the_owner_shares_chosen_fields_and_the_recipient_sees_only_those_with_the_live_status(client, tokens):
    serial, headers = await _issued(client, tokens)
    created = await _share(client, serial, headers, expires_in_days=7, fields=["service", "holder_name"])
    assert created["url"].startswith("http://testserver/v1/shared/") and created["fields"] == ["service", "holder_name"]
    expires = datetime.fromisoformat(created["expires_at"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)

    seen = await client.get(_path(created["url"]))
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert body["status"] == "valid" and body["recipient"] == "某科技公司人事部"
    assert body["fields"] == {"service": "residence-permit", "holder_name": ZHANG_WEI[1]}
    assert body["pdf_url"] is None
    # Neither the id number (full or masked) nor the address was shared: none of it is anywhere in the answer.
    assert ZHANG_WEI[0] not in seen.text and "0150" not in seen.text and "虹桥路" not in seen.text
    pdf = await client.get(_path(created["url"]) + "/pdf")
    assert pdf.status_code == 403 and pdf.json()["code"] == "SHARE_PDF_NOT_SHARED"


async def test_with_every_field_shared_the_recipient_gets_the_pdf_as_issued(client, tokens):
    serial, headers = await _issued(client, tokens)
    created = await _share(client, serial, headers, expires_in_days=1)  # fields default: all
    assert created["fields"] == ALL_FIELDS
    body = (await client.get(_path(created["url"]))).json()
    assert set(body["fields"]) == set(ALL_FIELDS) and body["fields"]["id_number"] == ZHANG_WEI[0]
    assert body["fields"]["details"] == {"居住地址": ZHANG_WEI[2]}
    pdf = await client.get(body["pdf_url"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    record = (await client.get(f"/v1/certificates/{serial}", headers=headers)).json()
    assert hashlib.sha256(pdf.content).hexdigest() == record["sha256"]


async def test_the_owner_lists_shares_with_their_use_counts(client, tokens):
    serial, headers = await _issued(client, tokens)
    first = await _share(client, serial, headers, expires_in_days=30, fields=["serial"])
    second = await _share(client, serial, headers, expires_in_days=90, recipient="复旦大学研究生院")
    for _ in range(3):
        assert (await client.get(_path(first["url"]))).status_code == 200
    listing = await client.get(f"/v1/certificates/{serial}/shares", headers=headers)
    assert listing.status_code == 200
    items = {s["id"]: s for s in listing.json()["items"]}
    assert items[first["id"]]["uses"] == 3 and items[first["id"]]["last_used_at"] is not None
    assert items[second["id"]]["uses"] == 0 and items[second["id"]]["last_used_at"] is None
    assert items[second["id"]]["recipient"] == "复旦大学研究生院" and items[first["id"]]["state"] == "active"
    assert "url" not in items[first["id"]]  # the link is shown once, at creation

    page = (await client.get(f"/v1/certificates/{serial}/shares?limit=1", headers=headers)).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = await client.get(f"/v1/certificates/{serial}/shares?limit=1&cursor={page['next_cursor']}", headers=headers)
    assert [s["id"] for s in page["items"] + rest.json()["items"]] == [first["id"], second["id"]]


async def test_a_revoked_share_answers_410_from_then_on(client, tokens):
    serial, headers = await _issued(client, tokens)
    created = await _share(client, serial, headers, expires_in_days=7)
    assert (await client.get(_path(created["url"]))).status_code == 200
    revoked = await client.delete(f"/v1/certificates/{serial}/shares/{created['id']}", headers=headers)
    assert revoked.status_code == 204
    gone = await client.get(_path(created["url"]))
    assert gone.status_code == 410 and gone.json()["code"] == "SHARE_GONE"
    assert (await client.get(_path(created["url"]) + "/pdf")).status_code == 410
    listed = (await client.get(f"/v1/certificates/{serial}/shares", headers=headers)).json()["items"][0]
    assert listed["state"] == "revoked" and listed["uses"] == 1  # the refused uses are not counted
    # Revoking again changes nothing; an unknown share is 404.
    again = await client.delete(f"/v1/certificates/{serial}/shares/{created['id']}", headers=headers)
    assert again.status_code == 204
    unknown = await client.delete(f"/v1/certificates/{serial}/shares/nope", headers=headers)
    assert unknown.status_code == 404 and unknown.json()["code"] == "SHARE_NOT_FOUND"


async def test_an_expired_share_answers_410(client, tokens, collaborators):
    serial, headers = await _issued(client, tokens)
    created = await _share(client, serial, headers, expires_in_days=1)
    async with collaborators.sessionmaker() as session:
        share = await session.get(Share, created["id"])
        share.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        await session.commit()
    assert (await client.get(_path(created["url"]))).status_code == 410
    listed = (await client.get(f"/v1/certificates/{serial}/shares", headers=headers)).json()["items"][0]
    assert listed["state"] == "expired"


async def test_a_share_shows_the_certificate_revoked_after_a_clerk_revokes_it(client, tokens):
    serial, headers = await _issued(client, tokens)
    created = await _share(client, serial, headers, expires_in_days=7, fields=["serial"])
    revoked = await client.post(
        f"/v1/certificates/{serial}/revoke",
        headers=tokens.clerk(),
        json={"reason_code": "FRAUD_SUSPECTED", "reason": "x"},
    )
    assert revoked.status_code == 200
    seen = await client.get(_path(created["url"]))
    assert seen.status_code == 200 and seen.json()["status"] == "revoked"
    # A revoked certificate can be shared no more.
    refused = await client.post(
        f"/v1/certificates/{serial}/shares", headers=headers, json={"recipient": "x", "expires_in_days": 1}
    )
    assert refused.status_code == 409 and refused.json()["code"] == "CERTIFICATE_NOT_VALID"


async def test_a_share_shows_the_certificate_superseded_after_a_reissue(client, tokens):
    serial, headers = await _issued(client, tokens)
    created = await _share(client, serial, headers, expires_in_days=7)
    assert (await client.post(f"/v1/certificates/{serial}/reissue", headers=headers)).status_code == 201
    assert (await client.get(_path(created["url"]))).json()["status"] == "superseded"


async def test_only_the_owner_makes_lists_and_revokes_shares(client, tokens):
    serial, headers = await _issued(client, tokens)
    created = await _share(client, serial, headers, expires_in_days=7)
    stranger = tokens.citizen(*LI_NA[:2])
    body = {"recipient": "x", "expires_in_days": 1}
    assert (await client.post(f"/v1/certificates/{serial}/shares", headers=stranger, json=body)).status_code == 404
    assert (await client.get(f"/v1/certificates/{serial}/shares", headers=stranger)).status_code == 404
    assert (
        await client.delete(f"/v1/certificates/{serial}/shares/{created['id']}", headers=stranger)
    ).status_code == 404
    for staff in (tokens.clerk(), tokens.auditor()):
        assert (await client.post(f"/v1/certificates/{serial}/shares", headers=staff, json=body)).status_code == 403
    assert (await client.post(f"/v1/certificates/{serial}/shares", json=body)).status_code == 401
    assert (await client.get(_path(created["url"]))).status_code == 200  # the stranger's tries did nothing


@pytest.mark.parametrize(
    "body",
    [
        {"recipient": "x", "expires_in_days": 0},
        {"recipient": "x", "expires_in_days": 91},
        {"recipient": "", "expires_in_days": 1},
        {"recipient": "a\u202eb", "expires_in_days": 1},
        {"recipient": "x", "expires_in_days": 1, "fields": []},
        {"recipient": "x", "expires_in_days": 1, "fields": ["password"]},
        {"recipient": "x", "expires_in_days": 1, "fields": ["serial", "serial"]},
        {"recipient": "x", "expires_in_days": 1, "extra": True},
    ],
)
async def test_bad_share_requests_are_422_problems(client, tokens, body):
    serial, headers = await _issued(client, tokens)
    response = await client.post(f"/v1/certificates/{serial}/shares", headers=headers, json=body)
    assert response.status_code == 422 and response.headers["content-type"].startswith("application/problem+json")


async def test_the_token_is_long_random_and_stored_only_as_its_hash(client, tokens, collaborators):
    serial, headers = await _issued(client, tokens)
    created = await _share(client, serial, headers, expires_in_days=7)
    token = created["url"].rsplit("/", 1)[1]
    assert len(token) >= 43  # 256 bits in base64url; at least 128 asked
    async with collaborators.sessionmaker() as session:
        share = (await session.execute(select(Share))).scalar_one()
    assert share.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(vars(share))
    unknown = await client.get("/v1/shared/" + "A" * 43)
    assert unknown.status_code == 404 and unknown.json()["code"] == "SHARE_NOT_FOUND"


async def test_every_use_is_in_the_owners_data_access_with_the_recipient(client, tokens):
    serial, headers = await _issued(client, tokens)
    created = await _share(client, serial, headers, expires_in_days=7, recipient="上海某中学")
    await client.get(_path(created["url"]))
    await client.get(_path(created["url"]) + "/pdf")
    await client.get(f"/v1/certificates/{serial}/shares", headers=headers)  # the owner's own reading: not listed
    items = (await client.get("/v1/me/data-access", headers=headers)).json()["items"]
    uses = [i for i in items if i["kind"] == "share_use"]
    assert [u["action"] for u in uses] == ["share.use_pdf", "share.use"]
    assert all(u["recipient"] == "上海某中学" and u["certificate_serial"] == serial for u in uses)
    # Someone else's data-access list does not show them.
    other = (await client.get("/v1/me/data-access", headers=tokens.citizen(*LI_NA[:2]))).json()["items"]
    assert not [i for i in other if i["kind"] == "share_use"]


async def test_a_use_is_a_notification_when_the_owner_asked_for_one(client, tokens):
    serial, headers = await _issued(client, tokens)
    quiet = await _share(client, serial, headers, expires_in_days=7)
    told = await _share(client, serial, headers, expires_in_days=7, notify=True)
    await client.get(_path(quiet["url"]))
    before = [n for n in (await client.get("/v1/me/notifications", headers=headers)).json()["items"]]
    assert not [n for n in before if n["type"] == "share.used"]
    await client.get(_path(told["url"]))
    feed = (await client.get("/v1/me/notifications", headers=headers)).json()["items"]
    used = [n for n in feed if n["type"] == "share.used"]
    assert len(used) == 1 and used[0]["certificate_serial"] == serial and used[0]["status"] == "valid"


async def test_the_link_page_is_zh_by_default_and_en_on_request(client, tokens):
    serial, headers = await _issued(client, tokens)
    created = await _share(client, serial, headers, expires_in_days=7, fields=["holder_name", "id_number_masked"])
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    zh = await client.get(_path(created["url"]), headers=browser)
    assert zh.status_code == 200 and zh.headers["content-type"].startswith("text/html")
    assert "有效" in zh.text and ZHANG_WEI[1] in zh.text and "3301**********0150" in zh.text
    assert ZHANG_WEI[0] not in zh.text and "script" not in zh.text
    assert "default-src 'none'" in zh.headers["content-security-policy"]
    assert "<title>有效 · 上海市城市服务 · 证明分享</title>" in zh.text  # the page's kind named once
    en = await client.get(_path(created["url"]), headers={**browser, "Accept-Language": "en"})
    assert "Valid" in en.text and "Identity number (partly hidden)" in en.text
    await client.delete(f"/v1/certificates/{serial}/shares/{created['id']}", headers=headers)
    gone = await client.get(_path(created["url"]), headers=browser)
    assert gone.status_code == 410 and "链接已失效" in gone.text
    assert gone.text.count("证明分享") == 2  # in the title and the header, not twice in the title


async def test_the_link_is_rate_limited_per_address(settings, tokens, collaborators):  # collaborators: empty tables
    app = create_app(settings.model_copy(update={"rate_limit_shares": "3/minute"}), start_worker=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("198.51.100.30", 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            serial, headers = await _issued(client, tokens)
            created = await _share(client, serial, headers, expires_in_days=7)
            statuses = [(await client.get(_path(created["url"]))).status_code for _ in range(4)]
            assert statuses == [200, 200, 200, 429]
        other = httpx.ASGITransport(app=app, client=("198.51.100.31", 1234))
        async with httpx.AsyncClient(transport=other, base_url="http://testserver") as client:
            assert (await client.get(_path(created["url"]))).status_code == 200
