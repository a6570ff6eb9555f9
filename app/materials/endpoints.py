from __future__ import annotations

from fastapi import APIRouter, Request

from app.api.deps import CollaboratorsDep, ContextDep, Filer, UnitOfWorkDep, audit_action
from app.api.uploads import read_file_part
from app.auth.principal import Role
from app.auth.separation import StaffIdentityRequired
from app.errors import UPLOAD_ERRORS, Forbidden, TooManyRequests, Unauthenticated, problem_responses
from app.materials import service
from app.materials.errors import MalformedUpload, MaterialTooLarge, NotMultipart, UnsupportedMaterial
from app.materials.schemas import MaterialOut

router = APIRouter(prefix="/v1", responses=problem_responses(Unauthenticated, Forbidden, StaffIdentityRequired))


@router.post(
    "/materials",
    operation_id="upload_material",
    summary="Upload one proof (PDF, JPEG or PNG, ≤ 10 MiB)",
    description="Multipart field `file`. The type is judged by the file's bytes, not its name.",
    tags=["citizen", "window"],
    status_code=201,
    dependencies=[audit_action("material.upload")],
    response_model=MaterialOut,
    responses=problem_responses(
        MaterialTooLarge, UnsupportedMaterial, NotMultipart, MalformedUpload, TooManyRequests, *UPLOAD_ERRORS
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    },
)
async def upload_material(
    request: Request, principal: Filer, collaborators: CollaboratorsDep, work: UnitOfWorkDep, ctx: ContextDep
) -> MaterialOut:
    if principal.role is Role.citizen:
        await collaborators.limiter.check("uploads", principal.sub)
    upload = await read_file_part(request)
    material = await service.upload(
        work=work,
        storage=collaborators.storage,
        ctx=ctx,
        principal=principal,
        content=upload.content,
        filename=upload.filename,
    )
    return MaterialOut(id=material.id, sha256=material.sha256, size=material.size, media_type=material.media_type)
