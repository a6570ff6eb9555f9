"""The routes of a case: filing, listing and searching, the review queue, reading one, withdrawing it,
a clerk's decision and re-check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response

from app.api.deps import (
    BEARER_REQUIRED,
    READERS,
    Acting,
    Clerk,
    CollaboratorsDep,
    ContextDep,
    Filer,
    Reader,
    Staff,
    UnitOfWorkDep,
    acting,
    audit_action,
    known_query_params_only,
    read_as,
)
from app.api.direct import DirectRoute
from app.api.pagination import Cursor, Limit
from app.api.query_params import UnknownParameter
from app.applications import filing, review, service
from app.applications.errors import (
    ApplicantNotAllowed,
    ApplicantRequired,
    ApplicationNotFound,
    DuplicateApplication,
    IdempotencyKeyReused,
    InvalidDetails,
    MaterialNotFound,
    SearchNotAllowed,
    UnknownService,
    WindowOnlyService,
)
from app.applications.polling import POLLING_HEADERS, etag, not_modified, polite_polling, read_headers
from app.applications.presenter import present, present_view, to_json
from app.applications.schemas import (
    ApplicationOut,
    ApplicationPage,
    DecisionIn,
    FilingIn,
)
from app.applications.service import Outcome
from app.applications.states import InvalidTransition, Status
from app.auth.principal import Role
from app.auth.separation import SeparationOfDuties, StaffIdentityRequired
from app.catalogue.registry import FILING_REFUSALS
from app.certificates.errors import AlreadyRevoked, AlreadySuperseded
from app.clock import utc_now
from app.errors import (
    JSON_BODY_ERRORS,
    ConcurrentChange,
    Forbidden,
    TooManyRequests,
    Unauthenticated,
    problem_responses,
)
from app.identity.id_number import IdNumber
from app.stations.errors import InvalidLocation, UnknownDistrict

router = APIRouter(prefix="/v1", responses=problem_responses(Unauthenticated, Forbidden, StaffIdentityRequired))
# The hottest routes (a citizen's filing, the read of an application), as `router` but served as the app's own
# routes ahead of every included router (app/main.py); the read, which needs no parameter validation, is
# also called without FastAPI's parameter solving (app.api.direct).
served_first = APIRouter(prefix=router.prefix, responses=router.responses)
read_first = APIRouter(prefix=router.prefix, responses=router.responses, route_class=DirectRoute)

StatusFilter = Annotated[Status | None, Query(description="Only applications in this status")]
ServiceFilter = Annotated[str | None, Query(max_length=64, description="Only this service code")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Retries with the same key and body return the first answer",
    ),
]


@served_first.post(
    "/applications",
    operation_id="file_application",
    summary="File an application",
    description=(
        "Citizens file for themselves (channel `online`); clerks file for the person at their window "
        "(channel `window`, with `applicant`). Answers 201 once decided, 202 while an agency is awaited. A matter "
        "done at a window (catalogue `processing_mode: window`) is answered 409 `WINDOW_ONLY_SERVICE`, naming the "
        "nearest stations that handle it (from `details.near`, `details.district`, or the district of the "
        "address on the citizen's latest application)."
    ),
    tags=["citizen", "window"],
    status_code=201,
    response_model=ApplicationOut,
    responses={
        202: {
            "model": ApplicationOut,
            "description": "Waiting on an agency (`pending_agency`)",
            "headers": POLLING_HEADERS,
        },
        **problem_responses(
            UnknownService,
            InvalidDetails,
            ApplicantRequired,
            ApplicantNotAllowed,
            MaterialNotFound,
            IdempotencyKeyReused,
            DuplicateApplication,
            WindowOnlyService,
            UnknownDistrict,
            InvalidLocation,
            TooManyRequests,
            *FILING_REFUSALS,
            *JSON_BODY_ERRORS,
        ),
    },
)
async def file_application(
    body: FilingIn,
    filer: Annotated[Acting, acting("application.file", Role.clerk, Role.citizen)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    # One dependency, not five (the caller, the collaborators, the context, the unit of work, the action):
    # FastAPI's solving costs per dependency (issue 29).
    principal, collaborators = filer.principal, filer.collaborators
    if principal.role is Role.citizen:
        await collaborators.limiter.check("filing", principal.sub)
    async with filer.unit_of_work() as work:
        async with collaborators.filing_turns.turn():
            outcome = await filing.file(
                work=work,
                kit=collaborators.decisions,
                stations=collaborators.stations,
                ctx=filer.ctx,
                principal=principal,
                body=body,
                idempotency_key=idempotency_key,
            )
        # Serialised once, as the read's answer (`response_model` above stays for the OpenAPI document), while
        # the session is open: an earlier answer (a retry's) is read from it.
        headers: dict[str, str] = {}
        polite_polling(headers, outcome.application)
        content = to_json(present(outcome.application, outcome.certificate))
    return Response(content, status_code=outcome.status_code, media_type="application/json", headers=headers)


@router.get(
    "/applications",
    operation_id="list_applications",
    summary="List applications; staff search by id number, serial or verification code",
    description="Citizens see their own; clerks and auditors see all, and may find a person's applications "
    "(`id_number`) or the application that holds a certificate (`serial`, `verification_code`). Newest first. "
    "An unknown query parameter is refused (422 `UNKNOWN_PARAMETER`).",
    tags=["citizen", "window", "audit"],
    response_model=ApplicationPage,
    responses=problem_responses(UnknownParameter, SearchNotAllowed),
    dependencies=[known_query_params_only, audit_action("application.list")],
)
async def list_applications(
    principal: Reader,
    collaborators: CollaboratorsDep,
    work: UnitOfWorkDep,
    ctx: ContextDep,
    status: StatusFilter = None,
    service_code: Annotated[ServiceFilter, Query(alias="service")] = None,
    id_number: Annotated[IdNumber | None, Query(max_length=18, description="Staff: the applicant's id number")] = None,
    serial: Annotated[str | None, Query(max_length=40, description="Staff: a certificate's serial")] = None,
    verification_code: Annotated[
        str | None, Query(max_length=40, description="Staff: a certificate's verification code")
    ] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> ApplicationPage:
    return await service.search(
        session=work.session,
        hasher=collaborators.hasher,
        ctx=ctx,
        principal=principal,
        status=status,
        service_code=service_code,
        id_number=id_number,
        serial=serial,
        verification_code=verification_code,
        limit=limit,
        cursor=cursor,
    )


@router.get(
    "/review-queue",
    operation_id="list_review_queue",
    summary="Applications awaiting a clerk's decision",
    description="Applications in `needs_review`, oldest first.",
    tags=["window", "audit"],
    response_model=ApplicationPage,
    responses=problem_responses(UnknownParameter),
    dependencies=[known_query_params_only, audit_action("application.review_queue")],
)
async def review_queue(
    principal: Staff,
    work: UnitOfWorkDep,
    ctx: ContextDep,
    service_code: Annotated[ServiceFilter, Query(alias="service")] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> ApplicationPage:
    return await service.page(
        work.session,
        ctx=ctx,
        principal=principal,
        applicant_hash=None,
        status=Status.needs_review,
        service_code=service_code,
        limit=limit,
        cursor=cursor,
        oldest_first=True,
    )


@read_first.get(
    "/applications/{application_id}",
    operation_id="get_application",
    summary="One application, with its checks, reasons, decision and certificate",
    tags=["citizen", "window", "audit"],
    description="Answers with an `ETag`; send it back as `If-None-Match` to get 304 while nothing changed. "
    "While `pending_agency`, `Retry-After` says when the next attempt is due.",
    response_model=ApplicationOut,
    responses={
        200: {"headers": {"ETag": {"description": "Changes whenever the answer does", "schema": {"type": "string"}}}},
        304: {"description": "Not modified: `If-None-Match` matched the current `ETag`"},
        **problem_responses(ApplicationNotFound),
    },
    openapi_extra=BEARER_REQUIRED,
)
async def get_application(
    application_id: str,
    request: Request,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    # The hottest read: no dependency (app.api.deps, `read_as`), its parameters handed over as they came
    # (app.api.direct; the server bounds a header's size), one query on an AUTOCOMMIT connection for what
    # the answer shows, serialised once (the ETag hashes the bytes sent); `response_model` above stays for
    # the OpenAPI document.
    read = await read_as(request, "application.read", *READERS)
    async with read.connect() as connection:
        view = await service.view(
            connection=connection,
            hasher=read.collaborators.hasher,
            principal=read.principal,
            application_id=application_id,
            ctx=read.ctx,
        )
    content = to_json(present_view(view, reveal=read.principal.role is Role.clerk))
    tag = etag(content)
    if not_modified(if_none_match, tag):
        return Response(status_code=304, headers={"ETag": tag})
    return Response(content, media_type="application/json", headers=read_headers(view, tag))


@router.post(
    "/applications/{application_id}/withdraw",
    operation_id="withdraw_application",
    summary="Withdraw an application before it is decided",
    tags=["citizen", "window"],
    dependencies=[audit_action("application.withdraw")],
    response_model=ApplicationOut,
    responses=problem_responses(ApplicationNotFound, InvalidTransition, ConcurrentChange, *JSON_BODY_ERRORS),
)
async def withdraw_application(
    application_id: str, principal: Filer, collaborators: CollaboratorsDep, work: UnitOfWorkDep, ctx: ContextDep
) -> ApplicationOut:
    application = await service.withdraw(
        work=work,
        hasher=collaborators.hasher,
        clock=utc_now,
        ctx=ctx,
        principal=principal,
        application_id=application_id,
    )
    return present(application, None)


@router.post(
    "/applications/{application_id}/decision",
    operation_id="decide_application",
    summary="Approve, reject, or ask the applicant for materials (补正) on an application in review",
    description="Only on `needs_review`. Approving issues the certificate (409 if the permit it would replace was "
    "revoked or replaced meanwhile); `request_materials` moves the case to `needs_materials` until the applicant "
    "attaches what `reason` asks for. Not on a case the clerk filed at the window or in which they are the "
    "applicant (403 `SEPARATION_OF_DUTIES`).",
    tags=["window"],
    dependencies=[audit_action("application.decision")],
    response_model=ApplicationOut,
    responses=problem_responses(
        ApplicationNotFound,
        InvalidTransition,
        ConcurrentChange,
        SeparationOfDuties,
        AlreadySuperseded,
        AlreadyRevoked,
        *JSON_BODY_ERRORS,
    ),
)
async def decide_application(
    application_id: str,
    body: DecisionIn,
    principal: Clerk,
    collaborators: CollaboratorsDep,
    work: UnitOfWorkDep,
    ctx: ContextDep,
) -> ApplicationOut:
    ctx.detail(body.outcome)
    outcome = await service.decide(
        work=work,
        hasher=collaborators.hasher,
        issuer=collaborators.issuer,
        clock=utc_now,
        materials_wait_limit=collaborators.materials_wait_limit,
        ctx=ctx,
        principal=principal,
        application_id=application_id,
        body=body,
    )
    return present(outcome.application, outcome.certificate)


REDECIDED: dict[int | str, dict[str, Any]] = {
    202: {"model": ApplicationOut, "description": "Decided again, or waiting on an agency (`pending_agency`)"},
}


@router.post(
    "/applications/{application_id}/recheck",
    operation_id="recheck_application",
    summary="Run every check of a case in review again, and decide it again",
    description="Only on `needs_review` (409 elsewhere), e.g. a case escalated with `AGENCY_UNAVAILABLE` once the "
    "agency answers again. 200 with the new decision, 202 while an agency is awaited.",
    tags=["window"],
    dependencies=[audit_action("application.recheck")],
    response_model=ApplicationOut,
    responses={
        **REDECIDED,
        **problem_responses(
            ApplicationNotFound, InvalidTransition, ConcurrentChange, SeparationOfDuties, *JSON_BODY_ERRORS
        ),
    },
)
async def recheck_application(
    application_id: str,
    principal: Clerk,
    collaborators: CollaboratorsDep,
    work: UnitOfWorkDep,
    ctx: ContextDep,
    response: Response,
) -> ApplicationOut:
    outcome = await review.recheck(
        work=work,
        kit=collaborators.decisions,
        ctx=ctx,
        principal=principal,
        application_id=application_id,
    )
    return answer(outcome, response)


def answer(outcome: Outcome, response: Response) -> ApplicationOut:
    """A change's answer, from what it committed: its status code, the application, its certificate."""
    response.status_code = outcome.status_code
    return present(outcome.application, outcome.certificate)
