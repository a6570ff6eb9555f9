"""GET /v1/stats (docs/api.md#statistics): counts, the online-handling rate and processing times, overall, by
service, by station and by day, for a window of filing times; GET /v1/stats/public: what the city publishes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.api.deps import CollaboratorsDep, ContextDep, Staff, UnitOfWorkDep, audit_action
from app.api.instants import Day, Instant
from app.api.json_answer import json_answer
from app.api.public_cache import not_modified, public_headers
from app.auth.separation import StaffIdentityRequired
from app.clock import shanghai_today, utc_now
from app.errors import Forbidden, TooManyRequests, Unauthenticated, ValidationFailed, problem_responses
from app.i18n import Text
from app.stats import service
from app.stats.schemas import PublicStats, Stats

router = APIRouter(prefix="/v1")

Since = Annotated[Instant | None, Query(description="Filed at or after (with its time zone)")]
Until = Annotated[Instant | None, Query(description="Filed before (with its time zone)")]


@router.get(
    "/stats",
    operation_id="get_stats",
    dependencies=[audit_action("stats.read")],
    summary="Counts and the online-handling rate overall, by service, by station and by day; processing times; "
    "appointments at the windows by station and day, with the no-show rate",
    tags=["window", "audit"],
    response_model=Stats,
    responses=problem_responses(Unauthenticated, Forbidden, StaffIdentityRequired),
)
async def get_stats(
    principal: Staff, collaborators: CollaboratorsDep, work: UnitOfWorkDep, since: Since = None, until: Until = None
) -> Response:
    # Serialised once (app.api.json_answer): FastAPI's second pass grows with the stations and days listed.
    body = await service.stats(
        session=work.session,
        sessionmaker=collaborators.sessionmaker,
        stations=collaborators.stations,
        since=since,
        until=until,
        now=utc_now(),
    )
    return json_answer(body)


@router.get(
    "/stats/public",
    operation_id="get_public_stats",
    dependencies=[audit_action("stats.public")],
    summary="The city-wide online-handling rate and per-service counts over whole days (public, cacheable)",
    description="No per-person or per-station data. `since` and `until` are Shanghai days (`YYYY-MM-DD`, both "
    "counted; anything finer is 422); only days that are over are counted. Every count below "
    "`PUBLIC_STATS_MIN_COUNT`, and every rate or remainder that would reveal one, is null. Limited per client "
    "address (429). Answers with `Cache-Control: public` and an `ETag`; `If-None-Match` gets 304.",
    tags=["public"],
    response_model=PublicStats,
    responses={304: {"description": "Not modified"}, **problem_responses(ValidationFailed, TooManyRequests)},
)
async def get_public_stats(
    request: Request,
    response: Response,
    collaborators: CollaboratorsDep,
    ctx: ContextDep,
    since: Annotated[Day | None, Query(description="First Shanghai day counted, YYYY-MM-DD")] = None,
    until: Annotated[Day | None, Query(description="Last Shanghai day counted, YYYY-MM-DD")] = None,
) -> PublicStats | Response:
    await collaborators.limiter.check_address("public_stats", ctx.client_addr)
    if since is not None and until is not None and until < since:
        raise ValidationFailed(Text("until 早于 since", "`until` is before `since`"))
    body = await service.public_stats(
        sessionmaker=collaborators.sessionmaker,
        first_day=since,
        last_day=until,
        min_count=collaborators.settings.public_stats_min_count,
        today=shanghai_today(),
        now=utc_now(),
    )
    headers = public_headers(body.model_dump_json().encode())
    unchanged = not_modified(request.headers.get("if-none-match"), headers)
    if unchanged is not None:
        return unchanged
    response.headers.update(headers)
    return body
