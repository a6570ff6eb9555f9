"""The registry of the 309 comprehensive windows (docs/windows.md): counts, the fixed stations, filters,
nearest first, pagination, caching, rate limits and refusals, through GET /v1/stations."""

from __future__ import annotations

import json

import httpx
import pytest

from app.main import create_app
from integrations.datasets import stations as registry_file
from tests.stations.windows import HQLB

LINES = {"household", "public_order", "exit_entry", "traffic"}
NAMED_BY_TESTS_AND_DEMO = {"310105-HQLB", "310104-XJH", "310101-NJDL", "310106-JAS"}


async def _all(client: httpx.AsyncClient, **params: str) -> list[dict]:
    items, cursor = [], None
    while True:
        page = await client.get(
            "/v1/stations", params={**params, "limit": 100, **({"cursor": cursor} if cursor else {})}
        )
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if not cursor:
            return items


async def test_the_registry_has_309_stations_59_in_community_affairs_centres(client):
    stations = await _all(client)
    assert len(stations) == 309 and len({s["id"] for s in stations}) == 309
    assert sum(s["in_community_centre"] for s in stations) == 59
    assert NAMED_BY_TESTS_AND_DEMO <= {s["id"] for s in stations}
    assert len({s["district"] for s in stations}) == 16
    for station in stations:
        assert station["id"][:2] == "31" and station["name"].endswith("派出所")
        assert station["address"].startswith(f"上海市{station['district']}")
        assert set(station["lines"]) <= LINES and {"household", "public_order"} <= set(station["lines"])
        assert station["opening_hours"] and all(p["opens"] < p["closes"] for p in station["opening_hours"])
        # Shanghai, from Jinshan in the south to Chongming's north shore.
        assert 30.6 < station["location"]["lat"] < 31.9 and 120.8 < station["location"]["lon"] < 122.2
        assert station["distance_m"] is None
        if station["in_community_centre"]:
            assert "社区事务受理服务中心" in station["address"] and set(station["lines"]) == LINES


async def test_one_station_by_id_and_an_unknown_one(client):
    hqlb = await client.get(f"/v1/stations/{HQLB}")
    assert hqlb.status_code == 200
    assert hqlb.json()["name"] == "虹桥路派出所" and hqlb.json()["district"] == "长宁区"
    missing = await client.get("/v1/stations/310105-NOPE")
    assert missing.status_code == 404 and missing.json()["code"] == "STATION_NOT_FOUND"


async def test_filters_by_district_by_name_or_code_and_by_line(client):
    changning = await _all(client, district="长宁区")
    assert changning and {s["district"] for s in changning} == {"长宁区"}
    assert [s["id"] for s in await _all(client, district="310105")] == [s["id"] for s in changning]
    assert [s["id"] for s in await _all(client, district="长宁")] == [s["id"] for s in changning]
    traffic = await _all(client, line="traffic")
    assert 0 < len(traffic) < 309 and all("traffic" in s["lines"] for s in traffic)
    both = await _all(client, district="浦东新区", line="exit_entry")
    assert both and all(s["district"] == "浦东新区" and "exit_entry" in s["lines"] for s in both)
    pudong = {s["id"] for s in await _all(client, district="浦东新区")}
    exit_entry = {s["id"] for s in await _all(client, line="exit_entry")}
    assert {s["id"] for s in both} == pudong & exit_entry


async def test_near_sorts_nearest_first_and_pages_without_overlap(client):
    near = "31.2006,121.4170"  # by 虹桥路1366号
    one_page = (await client.get("/v1/stations", params={"near": near, "limit": 100})).json()["items"]
    assert one_page[0]["id"] == HQLB and one_page[0]["distance_m"] < 200
    distances = [s["distance_m"] for s in one_page]
    assert distances == sorted(distances)
    paged = await _all(client, near=near)
    assert len(paged) == 309 and [s["id"] for s in paged[:100]] == [s["id"] for s in one_page]
    assert [s["distance_m"] for s in paged] == sorted(s["distance_m"] for s in paged)
    small = await client.get("/v1/stations", params={"near": near, "line": "traffic", "limit": 3})
    assert len(small.json()["items"]) == 3 and all("traffic" in s["lines"] for s in small.json()["items"])
    # Lujiazui is nowhere near Hongqiao: its nearest are in Pudong or across the river in Huangpu.
    lujiazui = (await client.get("/v1/stations", params={"near": "31.2397,121.4998", "limit": 3})).json()["items"]
    assert {s["district"] for s in lujiazui} <= {"浦东新区", "黄浦区", "虹口区"}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"distrct": "长宁区"}, "UNKNOWN_PARAMETER"),
        ({"district": "火星区"}, "UNKNOWN_DISTRICT"),
        ({"near": "121.4,31.2,9"}, "INVALID_LOCATION"),
        ({"near": "95,121"}, "INVALID_LOCATION"),
        ({"line": "parking"}, "VALIDATION_FAILED"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "INVALID_CURSOR"),
        ({"limit": "101"}, "VALIDATION_FAILED"),
    ],
)
async def test_bad_queries_are_refused_with_a_stable_code(client, params, code):
    answer = await client.get("/v1/stations", params=params)
    assert answer.status_code == 422 and answer.json()["code"] == code


async def test_a_cursor_of_one_ordering_is_refused_by_the_other(client):
    by_id = (await client.get("/v1/stations", params={"limit": 2})).json()["next_cursor"]
    answer = await client.get("/v1/stations", params={"near": "31.2,121.4", "cursor": by_id})
    assert answer.status_code == 422 and answer.json()["code"] == "INVALID_CURSOR"


async def test_the_registry_is_cacheable(client):
    first = await client.get("/v1/stations", params={"district": "长宁区"})
    assert first.headers["cache-control"].startswith("public, max-age=")
    again = await client.get(
        "/v1/stations", params={"district": "长宁区"}, headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    other = await client.get(
        "/v1/stations", params={"district": "徐汇区"}, headers={"If-None-Match": first.headers["etag"]}
    )
    assert other.status_code == 200 and other.headers["etag"] != first.headers["etag"]
    station = await client.get(f"/v1/stations/{HQLB}")
    assert (
        await client.get(f"/v1/stations/{HQLB}", headers={"If-None-Match": station.headers["etag"]})
    ).status_code == 304


async def test_the_public_look_ups_are_rate_limited_per_client_address(settings):
    app = create_app(settings.model_copy(update={"rate_limit_stations": "3/minute"}), start_worker=False)
    async with app.router.lifespan_context(app):

        def client(address: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=(address, 1234))
            return httpx.AsyncClient(transport=transport, base_url="http://t")

        async with client("198.51.100.31") as one, client("198.51.100.32") as other:
            paths = ["/v1/stations", f"/v1/stations/{HQLB}", f"/v1/stations/{HQLB}/slots", "/v1/stations"]
            assert [(await one.get(p)).status_code for p in paths] == [200, 200, 200, 429]
            limited = await one.get("/v1/stations")
            assert limited.json()["code"] == "RATE_LIMITED" and int(limited.headers["retry-after"]) >= 1
            assert (await other.get("/v1/stations")).status_code == 200


def test_stations_json_is_what_the_generator_builds():
    assert json.loads(registry_file.STATIONS_PATH.read_text(encoding="utf-8")) == {"stations": registry_file.build()}, (
        "run `python -m integrations.datasets.stations` after editing integrations/datasets/stations.py"
    )
    assert registry_file.load_stations() == registry_file.build()


def test_a_malformed_registry_is_refused_at_load():
    good = registry_file.build()[0]
    for bad in ({**good, "id": "HQLB"}, {**good, "lines": ["parking"]}, {**good, "location": {"lat": 95, "lon": 121}}):
        with pytest.raises(ValueError):
            registry_file.stations_from({"stations": [bad]})
