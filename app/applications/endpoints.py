from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from app.api.deps import ContextDep
from app.api.pagination import Cursor, Limit, decode_cursor, encode_cursor
from app.applications import repository, service
from app.applications.errors import (
    ApplicantNotAllowed,
    ApplicantRequired,
    ApplicationNotFound,
    IdempotencyKeyReused,
    InvalidDetails,
    MaterialNotFound,
    UnknownService,
)
from app.applications.presenter import present
from app.applications.schemas import ApplicationOut, ApplicationPage, DecisionIn, FilingIn
from app.applications.states import InvalidTransition, Status
from app.audit.recorder import ConcurrentChange
from app.auth.dependencies import Clerk, Filer, Reader, Staff
from app.auth.principal import Role
from app.certificates.errors import AlreadyRevoked, AlreadySuperseded
from app.errors import JSON_BODY_ERRORS, Forbidden, TooManyRequests, Unauthenticated, problem_responses
from app.runtime import RuntimeDep, SessionDep
from app.services.registry import FILING_REFUSALS

router = APIRouter(prefix="/v1", responses=problem_responses(Unauthenticated, Forbidden))

StatusFilter = Annotated[Status | None, Query(description="Only applications in this status")]
ServiceFilter = Annotated[str | None, Query(max_length=64, description="Only this service code")]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=255,
           description="Retries with the same key and body return the first answer"),
]


@router.post(
    "/applications",
    operation_id="file_application",
    summary="File an application",
    description=(
        "Citizens file for themselves (channel `online`); clerks file for the person at their window "
        "(channel `window`, with `applicant`). Answers 201 once decided, 202 while an agency is awaited."
    ),
    tags=["citizen", "window"],
    status_code=201,
    response_model=ApplicationOut,
    responses={
        202: {"model": ApplicationOut, "description": "Waiting on an agency (`pending_agency`)"},
        **problem_responses(UnknownService, InvalidDetails, ApplicantRequired, ApplicantNotAllowed,
                            MaterialNotFound, IdempotencyKeyReused, TooManyRequests, *FILING_REFUSALS,
                            *JSON_BODY_ERRORS),
    },
)
async def file_application(
    body: FilingIn,
    principal: Filer,
    runtime: RuntimeDep,
    session: SessionDep,
    ctx: ContextDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ApplicationOut:
    if principal.role is Role.citizen:
        await runtime.limiter.check("filing", principal.sub)
    status_code, application = await service.file(
        runtime, session, ctx=ctx, principal=principal, body=body, idempotency_key=idempotency_key
    )
    response.status_code = status_code
    return present(application, await repository.certificate_for(session, application.id))


@router.get(
    "/applications",
    operation_id="list_applications",
    summary="List applications",
    description="Citizens see their own; clerks and auditors see all. Newest first.",
    tags=["citizen", "window", "audit"],
    response_model=ApplicationPage,
)
async def list_applications(
    principal: Reader,
    runtime: RuntimeDep,
    session: SessionDep,
    status: StatusFilter = None,
    service_code: Annotated[ServiceFilter, Query(alias="service")] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> ApplicationPage:
    own = runtime.audit.hasher.hash(principal.id_number) if principal.role is Role.citizen and principal.id_number else None
    return await _page(session, applicant_hash=own, status=status, service_code=service_code, limit=limit,
                       cursor=cursor, oldest_first=False)


@router.get(
    "/review-queue",
    operation_id="list_review_queue",
    summary="Applications awaiting a clerk's decision",
    description="Applications in `needs_review`, oldest first.",
    tags=["window", "audit"],
    response_model=ApplicationPage,
)
async def review_queue(
    principal: Staff, session: SessionDep, service_code: Annotated[ServiceFilter, Query(alias="service")] = None,
    limit: Limit = 20, cursor: Cursor = None,
) -> ApplicationPage:
    return await _page(session, applicant_hash=None, status=Status.needs_review, service_code=service_code,
                       limit=limit, cursor=cursor, oldest_first=True)


async def _page(session: SessionDep, *, applicant_hash: str | None, status: Status | None, service_code: str | None,
                limit: int, cursor: str | None, oldest_first: bool) -> ApplicationPage:
    after = decode_cursor(cursor, kinds=(datetime, str)) if cursor else None
    rows = await repository.page(session, applicant_hash=applicant_hash, status=status.value if status else None,
                                 service=service_code, after=after, limit=limit, oldest_first=oldest_first)  # type: ignore[arg-type]
    more = len(rows) > limit
    rows = rows[:limit]
    certificates = await repository.certificates_for(session, [a.id for a in rows])
    return ApplicationPage(
        items=[present(a, certificates.get(a.id)) for a in rows],
        next_cursor=encode_cursor(rows[-1].created_at, rows[-1].id) if more else None,
    )


@router.get(
    "/applications/{application_id}",
    operation_id="get_application",
    summary="One application, with its checks, reasons, decision and certificate",
    tags=["citizen", "window", "audit"],
    response_model=ApplicationOut,
    responses=problem_responses(ApplicationNotFound),
)
async def get_application(
    application_id: str, principal: Reader, runtime: RuntimeDep, session: SessionDep, ctx: ContextDep
) -> ApplicationOut:
    application = await service.visible(runtime, session, principal, application_id, ctx=ctx)
    ctx.action = "application.read"
    return present(application, await repository.certificate_for(session, application.id))


@router.post(
    "/applications/{application_id}/withdraw",
    operation_id="withdraw_application",
    summary="Withdraw an application before it is decided",
    tags=["citizen", "window"],
    response_model=ApplicationOut,
    responses=problem_responses(ApplicationNotFound, InvalidTransition, ConcurrentChange, *JSON_BODY_ERRORS),
)
async def withdraw_application(
    application_id: str, principal: Filer, runtime: RuntimeDep, session: SessionDep, ctx: ContextDep
) -> ApplicationOut:
    application = await service.withdraw(runtime, session, ctx=ctx, principal=principal, application_id=application_id)
    return present(application, None)


@router.post(
    "/applications/{application_id}/decision",
    operation_id="decide_application",
    summary="Approve or reject an application in review",
    description="Only on `needs_review`. Approving issues the certificate (409 if the permit it would "
    "replace was revoked or replaced meanwhile).",
    tags=["window"],
    response_model=ApplicationOut,
    responses=problem_responses(ApplicationNotFound, InvalidTransition, ConcurrentChange, AlreadySuperseded,
                                AlreadyRevoked, *JSON_BODY_ERRORS),
)
async def decide_application(
    application_id: str, body: DecisionIn, principal: Clerk, runtime: RuntimeDep, session: SessionDep, ctx: ContextDep
) -> ApplicationOut:
    application = await service.decide(runtime, session, ctx=ctx, principal=principal,
                                       application_id=application_id, body=body)
    return present(application, await repository.certificate_for(session, application.id))
