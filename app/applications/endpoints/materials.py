"""The materials attached to an application: listing them, downloading one, and the applicant supplying
what a clerk asked for (which decides the case again)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import Citizen, CollaboratorsDep, ContextDep, Downloader, UnitOfWorkDep, audit_action
from app.applications import review, service
from app.applications.endpoints.cases import REDECIDED, answer
from app.applications.errors import ApplicationNotFound, AttachedMaterialNotFound, MaterialNotFound
from app.applications.schemas import ApplicationOut, AttachedMaterialOut, AttachedMaterials, MaterialsIn
from app.applications.states import InvalidTransition
from app.auth.separation import StaffIdentityRequired
from app.errors import JSON_BODY_ERRORS, ConcurrentChange, Forbidden, Unauthenticated, problem_responses

router = APIRouter(prefix="/v1", responses=problem_responses(Unauthenticated, Forbidden, StaffIdentityRequired))


@router.get(
    "/applications/{application_id}/materials",
    operation_id="list_application_materials",
    summary="The materials attached to an application",
    tags=["citizen", "window"],
    dependencies=[audit_action("application.materials.list")],
    response_model=AttachedMaterials,
    responses=problem_responses(ApplicationNotFound),
)
async def list_application_materials(
    application_id: str,
    principal: Downloader,
    collaborators: CollaboratorsDep,
    work: UnitOfWorkDep,
    ctx: ContextDep,
) -> AttachedMaterials:
    attached = await service.attached_materials(
        session=work.session, hasher=collaborators.hasher, principal=principal, application_id=application_id, ctx=ctx
    )
    return AttachedMaterials(
        items=[
            AttachedMaterialOut(
                id=m.id, sha256=m.sha256, size=m.size, media_type=m.media_type, uploaded_at=m.created_at
            )
            for m in attached
        ]
    )


_EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


@router.get(
    "/applications/{application_id}/materials/{material_id}",
    operation_id="download_application_material",
    summary="One attached material, as uploaded",
    description="Served as an attachment that no browser renders as a page (`nosniff`, `sandbox`). A clerk's "
    "download is listed in the applicant's `GET /v1/me/data-access`.",
    tags=["citizen", "window"],
    dependencies=[audit_action("application.material.read")],
    response_class=Response,
    responses={
        200: {
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in _EXTENSIONS},
            "description": "The file",
        },
        **problem_responses(ApplicationNotFound, AttachedMaterialNotFound),
    },
)
async def download_application_material(
    application_id: str,
    material_id: str,
    principal: Downloader,
    collaborators: CollaboratorsDep,
    work: UnitOfWorkDep,
    ctx: ContextDep,
) -> Response:
    material = await service.attached_material(
        session=work.session,
        hasher=collaborators.hasher,
        principal=principal,
        application_id=application_id,
        material_id=material_id,
        ctx=ctx,
    )
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
    dependencies=[audit_action("application.materials.supply")],
    response_model=ApplicationOut,
    responses={
        **REDECIDED,
        **problem_responses(
            ApplicationNotFound, InvalidTransition, MaterialNotFound, ConcurrentChange, *JSON_BODY_ERRORS
        ),
    },
)
async def supply_application_materials(
    application_id: str,
    body: MaterialsIn,
    principal: Citizen,
    collaborators: CollaboratorsDep,
    work: UnitOfWorkDep,
    ctx: ContextDep,
    response: Response,
) -> ApplicationOut:
    outcome = await review.supply_materials(
        work=work,
        kit=collaborators.decisions,
        ctx=ctx,
        principal=principal,
        application_id=application_id,
        material_ids=body.material_ids,
    )
    return answer(outcome, response)
