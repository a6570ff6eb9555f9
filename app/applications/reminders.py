"""The reminder that a certificate will soon end: one `certificate.expiring` announcement per certificate,
30 days before it ends, never a second (the outbox's dedupe key). Scanned by the notification dispatcher."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.applications import repository
from app.applications.announcements import certificate_changed
from app.notifications.outbox import Announcement

NOTICE = timedelta(days=30)
KEY_PREFIX = "certificate.expiring:"


async def expiring_certificates(session: AsyncSession, now: datetime, *, limit: int = 200) -> list[Announcement]:
    """Valid certificates ending within NOTICE that have no reminder yet. A certificate valid for less
    than NOTICE in all (a 30-day temporary certificate) gets none: it would be told at issue."""
    rows = await repository.expiring_unreminded(session, now=now, notice=NOTICE, key_prefix=KEY_PREFIX, limit=limit)
    return [
        certificate_changed(certificate, application, "expiring", at=now, dedupe_key=KEY_PREFIX + certificate.serial)
        for certificate, application in rows
    ]
