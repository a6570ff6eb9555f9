from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response

from app.api.deps import ContextDep
from app.api.pagination import Cursor, Limit, decode_cursor, encode_cursor
from app.api.query_params import UnknownParameter, known_query_params_only
from app.applications import repository, review, service
from app.applications.errors import (
    ApplicantNotAllowed,
    ApplicantRequired,
    ApplicationNotFound,
    AttachedMaterialNotFound,
    DuplicateApplication,
    IdempotencyKeyReused,
    InvalidDetails,
    MaterialNotFound,
    SearchNotAllowed,
    UnknownService,
)
from app.applications.models import Application
from app.applications.polling import POLLING_HEADERS, etag, not_modified, polite_polling
from app.applications.presenter import present
from app.applications.schemas import (
    ApplicationOut,
    ApplicationPage,
    AttachedMaterialOut,
    AttachedMaterials,
    DecisionIn,
    FilingIn,
    MaterialsIn,
)
from app.applications.states import InvalidTransition, Status
from app.audit.consultations import note_applications_read
from app.audit.recorder import ConcurrentChange
from app.auth.dependencies import Citizen, Clerk, Downloader, Filer, Reader, Staff
from app.auth.principal import Principal, Role
from app.auth.separation import SeparationOfDuties
from app.certificates.codes import normalize_code
from app.certificates.errors import AlreadyRevoked, AlreadySuperseded
from app.errors import JSON_BODY_ERRORS, Forbidden, TooManyRequests, Unauthenticated, problem_responses
from app.identity.id_number import IdNumber
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
        202: {"model": ApplicationOut, "description": "Waiting on an agency (`pending_agency`)",
              "headers": POLLING_HEADERS},
        **problem_responses(UnknownService, InvalidDetails, ApplicantRequired, ApplicantNotAllowed,
                            MaterialNotFound, IdempotencyKeyReused, DuplicateApplication, TooManyRequests,
                            *FILING_REFUSALS, *JSON_BODY_ERRORS),
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
    polite_polling(response, application)
    return present(application, await repository.certificate_for(session, application.id))


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
    dependencies=[Depends(known_query_params_only)],
)
async def list_applications(
    principal: Reader,
    runtime: RuntimeDep,
    session: SessionDep,
    ctx: ContextDep,
    status: StatusFilter = None,
    service_code: Annotated[ServiceFilter, Query(alias="service")] = None,
    id_number: Annotated[IdNumber | None, Query(max_length=18, description="Staff: the applicant's id number")] = None,
    serial: Annotated[str | None, Query(max_length=40, description="Staff: a certificate's serial")] = None,
    verification_code: Annotated[
        str | None, Query(max_length=40, description="Staff: a certificate's verification code")] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> ApplicationPage:
    ctx.action = "application.list"
    if principal.role is Role.citizen:
        if id_number is not None or serial is not None or verification_code is not None:
            raise SearchNotAllowed()
        applicant_hash = runtime.audit.hasher.hash(principal.id_number) if principal.id_number else None
    else:
        # Through the keyed hash, as the records are indexed: never a scan of raw id numbers.
        applicant_hash = runtime.audit.hasher.hash(id_number) if id_number is not None else None
    # The application holding that certificate; both given, they must name the same one.
    holders: list[str | None] = []
    if serial is not None:
        holders.append(await repository.application_id_for_certificate(session, serial=serial))
    if verification_code is not None:
        code = normalize_code(verification_code)
        holders.append(await repository.application_id_for_certificate(session, code=code) if code else None)
    if None in holders or len(set(holders)) > 1:
        return ApplicationPage(items=[], next_cursor=None)
    application_id = holders[0] if holders else None
    return await _page(session, ctx, principal, applicant_hash=applicant_hash, status=status, service_code=service_code,
                       application_id=application_id, limit=limit, cursor=cursor, oldest_first=False)


@router.get(
    "/review-queue",
    operation_id="list_review_queue",
    summary="Applications awaiting a clerk's decision",
    description="Applications in `needs_review`, oldest first.",
    tags=["window", "audit"],
    response_model=ApplicationPage,
    responses=problem_responses(UnknownParameter),
    dependencies=[Depends(known_query_params_only)],
)
async def review_queue(
    principal: Staff, session: SessionDep, ctx: ContextDep,
    service_code: Annotated[ServiceFilter, Query(alias="service")] = None, limit: Limit = 20, cursor: Cursor = None,
) -> ApplicationPage:
    ctx.action = "application.review_queue"
    return await _page(session, ctx, principal, applicant_hash=None, status=Status.needs_review,
                       service_code=service_code, limit=limit, cursor=cursor, oldest_first=True)


async def _page(session: SessionDep, ctx: ContextDep, principal: Principal, *, applicant_hash: str | None,
                status: Status | None, service_code: str | None, limit: int, cursor: str | None,
                oldest_first: bool, application_id: str | None = None) -> ApplicationPage:
    after = decode_cursor(cursor, kinds=(datetime, str)) if cursor else None
    rows = await repository.page(session, applicant_hash=applicant_hash, status=status.value if status else None,
                                 service=service_code, application_id=application_id, after=after, limit=limit,
                                 oldest_first=oldest_first)  # type: ignore[arg-type]
    more = len(rows) > limit
    rows = rows[:limit]
    if principal.role is not Role.citizen:
        note_applications_read(ctx, rows)
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
    description="Answers with an `ETag`; send it back as `If-None-Match` to get 304 while nothing changed. "
    "While `pending_agency`, `Retry-After` says when the next attempt is due.",
    response_model=ApplicationOut,
    responses={
        200: {"headers": {"ETag": {"description": "Changes whenever the answer does", "schema": {"type": "string"}}}},
        304: {"description": "Not modified: `If-None-Match` matched the current `ETag`"},
        **problem_responses(ApplicationNotFound),
    },
)
async def get_application(
    application_id: str, principal: Reader, runtime: RuntimeDep, session: SessionDep, ctx: ContextDep,
    response: Response, if_none_match: Annotated[str | None, Header(max_length=1000)] = None,
) -> ApplicationOut | Response:
    application = await service.visible(runtime, session, principal, application_id, ctx=ctx)
    ctx.action = "application.read"
    body = present(application, await repository.certificate_for(session, application.id))
    tag = etag(body)
    if not_modified(if_none_match, tag):
        return Response(status_code=304, headers={"ETag": tag})
    response.headers["ETag"] = tag
    polite_polling(response, application, location=False)
    return body


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
    summary="Approve, reject, or ask the applicant for materials (补正) on an application in review",
    description="Only on `needs_review`. Approving issues the certificate (409 if the permit it would replace was "
    "revoked or replaced meanwhile); `request_materials` moves the case to `needs_materials` until the applicant "
    "attaches what `reason` asks for. Not on a case the clerk filed at the window or in which they are the "
    "applicant (403 `SEPARATION_OF_DUTIES`).",
    tags=["window"],
    response_model=ApplicationOut,
    responses=problem_responses(ApplicationNotFound, InvalidTransition, ConcurrentChange, SeparationOfDuties,
                                AlreadySuperseded, AlreadyRevoked, *JSON_BODY_ERRORS),
)
async def decide_application(
    application_id: str, body: DecisionIn, principal: Clerk, runtime: RuntimeDep, session: SessionDep, ctx: ContextDep
) -> ApplicationOut:
    application = await service.decide(runtime, session, ctx=ctx, principal=principal,
                                       application_id=application_id, body=body)
    return present(application, await repository.certificate_for(session, application.id))


_REDECIDED: dict[int | str, dict[str, Any]] = {
    202: {"model": ApplicationOut, "description": "Decided again, or waiting on an agency (`pending_agency`)"},
}


@router.post(
    "/applications/{application_id}/recheck",
    operation_id="recheck_application",
    summary="Run every check of a case in review again, and decide it again",
    description="Only on `needs_review` (409 elsewhere), e.g. a case escalated with `AGENCY_UNAVAILABLE` once the "
    "agency answers again. 200 with the new decision, 202 while an agency is awaited.",
    tags=["window"],
    response_model=ApplicationOut,
    responses={**_REDECIDED, **problem_responses(ApplicationNotFound, InvalidTransition, ConcurrentChange,
                                                 SeparationOfDuties, *JSON_BODY_ERRORS)},
)
async def recheck_application(
    application_id: str, principal: Clerk, runtime: RuntimeDep, session: SessionDep, ctx: ContextDep,
    response: Response,
) -> ApplicationOut:
    application = await review.recheck(runtime, session, ctx=ctx, principal=principal, application_id=application_id)
    return await _redecided(session, application, response)


@router.get(
    "/applications/{application_id}/materials",
    operation_id="list_application_materials",
    summary="The materials attached to an application",
    tags=["citizen", "window"],
    response_model=AttachedMaterials,
    responses=problem_responses(ApplicationNotFound),
)
async def list_application_materials(
    application_id: str, principal: Downloader, runtime: RuntimeDep, session: SessionDep, ctx: ContextDep
) -> AttachedMaterials:
    await service.visible(runtime, session, principal, application_id, ctx=ctx)
    ctx.action = "application.materials.list"
    return AttachedMaterials(items=[
        AttachedMaterialOut(id=m.id, sha256=m.sha256, size=m.size, media_type=m.media_type, uploaded_at=m.created_at)
        for m, _ in await repository.attached_materials(session, application_id)
    ])


_EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


@router.get(
    "/applications/{application_id}/materials/{material_id}",
    operation_id="download_application_material",
    summary="One attached material, as uploaded",
    description="Served as an attachment that no browser renders as a page (`nosniff`, `sandbox`). A clerk's "
    "download is listed in the applicant's `GET /v1/me/data-access`.",
    tags=["citizen", "window"],
    response_class=Response,
    responses={
        200: {"content": {t: {"schema": {"type": "string", "format": "binary"}} for t in _EXTENSIONS},
              "description": "The file"},
        **problem_responses(ApplicationNotFound, AttachedMaterialNotFound),
    },
)
async def download_application_material(
    application_id: str, material_id: str, principal: Downloader, runtime: RuntimeDep, session: SessionDep,
    ctx: ContextDep,
) -> Response:
    await service.visible(runtime, session, principal, application_id, ctx=ctx)
    ctx.action = "application.material.read"
    ctx.details = {"material_id": material_id[:36]}
    material = await repository.attached_material(session, application_id=application_id, material_id=material_id)
    if material is None:
        raise AttachedMaterialNotFound()
    return Response(
        content=material.content,
        media_type=material.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="material-{material.id}.{_EXTENSIONS.get(material.media_type, "bin")}"',
            "Content-Security-Policy": "sandbox",  # nosniff comes with every response (RequestMiddleware)
            "ETag": f'"{material.sha256}"',
        },
    )


@router.post(
    "/applications/{application_id}/materials",
    operation_id="supply_application_materials",
    summary="Attach the materials a clerk asked for; every check runs again",
    description="The applicant, on `needs_materials` only (409 elsewhere). The answer is the application after "
    "its new decision: `issued`, `needs_review`, `rejected` (200) or `pending_agency` (202).",
    tags=["citizen"],
    response_model=ApplicationOut,
    responses={**_REDECIDED, **problem_responses(ApplicationNotFound, InvalidTransition, MaterialNotFound,
                                                 ConcurrentChange, *JSON_BODY_ERRORS)},
)
async def supply_application_materials(
    application_id: str, body: MaterialsIn, principal: Citizen, runtime: RuntimeDep, session: SessionDep,
    ctx: ContextDep, response: Response,
) -> ApplicationOut:
    application = await review.supply_materials(runtime, session, ctx=ctx, principal=principal,
                                                application_id=application_id, material_ids=body.material_ids)
    return await _redecided(session, application, response)


async def _redecided(session: SessionDep, application: Application, response: Response) -> ApplicationOut:
    response.status_code = 202 if application.status == Status.pending_agency else 200
    return present(application, await repository.certificate_for(session, application.id))
