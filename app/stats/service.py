"""CONTRACT §8, 10.5: the figures for staff (overall, by service, station and day) and for the public."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalogue.registry import SERVICES
from app.catalogue.schemas import LocalizedText
from app.stations.registry import StationRegistry
from app.stats import figures, repository
from app.stats.repository import Window
from app.stats.schemas import PublicServiceCount, PublicStats, Stats


async def stats(
    *, session: AsyncSession, stations: StationRegistry, since: datetime | None, until: datetime | None, now: datetime
) -> Stats:
    window = Window(since, until)
    counts = await repository.counts(session, window)
    per_service = figures.by_service(counts, await repository.decided(session, window))
    by_status: dict[str, int] = {}
    by_channel: dict[str, int] = {}
    for _, status, channel, n in counts:
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
        by_station=figures.by_station(await repository.window_filings_by_station(session, window), stations.name_of),
        by_day=figures.by_day(await repository.filings_by_day(session, window)),
        appointments=appointments,
        appointments_no_show_rate=figures.no_show_rate(
            sum(a.no_show for a in appointments), sum(a.arrived for a in appointments)
        ),
        services=per_service,
    )


async def public_stats(*, session: AsyncSession, since: datetime | None, until: datetime | None) -> PublicStats:
    """Rates and counts only: nothing about any person or station."""
    filed: dict[str, int] = {}
    online: dict[str, int] = {}
    issued: dict[str, int] = {}
    for service, status, channel, n in await repository.counts(session, Window(since, until)):
        figures.tally(filed, service, n)
        figures.tally(online, service, n if channel == figures.ONLINE else 0)
        figures.tally(issued, service, n if status == "issued" else 0)
    total = sum(filed.values())
    return PublicStats(
        since=since,
        until=until,
        filed=total,
        online_rate=figures.online_rate(sum(online.values()), total),
        by_service=[
            PublicServiceCount(
                service=code,
                name=LocalizedText(**definition.name.as_dict()),
                filed=filed.get(code, 0),
                online=online.get(code, 0),
                issued=issued.get(code, 0),
            )
            for code, definition in SERVICES.items()
        ],
    )
