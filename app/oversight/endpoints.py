"""The routes over the request log: thin, each hands app.oversight.service what it uses."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from app.api.deps import (
    Auditor,
    Citizen,
    CollaboratorsDep,
    ContextDep,
    UnitOfWorkDep,
    audit_action,
    known_query_params_only,
)
from app.api.instants import Instant
from app.api.pagination import Cursor, Limit
from app.api.query_params import UnknownParameter
from app.audit.repository import EventFilter
from app.audit.schemas import AuditPage, ChainVerification, CheckpointOut, DataAccessPage
from app.audit.walks import Scope
from app.auth.separation import StaffIdentityRequired
from app.clock import utc_now
from app.errors import Forbidden, Unauthenticated, problem_responses
from app.identity.id_number import IdNumber
from app.oversight import person_searches, service
from app.oversight.errors import PersonSearchesExhausted, PurposeRequired
from app.oversight.person_searches import PersonSearch
from app.oversight.service import ExportFormat

router = APIRouter(prefix="/v1", responses=problem_responses(Unauthenticated, Forbidden, StaffIdentityRequired))
# Only the routes that take the log's filters (a search for a person may be refused these ways).
PERSON_SEARCH_REFUSALS = problem_responses(PurposeRequired, PersonSearchesExhausted)


async def _filters(
    principal: Auditor,
    collaborators: CollaboratorsDep,
    ctx: ContextDep,
    actor: Annotated[str | None, Query(max_length=255, description="The actor's `sub` (a person search)")] = None,
    role: Annotated[Literal["citizen", "clerk", "auditor"] | None, Query()] = None,
    subject_id_number: Annotated[
        IdNumber | None, Query(description="Whose data (a person search): hashed before searching")
    ] = None,
    purpose: Annotated[
        str | None,
        Query(min_length=5, max_length=200, description="Why: required for a person search, kept in its event"),
    ] = None,
    action: Annotated[str | None, Query(max_length=80)] = None,
    outcome: Annotated[str | None, Query(max_length=32)] = None,
    since: Annotated[Instant | None, Query()] = None,
    until: Annotated[Instant | None, Query()] = None,
) -> EventFilter:
    search = PersonSearch(actor=actor, subject_id_number=subject_id_number, purpose=purpose)
    if search.names_a_person:
        await person_searches.admit(
            uow=collaborators.uow,
            hasher=collaborators.hasher,
            ctx=ctx,
            principal=principal,
            per_hour=collaborators.settings.audit_person_searches_per_hour,
            now=utc_now(),
            search=search,
        )
    return service.event_filter(
        hasher=collaborators.hasher, search=search, role=role, action=action, outcome=outcome, since=since, until=until
    )


Filters = Annotated[EventFilter, Depends(_filters)]


@router.get(
    "/audit/events",
    operation_id="list_audit_events",
    dependencies=[known_query_params_only, audit_action("audit.events")],
    summary="The request log, filtered, in chain order",
    tags=["audit"],
    response_model=AuditPage,
    responses={**problem_responses(UnknownParameter), **PERSON_SEARCH_REFUSALS},
)
async def list_audit_events(
    principal: Auditor,
    collaborators: CollaboratorsDep,
    work: UnitOfWorkDep,
    filters: Filters,
    ctx: ContextDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AuditPage:
    return await service.events_page(
        sessionmaker=collaborators.sessionmaker, session=work.session, filters=filters, limit=limit, cursor=cursor
    )


@router.get(
    "/audit/export",
    operation_id="export_audit_events",
    dependencies=[audit_action("audit.export")],
    summary="The request log streamed as NDJSON or CSV, with each event's chain hash",
    tags=["audit"],
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/x-ndjson": {}, "text/csv": {}}, "description": "The events"},
        **PERSON_SEARCH_REFUSALS,
    },
)
async def export_audit_events(
    principal: Auditor,
    collaborators: CollaboratorsDep,
    filters: Filters,
    ctx: ContextDep,
    format: Annotated[ExportFormat, Query()] = "ndjson",
) -> StreamingResponse:
    download = await service.export_events(sessionmaker=collaborators.sessionmaker, filters=filters, format=format)
    return StreamingResponse(
        download.body,
        media_type=download.media_type,
        headers={"Content-Disposition": f'attachment; filename="{download.filename}"'},
    )


@router.get(
    "/audit/verify",
    operation_id="verify_audit_chain",
    dependencies=[audit_action("audit.verify")],
    summary="Recompute the hash chain and name the first bad event",
    description="By default the tail: the furthest signed checkpoint (its signature, and its event still the "
    "signed one) and every event after it, a walk of minutes of events however long the log. `scope=all` walks "
    "the whole live chain against every checkpoint (docs/api.md#the-request-log).",
    tags=["audit"],
    response_model=ChainVerification,
)
async def verify_audit_chain(
    principal: Auditor,
    collaborators: CollaboratorsDep,
    scope: Annotated[
        Scope, Query(description="`tail`: from the furthest signed checkpoint; `all`: the whole chain")
    ] = "tail",
) -> ChainVerification:
    return await service.verify_chain(
        sessionmaker=collaborators.sessionmaker, signer=collaborators.issuer.pdfs.signer, scope=scope
    )


@router.get(
    "/audit/checkpoints/latest",
    operation_id="latest_audit_checkpoint",
    dependencies=[audit_action("audit.checkpoint")],
    summary="The latest signed chain head, for offline verification of an export",
    tags=["audit"],
    response_model=CheckpointOut | None,
)
async def latest_checkpoint(principal: Auditor, work: UnitOfWorkDep) -> CheckpointOut | None:
    return await service.latest_checkpoint(work.session)


@router.get(
    "/me/data-access",
    operation_id="my_data_access",
    dependencies=[known_query_params_only, audit_action("me.data_access")],
    summary="Every time data about me was consulted",
    description="Agency calls made about you (and on whose behalf), clerks' and auditors' readings of your "
    "applications, public verifications of your certificates, and each use of a link you shared (`share_use`, "
    "with its `recipient`). Newest first.",
    tags=["citizen"],
    response_model=DataAccessPage,
    responses=problem_responses(UnknownParameter),
)
async def my_data_access(
    principal: Citizen, collaborators: CollaboratorsDep, work: UnitOfWorkDep, limit: Limit = 50, cursor: Cursor = None
) -> DataAccessPage:
    return await service.data_access_page(
        sessionmaker=collaborators.sessionmaker,
        session=work.session,
        hasher=collaborators.hasher,
        principal=principal,
        limit=limit,
        cursor=cursor,
    )
