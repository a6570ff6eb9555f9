"""GET /v1/stats and /v1/stats/public (docs/api.md#statistics), checked against a hand count."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from app.applications.models import Application
from tests.builders import LI_NA, SHEN_GUOQIANG, ZHANG_WEI, file, no_criminal_record, temporary_identity

HQLB, XJH = "310105-HQLB", "310104-XJH"


async def _at_window(client, tokens, station: str, person: tuple[str, ...], body: dict) -> dict:
    clerk = tokens.clerk(station, sub=f"clerk@{station}")
    response = await file(client, clerk, {**body, "applicant": {"id_number": person[0], "name": person[1]}})
    assert response.status_code == 201, response.text
    return response.json()


async def _online(client, tokens, person: tuple[str, ...], body: dict) -> dict:
    response = await file(client, tokens.citizen(person[0], person[1]), body)
    assert response.status_code == 201, response.text
    return response.json()


async def _file_the_hand_counted_set(client, tokens) -> None:
    """By hand: HQLB's window files 3 (2 no-criminal-record, 1 temporary identity), XJH's window 1
    (temporary identity); 2 are filed online (1 of each). 6 in all, 2 online: a rate of 1/3."""
    await _at_window(client, tokens, HQLB, ZHANG_WEI, no_criminal_record())
    await _at_window(client, tokens, HQLB, LI_NA, no_criminal_record("visa"))
    await _at_window(client, tokens, HQLB, SHEN_GUOQIANG, temporary_identity("travel"))
    await _at_window(client, tokens, XJH, ZHANG_WEI, temporary_identity("card_lost"))
    await _online(client, tokens, SHEN_GUOQIANG, no_criminal_record())
    await _online(client, tokens, LI_NA, temporary_identity("card_expired"))


async def test_stats_by_station_service_and_day_match_a_hand_count(client, tokens):
    await _file_the_hand_counted_set(client, tokens)

    stats = (await client.get("/v1/stats", headers=tokens.auditor())).json()

    assert stats["filed"] == 6
    assert stats["by_channel"] == {"window": 4, "online": 2}
    assert stats["online_rate"] == round(2 / 6, 4)
    assert stats["by_station"] == [  # ordered by station id
        {"station_id": XJH, "name": "徐家汇派出所", "filed": 1, "by_service": {"temporary-identity-certificate": 1}},
        {
            "station_id": HQLB,
            "name": "虹桥路派出所",
            "filed": 3,
            "by_service": {"no-criminal-record-certificate": 2, "temporary-identity-certificate": 1},
        },
    ]
    services = {s["service"]: s for s in stats["by_service"]}
    assert services["no-criminal-record-certificate"]["filed"] == 3
    assert services["no-criminal-record-certificate"]["online_rate"] == round(1 / 3, 4)
    assert services["temporary-identity-certificate"]["filed"] == 3
    assert services["temporary-identity-certificate"]["online_rate"] == round(1 / 3, 4)
    assert stats["services"] == stats["by_service"]
    assert len(stats["by_day"]) == 1 and stats["by_day"][0]["filed"] == 6
    assert stats["by_day"][0]["online_rate"] == round(2 / 6, 4)


async def test_stats_window_and_shanghai_days(client, tokens, collaborators):
    await _file_the_hand_counted_set(client, tokens)
    # 17:30 UTC on 1 January is 01:30 on 2 January in Shanghai: that is the day it counts for.
    async with collaborators.engine.begin() as conn:
        await conn.execute(
            update(Application)
            .where(Application.channel == "online")
            .values(created_at=datetime(2026, 1, 1, 17, 30, tzinfo=UTC))
        )
    clerk = tokens.clerk()

    stats = (await client.get("/v1/stats", headers=clerk)).json()
    days = {d["day"]: d for d in stats["by_day"]}
    assert days["2026-01-02"]["filed"] == 2 and days["2026-01-02"]["online_rate"] == 1.0
    assert "2026-01-01" not in days

    january = (
        await client.get(
            "/v1/stats", headers=clerk, params={"since": "2026-01-01T00:00:00Z", "until": "2026-02-01T00:00:00Z"}
        )
    ).json()
    assert january["filed"] == 2 and january["online_rate"] == 1.0 and january["by_station"] == []
    later = (await client.get("/v1/stats", headers=clerk, params={"since": "2026-02-01T00:00:00Z"})).json()
    assert later["filed"] == 4 and later["online_rate"] == 0.0
    assert sum(s["filed"] for s in later["by_station"]) == 4


async def test_stats_are_for_staff_only(client, tokens):
    response = await client.get("/v1/stats", headers=tokens.citizen(*ZHANG_WEI[:2]))
    assert response.status_code == 403
    assert (await client.get("/v1/stats")).status_code == 401
