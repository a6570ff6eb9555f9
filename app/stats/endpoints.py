"""GET /v1/stats (CONTRACT §8, 10.5): counts, the online-handling rate and processing times, overall, by
service, by station and by day, for a window of filing times; GET /v1/stats/public: what the city publishes."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.api.instants import Instant
from app.applications.schemas import LocalizedText
from app.auth.dependencies import Staff
from app.errors import Forbidden, Unauthenticated, problem_responses
from app.runtime import SessionDep
from app.services.registry import SERVICES
from app.stats import figures, repository
from app.stats.repository import Window
from app.stats.schemas import PublicServiceCount, PublicStats, Stats

router = APIRouter(prefix="/v1")
PUBLIC_MAX_AGE_S = 300

Since = Annotated[Instant | None, Query(description="Filed at or after (with its time zone)")]
Until = Annotated[Instant | None, Query(description="Filed before (with its time zone)")]


@router.get(
    "/stats",
    operation_id="get_stats",
    summary="Counts and the online-handling rate overall, by service, by station and by day; processing times",
    tags=["window", "audit"],
    response_model=Stats,
    responses=problem_responses(Unauthenticated, Forbidden),
)
async def get_stats(principal: Staff, session: SessionDep, since: Since = None, until: Until = None) -> Stats:
    window = Window(since, until)
    counts = await repository.counts(session, window)
    per_service = figures.by_service(counts, await repository.decided(session, window))
    by_status: dict[str, int] = {}
    by_channel: dict[str, int] = {}
    for _, status, channel, n in counts:
        by_status[status] = by_status.get(status, 0) + n
        by_channel[channel] = by_channel.get(channel, 0) + n
    filed = sum(by_channel.values())
    return Stats(
        since=since,
        until=until,
        filed=filed,
        by_status=by_status,
        by_channel=by_channel,
        online_rate=figures.online_rate(by_channel.get(figures.ONLINE, 0), filed),
        by_service=per_service,
        by_station=figures.by_station(await repository.window_filings_by_station(session, window)),
        by_day=figures.by_day(await repository.filings_by_day(session, window)),
        services=per_service,
    )


@router.get(
    "/stats/public",
    operation_id="get_public_stats",
    summary="The city-wide online-handling rate and per-service counts (public, cacheable)",
    description="No per-person or per-station data. Answers with `Cache-Control: public` and an `ETag`; "
    "`If-None-Match` gets 304.",
    tags=["public"],
    response_model=PublicStats,
    responses={304: {"description": "Not modified"}},
)
async def get_public_stats(
    request: Request, response: Response, session: SessionDep, since: Since = None, until: Until = None
) -> PublicStats | Response:
    counts = await repository.counts(session, Window(since, until))
    filed: dict[str, int] = {}
    online: dict[str, int] = {}
    issued: dict[str, int] = {}
    for service, status, channel, n in counts:
        filed[service] = filed.get(service, 0) + n
        online[service] = online.get(service, 0) + (n if channel == figures.ONLINE else 0)
        issued[service] = issued.get(service, 0) + (n if status == "issued" else 0)
    total = sum(filed.values())
    body = PublicStats(
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
    etag = '"' + hashlib.sha256(body.model_dump_json().encode()).hexdigest()[:32] + '"'
    headers = {"Cache-Control": f"public, max-age={PUBLIC_MAX_AGE_S}", "ETag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    response.headers.update(headers)
    return body
