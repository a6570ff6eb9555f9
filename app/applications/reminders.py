"""The reminder that a certificate will soon end: one `certificate.expiring` announcement per certificate,
30 days before it ends, never a second (the outbox's dedupe key). Scanned by the notification dispatcher."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.applications.announcements import certificate_changed
from app.applications.models import Application
from app.certificates.models import Certificate
from app.notifications.models import OutboxEvent
from app.notifications.outbox import Announcement

NOTICE = timedelta(days=30)
KEY_PREFIX = "certificate.expiring:"


async def expiring_certificates(session: AsyncSession, now: datetime, *, limit: int = 200) -> list[Announcement]:
    """Valid certificates ending within NOTICE that have no reminder yet. A certificate valid for less
    than NOTICE in all (a 30-day temporary certificate) gets none: it would be told at issue."""
    reminded = exists().where(OutboxEvent.dedupe_key == literal(KEY_PREFIX) + Certificate.serial)
    rows = await session.execute(
        select(Certificate, Application)
        .join(Application, Application.id == Certificate.application_id)
        .where(
            Certificate.status == "issued",
            Certificate.expires_at > now,
            Certificate.expires_at <= now + NOTICE,
            _valid_longer_than(session, NOTICE),
            ~reminded,
        )
        .order_by(Certificate.expires_at)
        .limit(limit)
    )
    return [
        certificate_changed(certificate, application, "expiring", at=now, dedupe_key=KEY_PREFIX + certificate.serial)
        for certificate, application in rows.all()
    ]


def _valid_longer_than(session: AsyncSession, window: timedelta) -> ColumnElement[bool]:
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return Certificate.expires_at - Certificate.issued_at > window
    # SQLite keeps timestamps as text: compare in days.
    days = func.julianday(Certificate.expires_at) - func.julianday(Certificate.issued_at)
    return days > window.total_seconds() / 86400
