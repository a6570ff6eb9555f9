"""Sampling the gauges operators watch (docs/scaling.md): what only the database or a client knows now."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.applications.models import Application
from app.applications.states import Status
from app.audit.models import AuditEvent
from app.notifications.models import PENDING, OutboxEvent
from app.observability import BREAKER_OPEN, OUTBOX_BACKLOG, PENDING_AGENCY, SEALER_LAG, UNSEALED_EVENTS
from integrations.agencies import Agencies

logger = logging.getLogger("cityservices.metrics")

_BREAKER_VALUE = {"closed": 0.0, "half-opened": 0.5, "opened": 1.0}


async def sample_breakers(agencies: Agencies) -> None:
    for name, client in (("police", agencies.police), ("housing", agencies.housing)):
        BREAKER_OPEN.labels(agency=name).set(_BREAKER_VALUE.get(await client.http.breaker.state(), 1.0))


async def sample_backlogs(sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime | None = None) -> None:
    """Three small indexed queries; a failure leaves the last values (a scrape must never fail on them)."""
    try:
        async with sessionmaker() as session:
            pending = await session.scalar(
                select(func.count()).select_from(Application).where(Application.status == Status.pending_agency)
            )
            unsealed, oldest = (
                await session.execute(
                    select(func.count(), func.min(AuditEvent.occurred_at)).where(AuditEvent.seq.is_(None))
                )
            ).one()
            undelivered = await session.scalar(
                select(func.count()).select_from(OutboxEvent).where(OutboxEvent.state == PENDING)
            )
    except Exception as exc:  # noqa: BLE001 - metrics report, they never raise
        logger.warning("sampling backlogs failed (%s)", type(exc).__name__)
        return
    PENDING_AGENCY.set(pending or 0)
    UNSEALED_EVENTS.set(unsealed or 0)
    OUTBOX_BACKLOG.set(undelivered or 0)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    SEALER_LAG.set(max(0.0, ((now or datetime.now(UTC)) - oldest).total_seconds()) if oldest else 0.0)
