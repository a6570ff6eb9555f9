from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import Citizen, CollaboratorsDep, UnitOfWorkDep, audit_action, known_query_params_only
from app.api.pagination import Limit
from app.api.query_params import UnknownParameter
from app.errors import Forbidden, Unauthenticated, problem_responses
from app.notifications import service
from app.notifications.schemas import NotificationFeed

router = APIRouter(prefix="/v1", responses=problem_responses(Unauthenticated, Forbidden))


@router.get(
    "/me/notifications",
    operation_id="my_notifications",
    dependencies=[known_query_params_only, audit_action("me.notifications")],
    summary="What happened to my applications and certificates",
    description="Decisions on your applications and changes to your certificates (revoked, superseded, "
    "expiring within 30 days), the same events the city's webhook receives. Newest last; send the last "
    "`id` you saw as `since_id` to get only what is new.",
    tags=["citizen"],
    response_model=NotificationFeed,
    responses=problem_responses(UnknownParameter),
)
async def my_notifications(
    principal: Citizen,
    collaborators: CollaboratorsDep,
    work: UnitOfWorkDep,
    since_id: Annotated[int | None, Query(ge=0, le=2**62, description="Only events after this id")] = None,
    limit: Limit = 50,
) -> NotificationFeed:
    assert principal.id_number is not None
    return await service.feed(
        work.session, subject_hash=collaborators.hasher.hash(principal.id_number), since_id=since_id, limit=limit
    )
