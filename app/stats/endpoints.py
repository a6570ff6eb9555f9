"""GET /v1/stats (CONTRACT §8): counts, the online-handling rate and processing times, for a window."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from app.api.instants import Instant
from app.applications.models import Application
from app.auth.dependencies import Staff
from app.errors import Forbidden, Unauthenticated, problem_responses
from app.runtime import SessionDep

router = APIRouter(prefix="/v1", responses=problem_responses(Unauthenticated, Forbidden))


class ServiceStats(BaseModel):
    service: str
    filed: int
    by_status: dict[str, int]
    by_channel: dict[str, int]
    decided: int
    processing_seconds_p50: float | None = Field(description="Filing to decision, decided applications only")
    processing_seconds_p95: float | None


class Stats(BaseModel):
    since: datetime | None
    until: datetime | None
    filed: int
    by_status: dict[str, int]
    by_channel: dict[str, int]
    online_rate: float | None = Field(description="Share of applications filed online among all filed in the window")
    services: list[ServiceStats]


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * q // 100))
    return round(sorted_values[int(rank) - 1], 3)


@router.get(
    "/stats",
    operation_id="get_stats",
    summary="Counts by service, status and channel; online-handling rate; processing-time p50/p95",
    tags=["window", "audit"],
    response_model=Stats,
)
async def get_stats(
    principal: Staff,
    session: SessionDep,
    since: Annotated[Instant | None, Query(description="Filed at or after")] = None,
    until: Annotated[Instant | None, Query(description="Filed before")] = None,
) -> Stats:
    window = []
    if since is not None:
        window.append(Application.created_at >= since)
    if until is not None:
        window.append(Application.created_at < until)
    counts = (
        await session.execute(
            select(Application.service, Application.status, Application.channel, func.count())
            .where(*window)
            .group_by(Application.service, Application.status, Application.channel)
        )
    ).all()
    decided = (
        await session.execute(
            select(Application.service, Application.created_at, Application.decided_at)
            .where(*window, Application.decided_at.is_not(None))
        )
    ).all()
    durations: dict[str, list[float]] = {}
    for service, created, decided_at in decided:
        assert decided_at is not None  # filtered by the query
        durations.setdefault(service, []).append((decided_at - created).total_seconds())
    per_service: dict[str, ServiceStats] = {}
    totals_status: dict[str, int] = {}
    totals_channel: dict[str, int] = {}
    for service, status, channel, n in counts:
        entry = per_service.setdefault(service, ServiceStats(service=service, filed=0, by_status={}, by_channel={},
                                                              decided=0, processing_seconds_p50=None,
                                                              processing_seconds_p95=None))
        entry.filed += n
        entry.by_status[status] = entry.by_status.get(status, 0) + n
        entry.by_channel[channel] = entry.by_channel.get(channel, 0) + n
        totals_status[status] = totals_status.get(status, 0) + n
        totals_channel[channel] = totals_channel.get(channel, 0) + n
    for service, entry in per_service.items():
        values = sorted(durations.get(service, []))
        entry.decided = len(values)
        entry.processing_seconds_p50 = percentile(values, 50)
        entry.processing_seconds_p95 = percentile(values, 95)
    filed = sum(totals_channel.values())
    return Stats(
        since=since, until=until, filed=filed, by_status=totals_status, by_channel=totals_channel,
        online_rate=round(totals_channel.get("online", 0) / filed, 4) if filed else None,
        services=sorted(per_service.values(), key=lambda s: s.service),
    )
