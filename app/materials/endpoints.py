from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response

from app.api.deps import BEARER_REQUIRED, act_as
from app.api.direct import DirectRoute
from app.api.json_answer import json_answer
from app.api.uploads import MULTIPART_FILE_BODY, MalformedUpload, MaterialTooLarge, NotMultipart, read_file_part
from app.auth.principal import Role
from app.auth.separation import StaffIdentityRequired
from app.clock import utc_now
from app.errors import UPLOAD_ERRORS, Forbidden, TooManyRequests, Unauthenticated, problem_responses
from app.materials import service
from app.materials.errors import UnsupportedMaterial, UploadQuotaExceeded
from app.materials.schemas import MaterialOut

# A step of every citizen's issuance: served first (app/main.py) and called without FastAPI's parameter
# solving (app.api.direct).
router = APIRouter(
    prefix="/v1",
    responses=problem_responses(Unauthenticated, Forbidden, StaffIdentityRequired),
    route_class=DirectRoute,
)


@router.post(
    "/materials",
    operation_id="upload_material",
    summary="Upload one proof (PDF, JPEG or PNG, ≤ 10 MiB)",
    description="Multipart field `file`. The type is judged by the file's bytes, not its name. An upload that no "
    "application uses is deleted after `UNATTACHED_MATERIAL_HOURS` (24); a citizen may keep at most "
    "`UPLOAD_QUOTA_MB` (100 MiB) of those (429 `UPLOAD_QUOTA_EXCEEDED`).",
    tags=["citizen", "window"],
    status_code=201,
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
    openapi_extra=MULTIPART_FILE_BODY | BEARER_REQUIRED,
)
async def upload_material(request: Request) -> Response:
    acting = await act_as(request, "material.upload", Role.clerk, Role.citizen)
    principal, collaborators = acting.principal, acting.collaborators
    if principal.role is Role.citizen:
        await collaborators.limiter.check("uploads", principal.sub)
    upload = await read_file_part(request)
    settings = collaborators.settings
    async with acting.unit_of_work() as work:
        material = await service.upload(
            work=work,
            storage=collaborators.storage,
            ctx=acting.ctx,
            principal=principal,
            content=upload.content,
            filename=upload.filename,
            # Citizens' uploads are bounded; a window clerk uploads for many people, and retention covers them.
            quota_bytes=int(settings.upload_quota_mb * 2**20) if principal.role is Role.citizen else None,
            keep_for=timedelta(hours=settings.unattached_material_hours),
            now=utc_now(),
        )
        out = MaterialOut(id=material.id, sha256=material.sha256, size=material.size, media_type=material.media_type)
    return json_answer(out, status_code=201)
