"""GET /v1/stats/public identifies no one: whole Shanghai days only, and only days that are over; a count
below PUBLIC_STATS_MIN_COUNT (and a rate or remainder that would reveal one) is null; limited per address.

The reproduction it answers: a one-second window around a known filing showed "filed 1, issued 0", a
criminal record."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import httpx
import pytest
from sqlalchemy import update

from app.applications.models import Application
from app.clock import SHANGHAI, shanghai_today
from app.main import create_app
from tests.builders import LI_NA, WU_JIANGUO, ZHANG_WEI, file, no_criminal_record, temporary_identity


async def _on_day(collaborators, day) -> None:
    """Every application so far was filed at noon, Shanghai time, on `day`."""
    async with collaborators.engine.begin() as conn:
        await conn.execute(update(Application).values(created_at=datetime.combine(day, time(12), tzinfo=SHANGHAI)))


async def _file_many(client, tokens, person, body, n: int) -> None:
    for _ in range(n):
        response = await file(client, tokens.citizen(*person[:2]), body)
        assert response.status_code == 201, response.text


async def test_a_window_finer_than_a_day_is_422(client):
    for params in (
        {"since": "2026-11-30T13:59:59.000+08:00", "until": "2026-11-30T14:00:00.000+08:00"},
        {"since": "2026-11-30T00:00:00"},
        {"until": "1764482400"},
        {"since": "2026-11-30", "until": "2026-11-29"},
    ):
        response = await client.get("/v1/stats/public", params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_one_known_filing_in_a_narrow_window_gives_nothing_away(client, tokens, collaborators):
    clerk = tokens.clerk()
    at_window = {**no_criminal_record(), "applicant": {"id_number": WU_JIANGUO[0], "name": WU_JIANGUO[1]}}
    assert (await file(client, clerk, at_window)).json()["status"] == "needs_review"  # a criminal record
    yesterday = shanghai_today() - timedelta(days=1)
    await _on_day(collaborators, yesterday)

    body = (await client.get("/v1/stats/public", params={"since": str(yesterday), "until": str(yesterday)})).json()

    assert body["min_count"] == 10 and body["filed"] is None and body["online_rate"] is None
    counts = {s["service"]: s for s in body["by_service"]}
    assert counts["no-criminal-record-certificate"] | {"name": None} == {
        "service": "no-criminal-record-certificate",
        "name": None,
        "filed": None,
        "online": None,
        "issued": None,
    }


async def test_public_figures_show_large_counts_and_hide_small_remainders(client, tokens, collaborators):
    clerk = tokens.clerk()
    await _file_many(client, tokens, ZHANG_WEI, no_criminal_record(), 12)
    at_window = {**no_criminal_record(), "applicant": {"id_number": WU_JIANGUO[0], "name": WU_JIANGUO[1]}}
    assert (await file(client, clerk, at_window)).status_code == 201  # one person, at a window, not issued
    await _file_many(client, tokens, LI_NA, temporary_identity(), 10)
    yesterday = shanghai_today() - timedelta(days=1)
    await _on_day(collaborators, yesterday)

    response = await client.get("/v1/stats/public", params={"since": str(yesterday)})

    assert response.status_code == 200
    assert "public" in response.headers["cache-control"] and "max-age=" in response.headers["cache-control"]
    body = response.json()
    assert (body["since"], body["until"]) == (str(yesterday), str(yesterday))
    # 23 filed, 22 online: the rate would name the one filed at a window.
    assert body["filed"] == 23 and body["online_rate"] is None
    counts = {s["service"]: s for s in body["by_service"]}
    assert len(counts) == 8  # every service, filed or not
    ncr = counts["no-criminal-record-certificate"]
    # "filed 13, issued 12" singles out the one refused as surely as "filed 1, issued 0".
    assert (ncr["filed"], ncr["online"], ncr["issued"]) == (13, None, None)
    tmp = counts["temporary-identity-certificate"]
    assert (tmp["filed"], tmp["online"], tmp["issued"]) == (10, 10, 10)
    assert counts["kinship-certificate"]["filed"] is None  # none is a small count too
    for private in (ZHANG_WEI[0], ZHANG_WEI[1], WU_JIANGUO[0], "310105-HQLB", "station"):
        assert private not in response.text
    again = await client.get(
        "/v1/stats/public", params={"since": str(yesterday)}, headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""


async def test_only_days_that_are_over_are_counted(client, tokens):
    await _file_many(client, tokens, ZHANG_WEI, no_criminal_record(), 10)  # today: not a whole day yet
    today = shanghai_today()
    body = (await client.get("/v1/stats/public", params={"since": str(today), "until": str(today)})).json()
    assert body["until"] == str(today - timedelta(days=1))
    ncr = {s["service"]: s for s in body["by_service"]}["no-criminal-record-certificate"]
    assert ncr["filed"] is None


@pytest.fixture
async def limited_app(settings, collaborators):  # collaborators: the tables are emptied before the test
    app = create_app(settings.model_copy(update={"rate_limit_public_stats": "2/minute"}), start_worker=False)
    async with app.router.lifespan_context(app):
        yield app


async def test_public_figures_are_rate_limited_per_address(limited_app):
    def client(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=limited_app, client=(address, 1234))
        return httpx.AsyncClient(transport=transport, base_url="http://t")

    async with client("198.51.100.30") as one, client("198.51.100.31") as other:
        statuses = [(await one.get("/v1/stats/public")).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        limited = await one.get("/v1/stats/public")
        assert limited.json()["code"] == "RATE_LIMITED" and int(limited.headers["retry-after"]) >= 1
        assert (await other.get("/v1/stats/public")).status_code == 200
