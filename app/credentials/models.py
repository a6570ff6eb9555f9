from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UtcDateTime, utcnow


class StatusListEntry(Base):
    """A certificate's place in a status list, taken when its first wallet credential is issued; every
    credential of that certificate points there. Its bit is not stored: it is read from the certificate's
    own status when the list is served, so the revocation or supersession that changes the certificate sets
    the bit in that same transaction, and no second write can be forgotten or diverge."""

    __tablename__ = "status_list_entries"
    __table_args__ = (UniqueConstraint("list_id", "idx"),)

    certificate_serial: Mapped[str] = mapped_column(ForeignKey("certificates.serial"), primary_key=True)
    list_id: Mapped[int] = mapped_column(Integer)
    idx: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
