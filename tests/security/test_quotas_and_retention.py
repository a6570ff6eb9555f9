"""Quotas and retention (issue 27; docs/api.md#quotas-and-retention). The reproductions: one citizen made 237
re-issues in 15 s (each signing, storing and announcing a PDF); one stored 300 MiB of uploads in a minute, kept
forever. Now re-issues are limited per person, a citizen's uploads that no application uses are capped
and deleted by the worker after a day, each deletion in the request log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from app.background import run_forever
from app.main import create_app
from app.materials.models import Material
from tests.builders import LI_NA, PDF_PROOF, ZHANG_WEI, file, no_criminal_record, pdf_document, residence_permit


def _client(app, address: str = "198.51.100.40") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 1234)), base_url="http://t")


@pytest.fixture
async def quota_app(settings, collaborators):  # collaborators: the tables are emptied before the test
    # Room for two small proofs and not three; re-issues at the default 3 a day.
    quota_mb = 2.5 * len(PDF_PROOF) / 2**20
    app = create_app(
        settings.model_copy(update={"upload_quota_mb": quota_mb, "rate_limit_reissue": "3/day"}), start_worker=False
    )
    async with app.router.lifespan_context(app):
        yield app


async def _upload(client, headers, content: bytes = PDF_PROOF) -> httpx.Response:
    return await client.post("/v1/materials", headers=headers, files={"file": ("p.pdf", content, "application/pdf")})


async def test_a_person_may_reissue_three_times_a_day(quota_app, tokens):
    async with _client(quota_app) as client:
        zhang = tokens.citizen(*ZHANG_WEI[:2])
        serial = (await file(client, zhang, no_criminal_record())).json()["certificate"]["serial"]
        for _ in range(3):
            response = await client.post(f"/v1/certificates/{serial}/reissue", headers=zhang)
            assert response.status_code == 201, response.text
            serial = response.json()["serial"]
        fourth = await client.post(f"/v1/certificates/{serial}/reissue", headers=zhang)
        assert fourth.status_code == 429 and fourth.json()["code"] == "RATE_LIMITED"
        assert int(fourth.headers["retry-after"]) > 3600  # the window is a day
        # A second account of the same person is the same person.
        other_account = tokens.citizen(*ZHANG_WEI[:2], sub="zhang-second-account")
        assert (await client.post(f"/v1/certificates/{serial}/reissue", headers=other_account)).status_code == 429
        # Another person, and a clerk at the window, are not held back by it.
        li = tokens.citizen(*LI_NA[:2])
        li_serial = (await file(client, li, no_criminal_record())).json()["certificate"]["serial"]
        assert (await client.post(f"/v1/certificates/{li_serial}/reissue", headers=li)).status_code == 201
        assert (await client.post(f"/v1/certificates/{serial}/reissue", headers=tokens.clerk())).status_code == 201


async def test_a_citizen_keeps_at_most_the_quota_of_unused_uploads(quota_app, tokens):
    async with _client(quota_app) as client:
        zhang = tokens.citizen(*ZHANG_WEI[:2])
        first = (await _upload(client, zhang)).json()["id"]
        assert (await _upload(client, zhang, pdf_document(note=b"second"))).status_code == 201
        over = await _upload(client, zhang, pdf_document(note=b"third"))
        assert over.status_code == 429, over.text
        assert over.json()["code"] == "UPLOAD_QUOTA_EXCEEDED" and int(over.headers["retry-after"]) > 0
        # Another citizen has their own quota.
        assert (await _upload(client, tokens.citizen(*LI_NA[:2]))).status_code == 201
        # Used by an application, an upload no longer counts.
        assert (await file(client, zhang, residence_permit(ZHANG_WEI[2], [first]))).status_code in (201, 202)
        assert (await _upload(client, zhang, pdf_document(note=b"third"))).status_code == 201


async def _backdate_materials(collaborators, hours: float) -> None:
    async with collaborators.engine.begin() as conn:
        await conn.execute(update(Material).values(created_at=datetime.now(UTC) - timedelta(hours=hours)))


async def test_the_worker_deletes_unused_uploads_after_a_day_and_logs_it(client, tokens, collaborators):
    zhang = tokens.citizen(*ZHANG_WEI[:2])
    used = (await _upload(client, zhang)).json()["id"]
    unused = (await _upload(client, zhang, pdf_document(note=b"never used"))).json()["id"]
    application = (await file(client, zhang, residence_permit(ZHANG_WEI[2], [used]))).json()
    fresh = (await _upload(client, zhang, pdf_document(note=b"fresh"))).json()["id"]
    await _backdate_materials(collaborators, hours=25)
    async with collaborators.engine.begin() as conn:  # uploaded a minute ago: not yet due
        await conn.execute(update(Material).where(Material.id == fresh).values(created_at=datetime.now(UTC)))

    stop = asyncio.Event()
    worker = asyncio.create_task(run_forever(collaborators, poll_seconds=0.05, stop=stop))
    try:
        async with asyncio.timeout(20):
            while True:
                async with collaborators.sessionmaker() as session:
                    left = set((await session.execute(select(Material.id))).scalars())
                if unused not in left:
                    break
                await asyncio.sleep(0.1)
    finally:
        stop.set()
        await worker

    assert left == {used, fresh}
    # Gone for the citizen too: filing with it is refused as an unknown material.
    refused = await file(client, zhang, {**residence_permit(ZHANG_WEI[2], [unused])})
    assert refused.status_code == 422 and refused.json()["code"] == "MATERIAL_NOT_FOUND", refused.text
    still = await client.get(f"/v1/applications/{application['id']}/materials/{used}", headers=zhang)
    assert still.status_code == 200 and still.content == PDF_PROOF
    events = (
        await client.get("/v1/audit/events", params={"action": "material.expire"}, headers=tokens.auditor())
    ).json()["items"]
    assert [(e["resource_type"], e["resource_id"], e["kind"]) for e in events] == [("material", unused, "change")]
    assert events[0]["details"]["size"] > 0 and events[0]["actor_sub"] == "system:worker"
