from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from app.api.deps import (
    Auditor,
    Citizen,
    CollaboratorsDep,
    ContextDep,
    SessionDep,
    audit_action,
    known_query_params_only,
)
from app.api.instants import Instant
from app.api.pagination import Cursor, Limit, decode_cursor, encode_cursor
from app.api.query_params import UnknownParameter
from app.audit import export, repository
from app.audit.checkpoints import check_chain
from app.audit.repository import EventFilter
from app.audit.schemas import (
    AuditEventOut,
    AuditPage,
    ChainVerification,
    CheckpointOut,
    DataAccessOut,
    DataAccessPage,
)
from app.audit.sealing import seal_all
from app.auth.separation import StaffIdentityRequired
from app.clock import utc_now
from app.errors import Forbidden, Unauthenticated, problem_responses
from app.identity.id_number import IdNumber
from app.oversight import person_searches
from app.oversight.errors import PersonSearchesExhausted, PurposeRequired

router = APIRouter(prefix="/v1", responses=problem_responses(Unauthenticated, Forbidden, StaffIdentityRequired))
# Only the routes that take the log's filters (a search for a person may be refused these ways).
PERSON_SEARCH_REFUSALS = problem_responses(PurposeRequired, PersonSearchesExhausted)


async def _filters(
    principal: Auditor,
    runtime: CollaboratorsDep,
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
    if actor is not None or subject_id_number is not None:
        # A search for a person: a stated purpose, an hourly allowance, a consultation of that person.
        await person_searches.admit(
            uow=runtime.uow,
            hasher=runtime.hasher,
            ctx=ctx,
            principal=principal,
            per_hour=runtime.settings.audit_person_searches_per_hour,
            now=utc_now(),
            purpose=purpose,
            actor=actor,
            subject_id_number=subject_id_number,
        )
    return EventFilter(
        actor=actor,
        role=role,
        subject_hash=runtime.hasher.hash(subject_id_number) if subject_id_number else None,
        action=action,
        outcome=outcome,
        since=since,
        until=until,
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
    runtime: CollaboratorsDep,
    session: SessionDep,
    filters: Filters,
    ctx: ContextDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AuditPage:
    await seal_all(runtime.sessionmaker)
    after = decode_cursor(cursor, kinds=(int,))[0] if cursor else None
    rows = await repository.page(session, filters=filters, after_seq=after, limit=limit)
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(
        items=[AuditEventOut.model_validate(e, from_attributes=True) for e in rows],
        next_cursor=encode_cursor(rows[-1].seq) if more else None,
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
    runtime: CollaboratorsDep,
    filters: Filters,
    ctx: ContextDep,
    format: Annotated[Literal["ndjson", "csv"], Query()] = "ndjson",
) -> StreamingResponse:
    await seal_all(runtime.sessionmaker)
    events = repository.stream(runtime.sessionmaker, filters=filters)
    if format == "csv":
        return StreamingResponse(
            export.csv_rows(events),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit-events.csv"'},
        )
    return StreamingResponse(
        export.ndjson(events),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="audit-events.ndjson"'},
    )


@router.get(
    "/audit/verify",
    operation_id="verify_audit_chain",
    dependencies=[audit_action("audit.verify")],
    summary="Recompute the hash chain and name the first bad event",
    tags=["audit"],
    response_model=ChainVerification,
)
async def verify_audit_chain(principal: Auditor, runtime: CollaboratorsDep) -> ChainVerification:
    check = await check_chain(runtime.sessionmaker, runtime.issuer.pdfs.signer)
    state, intact = check.state, check.intact
    return ChainVerification(
        intact=intact,
        events_checked=state.checked,
        first_bad_event=state.first_bad,
        break_reason=state.break_reason,
        head_seq=state.head_seq if intact and state.checked else None,
        head_hash=state.prev_hash if intact and state.checked else None,
        checkpoint_seq=check.latest.seq if check.latest else None,
        checkpoint_signature_valid=check.latest_signature_ok,
        checkpoints_checked=check.checkpoints,
    )


@router.get(
    "/audit/checkpoints/latest",
    operation_id="latest_audit_checkpoint",
    dependencies=[audit_action("audit.checkpoint")],
    summary="The latest signed chain head, for offline verification of an export",
    tags=["audit"],
    response_model=CheckpointOut | None,
)
async def latest_checkpoint(principal: Auditor, session: SessionDep) -> CheckpointOut | None:
    checkpoint = await repository.latest_checkpoint(session)
    return CheckpointOut.model_validate(checkpoint, from_attributes=True) if checkpoint else None


def _kind(action: str, kind: str) -> str:
    if kind == "agency_call":
        return "agency_call"
    if action.startswith("certificate.verify"):
        return "verification"
    if action.startswith("share.use"):
        return "share_use"
    return "staff_read"


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
    principal: Citizen, runtime: CollaboratorsDep, session: SessionDep, limit: Limit = 50, cursor: Cursor = None
) -> DataAccessPage:
    assert principal.id_number is not None
    await seal_all(runtime.sessionmaker)
    before = decode_cursor(cursor, kinds=(int,))[0] if cursor else None
    rows = await repository.consultations_of(
        session,
        subject_hash=runtime.hasher.hash(principal.id_number),
        own_sub=principal.sub,
        before_seq=before,
        limit=limit,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return DataAccessPage(
        items=[
            DataAccessOut(
                at=e.occurred_at,
                kind=_kind(e.action, e.kind),
                action=e.action,
                agency=e.agency,
                dataset=e.dataset,
                application_id=e.application_id,
                certificate_serial=e.resource_id if e.resource_type == "certificate" else None,
                on_behalf_of=e.on_behalf_of,
                by_role=e.actor_role,
                by_station=e.actor_station,
                request_id=e.request_id,
                recipient=(e.details or {}).get("recipient") if e.action.startswith("share.use") else None,
            )
            for e in rows
        ],
        next_cursor=encode_cursor(rows[-1].seq) if more else None,
    )
