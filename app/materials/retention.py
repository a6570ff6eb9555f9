"""Materials nobody used are not kept: an upload that no application uses is deleted by the worker after
UNATTACHED_MATERIAL_HOURS, each deletion an event in the request log (`material.expire`), and the bytes
leave the object store too once no record refers to them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.events import AuditEntry
from app.audit.service import AuditLog
from app.db.uow import UnitOfWorkFactory
from app.materials import repository
from app.storage import BlobStore

BATCH = 200


BytesHolder = Callable[[AsyncSession, str], Awaitable[bool]]


async def delete_unattached(
    *,
    uow: UnitOfWorkFactory,
    audit: AuditLog,
    storage: BlobStore,
    now: datetime,
    keep_for: timedelta,
    other_holders: Sequence[BytesHolder],
) -> int:
    """One pass: every expired unattached material, a batch per transaction; how many were deleted.
    The bytes leave the object store when no other material holds them, nor any of `other_holders` (the
    certificates, whose PDFs share the store)."""
    deleted = 0
    while True:
        async with uow() as work:
            expired = await repository.delete_unattached(work.session, uploaded_before=now - keep_for, limit=BATCH)
            for material in expired:
                audit.add(
                    work,
                    AuditEntry.for_change(
                        None,
                        action="material.expire",
                        resource_type="material",
                        resource_id=material.id,
                        details={
                            "owner_sub": material.owner_sub,
                            "size": material.size,
                            "uploaded_at": material.created_at.isoformat(),
                            "reason": f"not attached to any application within {keep_for.total_seconds() / 3600:g} h",
                        },
                    ),
                )
            await work.commit()
        for sha256 in {m.sha256 for m in expired}:
            async with uow() as work:
                still_used = [await holds(work.session, sha256) for holds in (repository.holds_bytes, *other_holders)]
            if not any(still_used):
                await storage.delete(sha256)
        deleted += len(expired)
        if len(expired) < BATCH:
            return deleted
