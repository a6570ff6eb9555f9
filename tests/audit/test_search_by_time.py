"""A search of the request log by time (`since`, `until`) finds exactly the events of its window, in chain
order, also when events are sealed out of time order and a window's edges fall inside an hour: the sealer's
per-hour positions (app/audit/hours.py) only tell the walk where to start, never what to leave out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import insert

from app.audit.models import EVENTS_TABLE, insert_row
from app.audit.sealing import seal_all

BASE = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)
# Minutes after BASE, in the order the events are committed (so sealed): late ones come after newer ones.
OFFSETS = [5, 50, 61, 20, 125, 59, 180, 119, 300, 1, 240, 121]


async def _commit_events(collaborators: Any) -> dict[str, datetime]:
    occurred = {f"time-search-{i}": BASE + timedelta(minutes=m) for i, m in enumerate(OFFSETS)}
    rows = [
        insert_row({"occurred_at": at, "kind": "request", "action": action, "outcome": "ok", "channel": "api"})
        for action, at in occurred.items()
    ]
    async with collaborators.sessionmaker() as session:
        for row in rows:  # one commit each, as separate requests would
            await session.execute(insert(EVENTS_TABLE), [row])
            await session.commit()
    await seal_all(collaborators.sessionmaker)
    return occurred


async def _search(client: Any, tokens: Any, **window: datetime) -> list[dict[str, Any]]:
    params = {name: at.isoformat() for name, at in window.items()}
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await client.get(
            "/v1/audit/events", params={**params, "limit": 3, **({"cursor": cursor} if cursor else {})},
            headers=tokens.auditor(),
        )  # fmt: skip
        assert page.status_code == 200, page.text
        body = page.json()
        found += [e for e in body["items"] if e["action"].startswith("time-search-")]
        cursor = body["next_cursor"]
        if cursor is None:
            return found


async def test_each_window_finds_exactly_its_events_in_chain_order(client, tokens, collaborators):
    occurred = await _commit_events(collaborators)
    windows = [
        {"since": BASE + timedelta(minutes=30), "until": BASE + timedelta(minutes=121)},  # edges inside hours
        {"since": BASE + timedelta(minutes=60)},
        {"until": BASE + timedelta(minutes=60)},
        {"since": BASE + timedelta(minutes=119), "until": BASE + timedelta(minutes=126)},
        {"since": BASE + timedelta(hours=9), "until": BASE + timedelta(hours=10)},  # no event at all
        {"since": BASE + timedelta(minutes=59, seconds=30), "until": BASE + timedelta(minutes=61)},
    ]
    for window in windows:
        since, until = window.get("since"), window.get("until")
        expected = {
            action
            for action, at in occurred.items()
            if (since is None or at >= since) and (until is None or at < until)
        }
        found = await _search(client, tokens, **window)
        assert {e["action"] for e in found} == expected, window
        seqs = [e["seq"] for e in found]
        assert seqs == sorted(seqs), window


async def test_a_window_given_in_shanghai_time_is_the_same_instants(client, tokens, collaborators):
    occurred = await _commit_events(collaborators)
    shanghai = timezone(timedelta(hours=8))
    since = (BASE + timedelta(minutes=55)).astimezone(shanghai)
    until = (BASE + timedelta(minutes=125)).astimezone(shanghai)
    found = {e["action"] for e in await _search(client, tokens, since=since, until=until)}
    assert found == {a for a, at in occurred.items() if since <= at < until}
