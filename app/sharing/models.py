from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UtcDateTime, utcnow


class Share(Base):
    """One recipient's link to one certificate. The link's token is kept only as its SHA-256: the database
    (or a copy of it) cannot be turned back into working links."""

    __tablename__ = "certificate_shares"
    __table_args__ = (Index("ix_certificate_shares_certificate_serial_created_at", "certificate_serial", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    certificate_serial: Mapped[str] = mapped_column(ForeignKey("certificates.serial"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    recipient: Mapped[str] = mapped_column(String(200))
    fields: Mapped[list[str]] = mapped_column(JSON)
    # Whether the holder is told (a notification, 10.4) each time the link is used.
    notify: Mapped[bool] = mapped_column(Boolean, default=False)
    # The holder who made it: their `sub` (whose feed a notification goes to) and keyed id hash.
    owner_sub: Mapped[str] = mapped_column(String(255))
    owner_id_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
