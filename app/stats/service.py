"""CONTRACT §8: counts, the online-handling rate and processing times, for a window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.stats import repository
from app.stats.schemas import ServiceStats, Stats


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * q // 100))
    return round(sorted_values[int(rank) - 1], 3)


def _tally(counter: dict[str, int], key: str, n: int) -> None:
    counter[key] = counter.get(key, 0) + n


async def stats(*, session: AsyncSession, since: datetime | None, until: datetime | None) -> Stats:
    counts = await repository.counts(session, since=since, until=until)
    durations = await repository.processing_seconds(session, since=since, until=until)
    per_service: dict[str, ServiceStats] = {}
    totals_status: dict[str, int] = {}
    totals_channel: dict[str, int] = {}
    for service, status, channel, n in counts:
        entry = per_service.setdefault(
            service,
            ServiceStats(
                service=service,
                filed=0,
                by_status={},
                by_channel={},
                decided=0,
                processing_seconds_p50=None,
                processing_seconds_p95=None,
            ),
        )
        entry.filed += n
        _tally(entry.by_status, status, n)
        _tally(entry.by_channel, channel, n)
        _tally(totals_status, status, n)
        _tally(totals_channel, channel, n)
    for service, entry in per_service.items():
        values = sorted(durations.get(service, []))
        entry.decided = len(values)
        entry.processing_seconds_p50 = percentile(values, 50)
        entry.processing_seconds_p95 = percentile(values, 95)
    filed = sum(totals_channel.values())
    return Stats(
        since=since,
        until=until,
        filed=filed,
        by_status=totals_status,
        by_channel=totals_channel,
        online_rate=round(totals_channel.get("online", 0) / filed, 4) if filed else None,
        services=sorted(per_service.values(), key=lambda s: s.service),
    )
