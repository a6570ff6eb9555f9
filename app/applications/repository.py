"""The only place applications and idempotency records are queried."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.applications.models import Application, IdempotencyRecord
from app.applications.states import Status
from app.certificates.models import Certificate


async def get(session: AsyncSession, application_id: str) -> Application | None:
    return await session.get(Application, application_id)


async def certificate_for(session: AsyncSession, application_id: str) -> Certificate | None:
    return (
        await session.execute(select(Certificate).where(Certificate.application_id == application_id))
    ).scalar_one_or_none()


async def certificates_for(session: AsyncSession, application_ids: Sequence[str]) -> dict[str, Certificate]:
    if not application_ids:
        return {}
    rows = await session.execute(select(Certificate).where(Certificate.application_id.in_(application_ids)))
    return {c.application_id: c for c in rows.scalars()}


async def page(
    session: AsyncSession,
    *,
    applicant_hash: str | None,
    status: str | None,
    service: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
    oldest_first: bool = False,
) -> list[Application]:
    query = select(Application)
    if applicant_hash is not None:
        query = query.where(Application.applicant_id_hash == applicant_hash)
    if status is not None:
        query = query.where(Application.status == status)
    if service is not None:
        query = query.where(Application.service == service)
    if after is not None:
        created, app_id = after
        if oldest_first:
            query = query.where(or_(Application.created_at > created,
                                    and_(Application.created_at == created, Application.id > app_id)))
        else:
            query = query.where(or_(Application.created_at < created,
                                    and_(Application.created_at == created, Application.id < app_id)))
    order = (Application.created_at.asc(), Application.id.asc()) if oldest_first else (
        Application.created_at.desc(), Application.id.desc())
    rows = await session.execute(query.order_by(*order).limit(limit + 1))
    return list(rows.scalars())


async def idempotency_record(session: AsyncSession, *, actor_sub: str, key: str) -> IdempotencyRecord | None:
    return (
        await session.execute(
            select(IdempotencyRecord).where(IdempotencyRecord.actor_sub == actor_sub, IdempotencyRecord.key == key)
        )
    ).scalar_one_or_none()


async def claim_due(session: AsyncSession, *, now: datetime, lease_until: datetime, limit: int) -> list[str]:
    """Take up to `limit` applications whose retry is due, pushing their next attempt past the lease so
    no other worker takes them meanwhile. One UPDATE … RETURNING, so the claim is atomic; on PostgreSQL
    the candidates are chosen FOR UPDATE SKIP LOCKED, so several workers share the work."""
    due = (
        select(Application.id)
        .where(Application.status == Status.pending_agency.value, Application.next_attempt_at <= now)
        .order_by(Application.next_attempt_at)
        .limit(limit)
    )
    chosen: Any = due.scalar_subquery()
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # Lock, then update: inside UPDATE … IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED) PostgreSQL may
        # rescan the subquery and skip the rows it just updated, claiming every due row, not n.
        chosen = list((await session.execute(due.with_for_update(skip_locked=True))).scalars())
    claimed = await session.execute(
        update(Application)
        .where(Application.id.in_(chosen), Application.status == Status.pending_agency.value,
               Application.next_attempt_at <= now)
        .values(next_attempt_at=lease_until, version=Application.version + 1)
        .returning(Application.id)
        .execution_options(synchronize_session=False)
    )
    ids = list(claimed.scalars())
    await session.commit()
    return ids
