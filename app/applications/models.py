from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.applications.states import OPEN, Status
from app.db.base import Base, UtcDateTime, utcnow
from app.db.types import StrEnumType

OPEN_STATUSES_SQL = "status IN ({})".format(", ".join(f"'{value}'" for value in sorted(OPEN)))


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (
        Index("ix_applications_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_applications_applicant_hash_created_at", "applicant_id_hash", "created_at"),
        # The review queue and staff lists by status, in filing order: a page is read off the index, not
        # sorted out of every application in that status (8,000 awaiting review at 2M applications).
        Index("ix_applications_status_created_at", "status", "created_at", "id"),
        # Statistics read the edges of a window, and the first filing, off it (app/stats/rollups.py).
        Index("ix_applications_created_at", "created_at"),
        # One open case per person and service, enforced by the database so that two concurrent filings
        # cannot both pass the read that looks for one (docs/api.md#duplicates-renewal-and-re-issue,
        # DUPLICATE_APPLICATION).
        Index(
            "uq_applications_open_per_service",
            "applicant_id_hash",
            "service",
            unique=True,
            postgresql_where=text(OPEN_STATUSES_SQL),
            sqlite_where=text(OPEN_STATUSES_SQL),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    service: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[Status] = mapped_column(StrEnumType(Status, 20))
    channel: Mapped[str] = mapped_column(String(10))
    station_id: Mapped[str | None] = mapped_column(String(32))
    # The raw number is needed to ask the agencies again after an outage; it never leaves this table
    # except masked, and the request log only ever sees applicant_id_hash.
    applicant_id_number: Mapped[str] = mapped_column(String(18))
    applicant_id_hash: Mapped[str] = mapped_column(String(64))
    applicant_name: Mapped[str] = mapped_column(String(64))
    filed_by_sub: Mapped[str] = mapped_column(String(255))
    filed_by_role: Mapped[str] = mapped_column(String(16))
    # The person who filed (the keyed hash of their id number): the clerk at a window filing, whichever
    # account they used, or the citizen online. Null only for window filings made before staff tokens
    # carried an id number (docs/api.md#staff-are-persons).
    filed_by_id_hash: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # What the certificate will state (e.g. hukou address), kept so a clerk's later approval can issue it.
    document_facts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Optimistic lock: every UPDATE is guarded by `WHERE version = <read version>`, so of two clerks
    # deciding one case at once exactly one UPDATE matches; the other is answered 409.
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}


class IdempotencyRecord(Base):
    """The first answer to (caller, Idempotency-Key), replayed for retries of the same request."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("actor_sub", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor_sub: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(255))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    application_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
