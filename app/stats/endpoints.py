"""GET /v1/stats (CONTRACT §8): counts, the online-handling rate and processing times, for a window."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import SessionDep, Staff, audit_action
from app.api.instants import Instant
from app.errors import Forbidden, Unauthenticated, problem_responses
from app.stats import service
from app.stats.schemas import Stats

router = APIRouter(prefix="/v1", responses=problem_responses(Unauthenticated, Forbidden))


@router.get(
    "/stats",
    operation_id="get_stats",
    dependencies=[audit_action("stats.read")],
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
    return await service.stats(session=session, since=since, until=until)
