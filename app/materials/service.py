"""Accepting one proof: its type judged by its bytes, kept with its owner, in the request's unit of work."""

from __future__ import annotations

import asyncio
import math
import uuid
from datetime import datetime, timedelta

from app.audit.context import RequestContext
from app.auth.principal import Principal
from app.db.uow import UnitOfWork
from app.i18n import Text
from app.materials import repository
from app.materials.errors import UnsupportedMaterial, UploadQuotaExceeded
from app.materials.models import Material
from app.materials.sniffing import accept
from app.storage import BlobStore


async def upload(
    *,
    work: UnitOfWork,
    storage: BlobStore,
    ctx: RequestContext,
    principal: Principal,
    content: bytes,
    filename: str | None,
    quota_bytes: int | None,
    keep_for: timedelta,
    now: datetime,
) -> Material:
    accepted = await asyncio.to_thread(accept, content)  # parsing, decoding, re-encoding: CPU work
    if accepted is None:
        raise UnsupportedMaterial()
    content = accepted.content
    if quota_bytes is not None:
        await _within_quota(
            work, owner_sub=principal.sub, adding=len(content), quota_bytes=quota_bytes, keep_for=keep_for, now=now
        )
    sha256, inline = await storage.save(content)  # before the record commits
    material = Material(
        id=str(uuid.uuid4()),
        owner_sub=principal.sub,
        media_type=accepted.media_type,
        size=len(content),
        sha256=sha256,
        filename=filename,
        content=inline,
    )
    repository.add(work.session, material)
    ctx.about(resource_type="material", resource_id=material.id)
    await work.commit()
    return material


async def _within_quota(
    work: UnitOfWork, *, owner_sub: str, adding: int, quota_bytes: int, keep_for: timedelta, now: datetime
) -> None:
    """Uploads no application uses yet count against the owner's quota until attached or expired."""
    used, oldest = await repository.unattached_usage(work.session, owner_sub=owner_sub)
    if used + adding <= quota_bytes:
        return
    retry_after = max(1, math.ceil(((oldest + keep_for) - now).total_seconds())) if oldest else 3600
    mib = quota_bytes / 2**20
    raise UploadQuotaExceeded(
        Text(
            f"未被申请使用的上传文件合计不得超过 {mib:g} MiB；请先提交申请，或等待未使用的文件过期删除",
            f"Uploads not used by any application may total at most {mib:g} MiB: file an application with "
            "them, or wait until unused ones expire",
        ),
        headers={"Retry-After": str(retry_after)},
    )
