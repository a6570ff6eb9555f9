"""Accepting one proof: its type judged by its bytes, kept with its owner, in the request's unit of work."""

from __future__ import annotations

import uuid

from app.audit.context import RequestContext
from app.auth.principal import Principal
from app.db.uow import UnitOfWork
from app.materials import repository
from app.materials.errors import UnsupportedMaterial
from app.materials.models import Material
from app.materials.sniffing import media_type_of
from app.storage import BlobStore


async def upload(
    *,
    work: UnitOfWork,
    storage: BlobStore,
    ctx: RequestContext,
    principal: Principal,
    content: bytes,
    filename: str | None,
) -> Material:
    media_type = media_type_of(content)
    if media_type is None:
        raise UnsupportedMaterial()
    sha256, inline = await storage.save(content)  # before the record commits
    material = Material(
        id=str(uuid.uuid4()),
        owner_sub=principal.sub,
        media_type=media_type,
        size=len(content),
        sha256=sha256,
        filename=filename,
        content=inline,
    )
    repository.add(work.session, material)
    ctx.about(resource_type="material", resource_id=material.id)
    await work.commit()
    return material
