from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request

from app.api.deps import CollaboratorsDep, ContextDep, Filer, UnitOfWorkDep, audit_action
from app.api.uploads import MULTIPART_FILE_BODY, MalformedUpload, MaterialTooLarge, NotMultipart, read_file_part
from app.auth.principal import Role
from app.auth.separation import StaffIdentityRequired
from app.clock import utc_now
from app.errors import UPLOAD_ERRORS, Forbidden, TooManyRequests, Unauthenticated, problem_responses
from app.materials import service
from app.materials.errors import UnsupportedMaterial, UploadQuotaExceeded
from app.materials.schemas import MaterialOut

router = APIRouter(prefix="/v1", responses=problem_responses(Unauthenticated, Forbidden, StaffIdentityRequired))


@router.post(
    "/materials",
    operation_id="upload_material",
    summary="Upload one proof (PDF, JPEG or PNG, ≤ 10 MiB)",
    description="Multipart field `file`. The type is judged by the file's bytes, not its name. An upload that no "
    "application uses is deleted after `UNATTACHED_MATERIAL_HOURS` (24); a citizen may keep at most "
    "`UPLOAD_QUOTA_MB` (100 MiB) of those (429 `UPLOAD_QUOTA_EXCEEDED`).",
    tags=["citizen", "window"],
    status_code=201,
    dependencies=[audit_action("material.upload")],
    response_model=MaterialOut,
    responses=problem_responses(
        MaterialTooLarge,
        UnsupportedMaterial,
        NotMultipart,
        MalformedUpload,
        TooManyRequests,
        UploadQuotaExceeded,
        *UPLOAD_ERRORS,
    ),
    openapi_extra=MULTIPART_FILE_BODY,
)
async def upload_material(
    request: Request, principal: Filer, collaborators: CollaboratorsDep, work: UnitOfWorkDep, ctx: ContextDep
) -> MaterialOut:
    if principal.role is Role.citizen:
        await collaborators.limiter.check("uploads", principal.sub)
    upload = await read_file_part(request)
    settings = collaborators.settings
    material = await service.upload(
        work=work,
        storage=collaborators.storage,
        ctx=ctx,
        principal=principal,
        content=upload.content,
        filename=upload.filename,
        # Citizens' uploads are bounded; a window clerk uploads for many people, and retention covers them.
        quota_bytes=int(settings.upload_quota_mb * 2**20) if principal.role is Role.citizen else None,
        keep_for=timedelta(hours=settings.unattached_material_hours),
        now=utc_now(),
    )
    return MaterialOut(id=material.id, sha256=material.sha256, size=material.size, media_type=material.media_type)
