"""Statistics over whole past days come from kept figures (app/stats/rollups.py), and say the same as the
applications themselves: after a case filed on a past day is decided, and across a window's ragged edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select, text, update

from app.applications.late_changes import LateChanges
from app.applications.models import Application
from app.clock import SHANGHAI
from app.stats import histogram
from app.stats.models import StatsPeriod
from app.stats.repository import Window
from app.stats.rollups import plan
from tests.builders import LI_NA, SHEN_GUOQIANG, WANG_FANG, ZHANG_WEI, file, file_residence_permit, no_criminal_record

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=SHANGHAI)


def _at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


def test_a_window_is_cut_into_settled_whole_days_whole_months_and_edges():
    cut = plan(Window(_at(date(2026, 1, 1), 10), _at(date(2026, 3, 3), 12)), now=NOW, earliest=_at(date(2025, 6, 1)))
    assert cut.days[0] == date(2026, 1, 2) and cut.days[-1] == date(2026, 3, 2)
    # January less its first day, February, and two days of March.
    assert cut.parts() == (
        [date(2026, 1, 1), date(2026, 2, 1)],
        [("day", date(2026, 1, 1), -1), ("day", date(2026, 3, 1), 1), ("day", date(2026, 3, 2), 1)],
    )
    # Every day from the first filing's month: the running totals add them all up.
    assert cut.to_keep()[0] == date(2025, 6, 1) and cut.to_keep()[-1] == date(2026, 3, 2)
    assert cut.raw == [
        Window(_at(date(2026, 1, 1), 10), _at(date(2026, 1, 2), 0)),
        Window(_at(date(2026, 3, 3), 0), _at(date(2026, 3, 3), 12)),
    ]
    # January from its tenth day (the month less its first nine), February, and March to its eighth day.
    cut = plan(Window(_at(date(2026, 1, 10), 0), _at(date(2026, 3, 9), 0)), now=NOW, earliest=_at(date(2025, 6, 1)))
    assert cut.parts() == (
        [date(2026, 1, 1), date(2026, 2, 1)],
        [("mtd", date(2026, 1, 9), -1), ("mtd", date(2026, 3, 8), 1)],
    )
    # Within a month: the month to the window's last day less the month to the day before its first.
    cut = plan(Window(_at(date(2026, 3, 3), 0)), now=NOW, earliest=_at(date(2025, 6, 1)))
    assert (cut.days[0], cut.days[-1]) == (date(2026, 3, 3), date(2026, 3, 9))
    assert cut.parts() == ([], [("mtd", date(2026, 3, 9), 1), ("mtd", date(2026, 3, 2), -1)])
    assert cut.to_keep() == [date(2026, 3, d) for d in range(1, 10)]
    # Open at both ends: from the first filing's month, to yesterday (over for more than an hour).
    cut = plan(Window(), now=NOW, earliest=_at(date(2026, 1, 31), 0))
    assert (cut.days[0], cut.days[-1], cut.parts()[0]) == (
        date(2026, 1, 1),
        date(2026, 3, 9),
        [date(2026, 1, 1), date(2026, 2, 1)],
    )
    assert cut.raw == [Window(_at(date(2026, 3, 10), 0), None)]
    # At 00:30 yesterday is not settled yet: a transaction begun before midnight may still commit.
    at_half_past = _at(date(2026, 3, 10), 0) + timedelta(minutes=30)
    cut = plan(Window(_at(date(2026, 3, 8), 0)), now=at_half_past, earliest=_at(date(2026, 1, 1)))
    assert cut.days == [date(2026, 3, 8)]
    # No day before the first filing's month is kept, however early the window starts.
    cut = plan(Window(datetime(1900, 1, 1, tzinfo=UTC)), now=NOW, earliest=_at(date(2026, 3, 7), 9))
    assert (cut.days[0], cut.days[-1]) == (date(2026, 3, 1), date(2026, 3, 9))
    assert cut.raw[0] == Window(datetime(1900, 1, 1, tzinfo=UTC), _at(date(2026, 3, 1), 0))
    # Nothing filed, or less than a whole day: the applications are read.
    assert plan(Window(), now=NOW, earliest=None).days == []
    narrow = Window(_at(date(2026, 3, 1), 9), _at(date(2026, 3, 1), 17))
    assert plan(narrow, now=NOW, earliest=_at(date(2026, 1, 1))).raw == [narrow]


def test_a_percentile_is_within_two_and_a_half_percent():
    for seconds in (0.7, 1.0, 2.5, 3600.0, 259200.0):
        bands = {histogram.band(seconds): 1}
        assert abs(histogram.percentile(bands, 50) - seconds) / seconds <= 0.025
    bands = histogram.add({}, [(histogram.band(s), 1) for s in [1.0] * 95 + [7200.0] * 5])
    assert abs(histogram.percentile(bands, 95) - 1.0) <= 0.025
    assert abs(histogram.percentile(bands, 96) - 7200.0) <= 180
    assert histogram.percentile({}, 50) is None


async def _move(collaborators, where, day: date, hour: int = 12) -> None:
    async with collaborators.engine.begin() as conn:
        await conn.execute(update(Application).where(where).values(created_at=_at(day, hour)))


async def _stats(client, tokens, **params) -> dict:
    response = await client.get("/v1/stats", headers=tokens.auditor(), params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_case_from_a_past_day_decided_later_changes_that_days_figures(client, tokens, collaborators):
    in_review = (await file_residence_permit(client, tokens.citizen(*WANG_FANG[:2]), WANG_FANG[2])).json()
    assert in_review["status"] == "needs_review"
    for person in (ZHANG_WEI, LI_NA):
        assert (await file(client, tokens.citizen(*person[:2]), no_criminal_record())).status_code == 201
    month_start = (datetime.now(SHANGHAI).date().replace(day=1) - timedelta(days=40)).replace(day=1)
    earlier = month_start + timedelta(days=9)  # the tenth of a month that is over
    await _move(collaborators, Application.id.is_not(None), earlier)
    day = {"since": _at(earlier, 0).isoformat(), "until": _at(earlier + timedelta(days=1), 0).isoformat()}
    to_day = {"since": _at(month_start, 0).isoformat(), "until": day["until"]}
    month = {
        "since": _at(month_start, 0).isoformat(),
        "until": _at((month_start + timedelta(days=32)).replace(day=1), 0).isoformat(),
    }

    for window in (day, to_day, month):
        before = await _stats(client, tokens, **window)
        assert before["filed"] == 3 and before["by_status"] == {"needs_review": 1, "issued": 2}
    async with collaborators.sessionmaker() as session:
        kept = set((await session.execute(select(StatsPeriod.grain, StatsPeriod.start))).all())
    assert {("day", earlier), ("mtd", earlier), ("month", month_start), ("upto", month_start)} <= kept

    rejected = await client.post(
        f"/v1/applications/{in_review['id']}/decision",
        headers=tokens.clerk(),
        json={"outcome": "reject", "reason": "无居住证明 / no proof of residence"},
    )
    assert rejected.status_code == 200, rejected.text
    async with collaborators.sessionmaker() as session:
        assert await session.scalar(select(LateChanges.changes).where(LateChanges.day == earlier)) == 1

    for window in (day, to_day, month):
        after = await _stats(client, tokens, **window)
        assert after["by_status"] == {"rejected": 1, "issued": 2}, window
        residence = next(s for s in after["by_service"] if s["service"] == in_review["service"])
        assert residence["decided"] == 1 and residence["processing_seconds_p50"] > 39 * 86400


async def test_kept_figures_say_what_the_applications_say(client, tokens, collaborators):
    """The same window read while its days are kept (a month, days, ragged edges) and, with every day in it
    moved to today, straight from the applications: the same figures."""
    clerk = tokens.clerk("310105-HQLB", sub="clerk@310105-HQLB")
    people = (ZHANG_WEI, LI_NA, SHEN_GUOQIANG)
    for person in people:
        assert (await file(client, tokens.citizen(*person[:2]), no_criminal_record())).status_code == 201
        at_window = {**no_criminal_record("visa"), "applicant": {"id_number": person[0], "name": person[1]}}
        assert (await file(client, clerk, at_window)).status_code == 201
    ids = (await _ids(collaborators))[:6]
    first_of_month = (datetime.now(SHANGHAI).date().replace(day=1) - timedelta(days=40)).replace(day=1)
    spread = [
        (first_of_month - timedelta(days=1), 23),  # the evening before the month: a ragged edge
        (first_of_month, 0),
        (first_of_month + timedelta(days=9), 12),
        (first_of_month + timedelta(days=9), 18),
        (first_of_month + timedelta(days=40), 8),  # next month, not whole in the window
        (first_of_month + timedelta(days=41), 20),  # the last, partial day
    ]
    for app_id, (day, hour) in zip(ids, spread, strict=True):
        await _move(collaborators, Application.id == app_id, day, hour)
    window = {
        "since": _at(first_of_month - timedelta(days=1), 22).isoformat(),
        "until": _at(first_of_month + timedelta(days=41), 21).isoformat(),
    }

    kept = await _stats(client, tokens, **window)
    async with collaborators.sessionmaker() as session:
        grains = set((await session.execute(select(StatsPeriod.grain))).scalars())
    assert grains == {"day", "month", "upto", "mtd"}  # the next month to the window's last whole day
    assert kept["filed"] == 6 and kept["by_channel"] == {"online": 3, "window": 3}
    assert len(kept["by_day"]) == 5

    # Within the month, its third to its thirteenth day: the two filed on its tenth.
    within = {
        "since": _at(first_of_month + timedelta(days=2), 0).isoformat(),
        "until": _at(first_of_month + timedelta(days=13), 0).isoformat(),
    }
    inside = await _stats(client, tokens, **within)
    assert inside["filed"] == 2 and inside["by_channel"] == {"online": 1, "window": 1}
    assert [d["day"] for d in inside["by_day"]] == [str(first_of_month + timedelta(days=9))]

    # From the month's third day: the month less its first two days (the one filed on its first is out).
    later = await _stats(client, tokens, **{**window, "since": _at(first_of_month + timedelta(days=2), 0).isoformat()})
    assert later["filed"] == 4 and sum(d["filed"] for d in later["by_day"]) == 4

    # The same six, read from the applications: a window of today only, nothing in it settled.
    today = datetime.now(UTC)
    await _move(collaborators, Application.id.in_(ids), today.astimezone(SHANGHAI).date(), 0)
    raw = await _stats(client, tokens, since=_at(today.astimezone(SHANGHAI).date(), 0).isoformat())
    for key in ("filed", "by_status", "by_channel", "online_rate", "by_station"):
        assert kept[key] == raw[key], key
    for mine, theirs in zip(kept["by_service"], raw["by_service"], strict=True):
        assert {k: v for k, v in mine.items() if "processing" not in k} == {
            k: v for k, v in theirs.items() if "processing" not in k
        }


async def _ids(collaborators) -> list[str]:
    async with collaborators.sessionmaker() as session:
        return list((await session.execute(select(Application.id).order_by(Application.created_at))).scalars())


async def test_a_first_read_over_many_days_leaves_the_planner_knowing_every_kept_total(client, tokens, collaborators):
    """A database filled in bulk computes every day at its first read; the tables' statistics are then taken
    after the totals too, or the planner estimates a grain it never saw at one row and sorts the sums."""
    if collaborators.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's planner statistics")
    clerk = tokens.clerk("310105-HQLB", sub="clerk@310105-HQLB")
    month_start = (datetime.now(SHANGHAI).date().replace(day=1) - timedelta(days=40)).replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    # Two kinds of filing (online, at a window) on a day of a whole month and on one of the next month.
    for online, at_window, day in ((ZHANG_WEI, LI_NA, month_start), (WANG_FANG, SHEN_GUOQIANG, next_month)):
        by_clerk = {**no_criminal_record("visa"), "applicant": {"id_number": at_window[0], "name": at_window[1]}}
        assert (await file(client, clerk, by_clerk)).status_code == 201
        assert (await file(client, tokens.citizen(*online[:2]), no_criminal_record())).status_code == 201
        await _move(collaborators, Application.created_at > _at(day, 0), day + timedelta(days=4))
    window = {"since": _at(month_start, 0).isoformat(), "until": _at(next_month + timedelta(days=12), 0).isoformat()}
    assert (await _stats(client, tokens, **window))["filed"] == 4

    async with collaborators.engine.connect() as conn:
        for grain in ("month", "upto", "mtd"):
            kept = await conn.scalar(text(f"SELECT count(*) FROM stats_filings WHERE grain = '{grain}'"))
            explained = await conn.scalar(
                text(f"EXPLAIN (FORMAT JSON) SELECT * FROM stats_filings WHERE grain = '{grain}'")
            )
            assert kept == 2 and explained[0]["Plan"]["Plan Rows"] == kept, grain
