from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column

from app.db.base import Base, UtcDateTime, utcnow
from app.db.types import BigIntId, StrEnumType


class CertificateStatus(StrEnum):
    """The record's own status; what verification shows (valid | revoked | expired | superseded) is
    `status.public_status`."""

    issued = "issued"
    revoked = "revoked"
    superseded = "superseded"  # replaced by a re-issue (补发), a renewal or an address change


class CertificateNumber(Base):
    """Serial numbers come from this table's identity key: unique under concurrency, never max()+1. On
    PostgreSQL only its sequence is drawn from (nextval); SQLite, which has no sequences, inserts a row."""

    __tablename__ = "certificate_numbers"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Certificate(Base):
    __tablename__ = "certificates"

    serial: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Not unique: a re-issue (补发) is a second certificate of the same application; the current one
    # is the one not superseded.
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    service: Mapped[str] = mapped_column(String(64), index=True)
    verification_code: Mapped[str] = mapped_column(String(16), unique=True)
    holder_name: Mapped[str] = mapped_column(String(64))
    holder_id_hash: Mapped[str] = mapped_column(String(64), index=True)
    holder_id_masked: Mapped[str] = mapped_column(String(18))
    facts: Mapped[list[Any]] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[CertificateStatus] = mapped_column(
        StrEnumType(CertificateStatus, 16), default=CertificateStatus.issued
    )
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Public: one of app.certificates.revocation.ReasonCode. The free text below is staff-only.
    revocation_reason_code: Mapped[str | None] = mapped_column(String(32))
    revoked_reason: Mapped[str | None] = mapped_column(String(500))
    revoked_by: Mapped[str | None] = mapped_column(String(255))
    superseded_by: Mapped[str | None] = mapped_column(String(32))  # the serial of the re-issued certificate
    superseded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    replaces: Mapped[str | None] = mapped_column(String(32))  # on a re-issue: the serial it replaces
    # On the newest certificate of a family a person holds one of at a time (the residence permit,
    # docs/api.md#one-valid-residence-permit), `<family>:<holder hash>`; null on every other. Unique: of two issues of
    # a permit to one person at once, the database lets one commit.
    current_key: Mapped[str | None] = mapped_column(String(96), unique=True)
    pdf_sha256: Mapped[str] = mapped_column(String(64), index=True)
    pdf_size: Mapped[int] = mapped_column(Integer)
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))  # None: in the object store (STORAGE_URL)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}
