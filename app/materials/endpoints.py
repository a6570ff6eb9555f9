from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from app.api.deps import ContextDep
from app.audit.recorder import commit
from app.auth.dependencies import Filer
from app.auth.principal import Role
from app.errors import UPLOAD_ERRORS, Forbidden, TooManyRequests, Unauthenticated, problem_responses
from app.materials import repository
from app.materials.errors import MalformedUpload, MaterialTooLarge, NotMultipart, UnsupportedMaterial
from app.materials.models import Material
from app.materials.sniffing import media_type_of
from app.materials.upload import read_file_part
from app.runtime import RuntimeDep, SessionDep

router = APIRouter(prefix="/v1", responses=problem_responses(Unauthenticated, Forbidden))


class MaterialOut(BaseModel):
    id: str = Field(examples=["7d0c3c0e-2f4f-4c36-9a43-0d5b1a6b2e11"])
    sha256: str
    size: int
    media_type: str = Field(examples=["application/pdf"])


@router.post(
    "/materials",
    operation_id="upload_material",
    summary="Upload one proof (PDF, JPEG or PNG, ≤ 10 MiB)",
    description="Multipart field `file`. The type is judged by the file's bytes, not its name.",
    tags=["citizen", "window"],
    status_code=201,
    response_model=MaterialOut,
    responses=problem_responses(MaterialTooLarge, UnsupportedMaterial, NotMultipart, MalformedUpload, TooManyRequests,
                                *UPLOAD_ERRORS),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            }}},
        }
    },
)
async def upload_material(
    request: Request, principal: Filer, runtime: RuntimeDep, session: SessionDep, ctx: ContextDep
) -> MaterialOut:
    if principal.role is Role.citizen:
        await runtime.limiter.check("uploads", principal.sub)
    upload = await read_file_part(request)
    media_type = media_type_of(upload.content)
    if media_type is None:
        raise UnsupportedMaterial()
    sha256, inline = await runtime.storage.save(upload.content)  # before the record commits
    material = Material(
        id=str(uuid.uuid4()),
        owner_sub=principal.sub,
        media_type=media_type,
        size=len(upload.content),
        sha256=sha256,
        filename=upload.filename,
        content=inline,
    )
    repository.add(session, material)
    ctx.about(resource_type="material", resource_id=material.id)
    ctx.action = "material.upload"
    runtime.audit.record_request(session, ctx, status=201)
    await commit(session)
    return MaterialOut(id=material.id, sha256=material.sha256, size=material.size, media_type=material.media_type)
