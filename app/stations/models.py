from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UtcDateTime, utcnow
from app.db.types import BigIntId, StrEnumType


class AppointmentStatus(StrEnum):
    booked = "booked"
    cancelled = "cancelled"
    arrived = "arrived"
    # Written when the citizen books again in the same line; until then a booked appointment whose slot
    # has ended is presented as a no-show (app.stations.presenter).
    no_show = "no_show"


class Slot(Base):
    """One slot of one line at one station, created when first booked. `booked` counts its open
    appointments; it only ever moves by a conditional UPDATE (`booked < capacity`), and the database's
    own check refuses anything past the capacity, whichever instance writes."""

    __tablename__ = "appointment_slots"
    __table_args__ = (
        UniqueConstraint("station_id", "line", "starts_at"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(String(32))
    line: Mapped[str] = mapped_column(String(20))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, default=0)


# One open appointment per citizen and line, enforced by the database so that two bookings racing on two
# instances cannot both pass the read that looks for one.
OPEN_SQL = "status = 'booked'"


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        Index("uq_appointments_open_per_line", "citizen_hash", "line", unique=True,
              postgresql_where=text(OPEN_SQL), sqlite_where=text(OPEN_SQL)),
        Index("ix_appointments_station_id_starts_at", "station_id", "starts_at"),
        Index("ix_appointments_citizen_hash_starts_at", "citizen_hash", "starts_at"),
        Index("ix_appointments_status_starts_at", "status", "starts_at"),
    )  # fmt: skip

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    slot_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("appointment_slots.id"))
    station_id: Mapped[str] = mapped_column(String(32))
    # As the registry named it when booked: the citizen's list and notifications need no registry lookup.
    station_name: Mapped[str] = mapped_column(String(64))
    line: Mapped[str] = mapped_column(String(20))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[AppointmentStatus] = mapped_column(StrEnumType(AppointmentStatus, 12))
    # The citizen, as the request log keeps people: the keyed hash, the masked number, the verified name.
    citizen_hash: Mapped[str] = mapped_column(String(64))
    citizen_id_masked: Mapped[str] = mapped_column(String(18))
    citizen_name: Mapped[str] = mapped_column(String(64))
    citizen_sub: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    arrived_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    arrival_marked_by: Mapped[str | None] = mapped_column(String(255))
