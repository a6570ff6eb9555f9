from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Float, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UtcDateTime
from app.db.types import BigIntId


class AuditEvent(Base):
    """One entry of the append-only, hash-chained request log. Never holds a raw id number."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_subject_hash_seq", "subject_hash", "seq"),
        Index("ix_audit_events_occurred_at", "occurred_at"),
        # A position at or below zero would fall outside the chain's walk: the database refuses it.
        CheckConstraint("seq > 0", name="seq_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    # Position in the chain, set when the event is sealed (null until then, for milliseconds); unique, so
    # two sealers can never both extend the same head.
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(16))  # request | agency_call | change
    action: Mapped[str] = mapped_column(String(80), index=True)
    outcome: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(64))
    actor_sub: Mapped[str | None] = mapped_column(String(255), index=True)
    actor_role: Mapped[str | None] = mapped_column(String(16))
    actor_station: Mapped[str | None] = mapped_column(String(32))
    # The keyed hash of the actor's own id number: which person an account is. A lookup aid, outside the
    # hash chain (whose format it would change); the chained record of who acted stays `actor_sub`.
    actor_id_hash: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(10))
    method: Mapped[str | None] = mapped_column(String(8))
    route: Mapped[str | None] = mapped_column(String(120))
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    client_addr: Mapped[str | None] = mapped_column(String(64))
    resource_type: Mapped[str | None] = mapped_column(String(32))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    application_id: Mapped[str | None] = mapped_column(String(36), index=True)
    subject_hash: Mapped[str | None] = mapped_column(String(64))
    subject_masked: Mapped[str | None] = mapped_column(String(18))
    agency: Mapped[str | None] = mapped_column(String(16))
    dataset: Mapped[str | None] = mapped_column(String(64))
    on_behalf_of: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


# The table itself, for Core statements (the writer's and the unit of work's inserts, the sealer).
EVENTS_TABLE: Table = AuditEvent.__table__  # type: ignore[assignment]
# Every column an event is inserted with: all but the generated id (seq and hashes stay null until sealed).
INSERTED_COLUMNS = tuple(column.name for column in EVENTS_TABLE.columns if column.name != "id")


def insert_row(fields: dict[str, Any]) -> dict[str, Any]:
    """An event's values as one row of a multi-row insert: every inserted column, None where unset (all
    rows of one statement must name the same columns)."""
    return {name: fields.get(name) for name in INSERTED_COLUMNS}


class AuditCheckpoint(Base):
    """The chain head at a moment, signed with the service's signing key, for offline verification."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (CheckConstraint("seq > 0", name="seq_positive"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    signature: Mapped[str] = mapped_column(Text)
    certificate_pem: Mapped[str] = mapped_column(Text)
