"""The citizen's feed, and polling politely: ETag / If-None-Match, Location and Retry-After."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.builders import LI_NA, ZHANG_WEI, file, no_criminal_record


async def test_the_feed_lists_only_my_events_newest_last_and_since_id_returns_what_is_new(
    client, tokens, collaborators
):
    zhang = tokens.citizen(*ZHANG_WEI[:2])
    first = (await file(client, zhang, no_criminal_record())).json()
    await file(client, tokens.citizen(*LI_NA[:2]), no_criminal_record())
    # Filed for him at a window: still his, in his feed.
    window = await file(
        client,
        tokens.clerk(),
        {**no_criminal_record("visa"), "applicant": {"id_number": ZHANG_WEI[0], "name": ZHANG_WEI[1]}},
    )
    feed = (await client.get("/v1/me/notifications", headers=zhang)).json()
    assert [(n["type"], n["application_id"]) for n in feed["items"]] == [
        ("application.issued", first["id"]),
        ("application.issued", window.json()["id"]),
    ]
    assert feed["items"][0]["id"] < feed["items"][1]["id"] == feed["last_id"]
    assert "subject" not in feed["items"][0]

    since = feed["items"][0]["id"]
    newer = (await client.get(f"/v1/me/notifications?since_id={since}", headers=zhang)).json()
    assert [n["application_id"] for n in newer["items"]] == [window.json()["id"]]
    nothing = (await client.get(f"/v1/me/notifications?since_id={feed['last_id']}", headers=zhang)).json()
    assert nothing == {"items": [], "last_id": feed["last_id"]}


async def test_the_feed_is_for_citizens_and_refuses_a_bad_since_id(client, tokens):
    assert (await client.get("/v1/me/notifications", headers=tokens.clerk())).status_code == 403
    bad = await client.get("/v1/me/notifications?since_id=abc", headers=tokens.citizen(*ZHANG_WEI[:2]))
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


async def test_a_202_says_where_to_poll_and_when_and_an_unchanged_application_answers_304(
    client, tokens, collaborators
):
    headers = tokens.citizen(*ZHANG_WEI[:2])
    collaborators.agencies.police_simulator.set_faults(down=True)
    filed = await file(client, headers, no_criminal_record())
    assert filed.status_code == 202
    location = filed.headers["Location"]
    assert location == f"/v1/applications/{filed.json()['id']}"
    assert 1 <= int(filed.headers["Retry-After"]) <= 7  # the first retry is due in about 5 s

    first = await client.get(location, headers=headers)
    assert first.status_code == 200 and first.headers["Retry-After"]
    tag = first.headers["ETag"]
    unchanged = await client.get(location, headers={**headers, "If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.headers["ETag"] == tag and unchanged.content == b""
    assert (await client.get(location, headers={**headers, "If-None-Match": f'"other", W/{tag}'})).status_code == 304

    collaborators.agencies.police_simulator.reset()
    await asyncio.sleep(0.3)
    await collaborators.worker.process_due(now=datetime.now(UTC) + timedelta(hours=1))
    changed = await client.get(location, headers={**headers, "If-None-Match": tag})
    assert changed.status_code == 200 and changed.json()["status"] == "issued"
    assert changed.headers["ETag"] != tag and "Retry-After" not in changed.headers


async def test_another_citizen_gets_404_not_304_for_an_etag_of_an_application_not_theirs(client, tokens):
    mine = await file(client, tokens.citizen(*ZHANG_WEI[:2]), no_criminal_record())
    tag = (await client.get(f"/v1/applications/{mine.json()['id']}", headers=tokens.citizen(*ZHANG_WEI[:2]))).headers[
        "ETag"
    ]
    theirs = await client.get(
        f"/v1/applications/{mine.json()['id']}", headers={**tokens.citizen(*LI_NA[:2]), "If-None-Match": tag}
    )
    assert theirs.status_code == 404
    assert mine.status_code == 201 and mine.headers["Location"].endswith(mine.json()["id"])
