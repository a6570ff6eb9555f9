"""The citizen's feed and the operator's dead letters."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.uow import UnitOfWork
from app.notifications import repository
from app.notifications.models import OutboxEvent
from app.notifications.schemas import AppointmentRef, NotificationFeed, NotificationOut


async def feed(session: AsyncSession, *, subject_hash: str, since_id: int | None, limit: int) -> NotificationFeed:
    rows = await repository.feed(session, subject_hash=subject_hash, since_id=since_id, limit=limit)
    return NotificationFeed(items=[present(e) for e in rows], last_id=rows[-1].id if rows else since_id)


def present(event: OutboxEvent) -> NotificationOut:
    return NotificationOut(
        id=event.id,
        type=event.type,
        occurred_at=event.occurred_at,
        application_id=event.application_id,
        service=event.service,
        status=event.status,
        certificate_serial=event.certificate_serial,
        appointment=AppointmentRef.model_validate(event.appointment) if event.appointment else None,
    )


async def dead_letters(session: AsyncSession) -> list[OutboxEvent]:
    return await repository.dead(session)


async def dead_sinks(session: AsyncSession, event_ids: list[int]) -> dict[int, list[str]]:
    return await repository.dead_sinks(session, event_ids)


async def replay(work: UnitOfWork, event_id: int) -> bool:
    replayed = await repository.replay(work.session, event_id, now=datetime.now(UTC))
    await work.commit()
    return replayed
