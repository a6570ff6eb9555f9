"""Putting announcements in the outbox, inside the transaction of the change they announce.

The domains say what happened as a value, an `Announcement` (what changed, whose, when); `add` stages it
as an outbox row in the same session as the change, so it commits with it: no event without its change
and no change without its event. This module knows no domain model: the applications, certificates and
appointments build their own announcements (app.applications.announcements, app.stations.announcements).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.notifications.models import OutboxEvent

_WROTE = "notifications_outbox_written"


@dataclass(frozen=True)
class Announcement:
    """One change a citizen is told about. `type` is `<kind>.<change>` (`application.issued`,
    `certificate.revoked`, `appointment.booked`); `subject` is the citizen's `sub` when known (never an
    id number), `subject_hash` whose feed shows it; `dedupe_key` makes it at most once (a reminder)."""

    type: str
    occurred_at: datetime
    status: str
    subject: str | None
    subject_hash: str
    application_id: str | None = None
    service: str | None = None
    certificate_serial: str | None = None
    appointment: dict[str, Any] | None = None
    dedupe_key: str | None = None

    def row(self) -> OutboxEvent:
        return OutboxEvent(
            type=self.type,
            occurred_at=self.occurred_at,
            application_id=self.application_id,
            service=self.service,
            status=self.status,
            certificate_serial=self.certificate_serial,
            appointment=self.appointment,
            subject=self.subject,
            subject_hash=self.subject_hash,
            dedupe_key=self.dedupe_key,
            state="pending",
            attempts=0,
            next_attempt_at=self.occurred_at,
            created_at=self.occurred_at,
        )


def add(session: AsyncSession | Session, announcement: Announcement) -> OutboxEvent:
    """Stage the announcement in `session`, beside the change it announces: it commits with it."""
    row = announcement.row()
    session.add(row)
    session.info[_WROTE] = True
    return row


# Called after a commit that wrote outbox rows: a dispatcher in this process wakes at once instead of
# at its next poll. (Dispatchers in other processes poll.)
_after_outbox_commit: list[Callable[[], None]] = []


def on_outbox_commit(callback: Callable[[], None]) -> Callable[[], None]:
    _after_outbox_commit.append(callback)
    return lambda: _after_outbox_commit.remove(callback)


@event.listens_for(Session, "after_commit")
def _wake_dispatchers(session: Session) -> None:
    if session.info.pop(_WROTE, False):
        for callback in list(_after_outbox_commit):
            callback()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_WROTE, None)
