from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UtcDateTime, utcnow
from app.db.types import BigIntId

PENDING, SENT, DEAD, SKIPPED = "pending", "sent", "dead", "skipped"
# A sink's delivery of one event: received (`sent`), to be tried again (`failed`), or given up on (`dead`).
FAILED = "failed"


class OutboxEvent(Base):
    """One notification, inserted in the transaction of the change it announces, then delivered by the
    dispatcher. `id` is the event's identity everywhere: the webhook's `id`, the feed's `since_id`."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        Index("ix_notification_outbox_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_notification_outbox_subject_hash_id", "subject_hash", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    application_id: Mapped[str | None] = mapped_column(String(36))
    service: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(20))
    certificate_serial: Mapped[str | None] = mapped_column(String(32))
    # An appointment's event (`appointment.<booked|cancelled|reminder>`): which, where and when.
    appointment: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The citizen's `sub` when the citizen filed online; a window filing knows only the clerk's.
    subject: Mapped[str | None] = mapped_column(String(255))
    # Whose feed shows it: the applicant's keyed id hash (never the number), as the request log keeps it.
    subject_hash: Mapped[str] = mapped_column(String(64))
    # Set for events that must exist at most once (a certificate's expiry reminder).
    dedupe_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    state: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    def payload(self) -> dict[str, object]:
        """The documented body (docs/notifications.md), without the delivery's own `sent_at`."""
        return {
            "id": self.id,
            "type": self.type,
            "occurred_at": self.occurred_at.isoformat(),
            "application_id": self.application_id,
            "service": self.service,
            "status": self.status,
            "certificate_serial": self.certificate_serial,
            "subject": self.subject,
            # Only an appointment's event has the member: the others keep the documented body exactly.
            **({"appointment": self.appointment} if self.appointment is not None else {}),
        }


class SinkDelivery(Base):
    """One sink's state for one event (the webhook's, the broker's), apart from every other sink's: a
    sink that received an event is never sent it again, when another sink's failure makes it retried."""

    __tablename__ = "notification_deliveries"

    event_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("notification_outbox.id", ondelete="CASCADE"), primary_key=True
    )
    sink: Mapped[str] = mapped_column(String(20), primary_key=True)
    state: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
