from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Float, Index, Integer, Row, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UtcDateTime
from app.db.types import BigIntId


class AuditEvent(Base):
    """One entry of the append-only, hash-chained request log. Never holds a raw id number.

    On PostgreSQL the table is partitioned by month of `occurred_at` (migration 0010_audit_partitions,
    `app/audit/partitions.py`): there its primary key is (id, occurred_at) and `seq` is unique with
    `occurred_at`, because a partitioned table's unique keys must hold its partition key. The model keeps
    the single-column keys SQLite has; the sealer, one at a time under its lock, still gives each `seq`
    once, and the chain's walk names a repeated one (docs/scaling.md, "The request log by month")."""

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
# An event read as a plain row of columns (the chain's walk), not an ORM object.
EventRow = Row[*tuple[Any, ...]]
# Every column an event is inserted with: all but the generated id (seq and hashes stay null until sealed).
INSERTED_COLUMNS = tuple(column.name for column in EVENTS_TABLE.columns if column.name != "id")


def insert_row(fields: dict[str, Any]) -> dict[str, Any]:
    """An event's values as one row of a multi-row insert: every inserted column, None where unset (all
    rows of one statement must name the same columns)."""
    return {name: fields.get(name) for name in INSERTED_COLUMNS}


class AuditSeqHour(Base):
    """The lowest and highest chain position given to the events of one UTC hour of `occurred_at`, kept by
    the sealer: a search by time starts its walk there (app/audit/hours.py)."""

    __tablename__ = "audit_seq_hours"

    hour: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)


class AuditCheckpoint(Base):
    """The chain head at a moment, signed with the service's signing key, for offline verification."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (
        CheckConstraint("seq > 0", name="seq_positive"),
        # `GET /v1/audit/verify` starts from the furthest checkpoint by position: one index lookup.
        Index("ix_audit_checkpoints_seq", "seq"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    signature: Mapped[str] = mapped_column(Text)
    certificate_pem: Mapped[str] = mapped_column(Text)


class AuditArchive(Base):
    """Where the live chain starts after months were archived (`cityservices audit-archive`): the last
    archived event's position and hash, which the first live event links to."""

    __tablename__ = "audit_archives"
    __table_args__ = (CheckConstraint("last_seq > 0", name="last_seq_positive"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    before_month: Mapped[str] = mapped_column(String(7))  # YYYY-MM: every month before it was archived
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    last_hash: Mapped[str] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(BigInteger)
    archived_at: Mapped[datetime] = mapped_column(UtcDateTime)
