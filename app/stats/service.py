"""The figures for staff (overall, by service, station and day) and for the public
(docs/api.md#statistics, #public-figures)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.catalogue.registry import SERVICES
from app.catalogue.schemas import LocalizedText
from app.clock import SHANGHAI
from app.stations.registry import StationRegistry
from app.stats import figures, repository, rollups
from app.stats.figures import SmallCounts
from app.stats.repository import Window
from app.stats.schemas import PublicServiceCount, PublicStats, Stats


async def stats(
    *,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    stations: StationRegistry,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
) -> Stats:
    window = Window(since, until)
    found = await rollups.facts(sessionmaker, window, now=now)
    per_service = figures.by_service(found.counts, found.bands)
    by_status: dict[str, int] = {}
    by_channel: dict[str, int] = {}
    for _, status, channel, n in found.counts:
        figures.tally(by_status, status, n)
        figures.tally(by_channel, channel, n)
    filed = sum(by_channel.values())
    appointments = figures.appointments(
        await repository.appointments_by_station_day(session, window, now=now), stations.name_of
    )
    return Stats(
        since=since,
        until=until,
        filed=filed,
        by_status=by_status,
        by_channel=by_channel,
        online_rate=figures.online_rate(by_channel.get(figures.ONLINE, 0), filed),
        by_service=per_service,
        by_station=figures.by_station(found.stations, stations.name_of),
        by_day=figures.by_day(found.days),
        appointments=appointments,
        appointments_no_show_rate=figures.no_show_rate(
            sum(a.no_show for a in appointments), sum(a.arrived for a in appointments)
        ),
        services=per_service,
    )


async def public_stats(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    first_day: date | None,
    last_day: date | None,
    min_count: int,
    today: date,
    now: datetime,
) -> PublicStats:
    """Rates and counts only, over whole Shanghai days that are over (today is not yet whole: watching its
    count move would time one person's filing); every figure that could single out a few people is null."""
    last_day = min(last_day, today - timedelta(days=1)) if last_day is not None else today - timedelta(days=1)
    window = Window(
        _shanghai_midnight(first_day) if first_day else None, _shanghai_midnight(last_day + timedelta(days=1))
    )
    filed: dict[str, int] = {}
    online: dict[str, int] = {}
    issued: dict[str, int] = {}
    for service, status, channel, n in (await rollups.facts(sessionmaker, window, now=now)).counts:
        figures.tally(filed, service, n)
        figures.tally(online, service, n if channel == figures.ONLINE else 0)
        figures.tally(issued, service, n if status == "issued" else 0)
    small = SmallCounts(min_count)
    total = sum(filed.values())
    total_online = sum(online.values())
    hidden = sum(n for n in filed.values() if small.hides(n))
    return PublicStats(
        since=first_day,
        until=last_day,
        min_count=min_count,
        # The total minus the services shown would give away the hidden ones when only a few hide there.
        filed=None if small.hides(hidden) and hidden else small.count(total),
        online_rate=figures.online_rate(total_online, total) if small.split_shown(total_online, total) else None,
        by_service=[
            PublicServiceCount(
                service=code,
                name=LocalizedText(**definition.name.as_dict()),
                filed=small.count(filed.get(code, 0)),
                online=small.part(online.get(code, 0), filed.get(code, 0)),
                issued=small.part(issued.get(code, 0), filed.get(code, 0)),
            )
            for code, definition in SERVICES.items()
        ],
    )


def _shanghai_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)
