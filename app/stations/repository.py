"""The only place slots and appointments are queried. Places in a slot are taken and given back by
conditional UPDATEs, never by reading a count and writing it back: under concurrent bookings on several
instances the database decides who gets the last place."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, literal, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.db.upserts import conflict_insert
from app.notifications.models import OutboxEvent
from app.stations.models import Appointment, AppointmentStatus, Slot


async def ensure_slot(
    session: AsyncSession, *, station_id: str, line: str, starts_at: datetime, ends_at: datetime, capacity: int
) -> None:
    """The slot's row, created by whichever booking comes first (INSERT … ON CONFLICT DO NOTHING)."""
    insert = conflict_insert(session)
    await session.execute(
        insert(Slot)
        .values(station_id=station_id, line=line, starts_at=starts_at, ends_at=ends_at, capacity=capacity, booked=0)
        .on_conflict_do_nothing(index_elements=[Slot.station_id, Slot.line, Slot.starts_at])
    )


async def take_place(session: AsyncSession, *, station_id: str, line: str, starts_at: datetime) -> int | None:
    """One place more in the slot if one is free: the slot's id, or None when it is full. The row lock the
    UPDATE takes makes a concurrent booking of the same slot wait, then see the new count."""
    result = await session.execute(
        update(Slot)
        .where(
            Slot.station_id == station_id,
            Slot.line == line,
            Slot.starts_at == starts_at,
            Slot.booked < Slot.capacity,
        )
        .values(booked=Slot.booked + 1)
        .returning(Slot.id)
        .execution_options(synchronize_session=False)
    )
    return result.scalar_one_or_none()


async def give_back_place(session: AsyncSession, slot_id: int) -> None:
    await session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.booked > 0)
        .values(booked=Slot.booked - 1)
        .execution_options(synchronize_session=False)
    )


async def places_taken(
    session: AsyncSession, *, station_id: str, starting_from: datetime, starting_before: datetime
) -> dict[tuple[str, datetime], tuple[int, int]]:
    """(line, start) -> (capacity, booked) of the slots booked at least once in that time."""
    rows = await session.execute(
        select(Slot.line, Slot.starts_at, Slot.capacity, Slot.booked).where(
            Slot.station_id == station_id, Slot.starts_at >= starting_from, Slot.starts_at < starting_before
        )
    )
    return {(line, start): (capacity, booked) for line, start, capacity, booked in rows.all()}


async def record_no_shows(session: AsyncSession, *, citizen_hash: str, line: str, now: datetime) -> None:
    """A citizen's appointments in `line` whose slot ended unattended become `no_show`: the one open
    appointment per line (the partial unique index) means one not yet over."""
    await session.execute(
        update(Appointment)
        .where(
            Appointment.citizen_hash == citizen_hash,
            Appointment.line == line,
            Appointment.status == AppointmentStatus.booked,
            Appointment.ends_at <= now,
        )
        .values(status=AppointmentStatus.no_show)
        .execution_options(synchronize_session=False)
    )


async def open_appointment(session: AsyncSession, *, citizen_hash: str, line: str) -> Appointment | None:
    rows = await session.execute(
        select(Appointment).where(
            Appointment.citizen_hash == citizen_hash,
            Appointment.line == line,
            Appointment.status == AppointmentStatus.booked,
        )
    )
    return rows.scalars().first()


async def get(session: AsyncSession, appointment_id: str) -> Appointment | None:
    return await session.get(Appointment, appointment_id)


async def move(
    session: AsyncSession, appointment_id: str, *, to: AppointmentStatus, unless: ColumnElement[bool], **values: Any
) -> Appointment | None:
    """booked -> `to`, in one conditional UPDATE (of two racing changes exactly one matches): the
    appointment as changed, or None if it was not booked or `unless` held."""
    result = await session.execute(
        update(Appointment)
        .where(Appointment.id == appointment_id, Appointment.status == AppointmentStatus.booked, ~unless)
        .values(status=to, **values)
        .returning(Appointment)
        .execution_options(populate_existing=True)
    )
    return result.scalars().first()


async def citizens(
    session: AsyncSession, *, citizen_hash: str, after: tuple[datetime, str] | None, limit: int
) -> Sequence[Appointment]:
    """A citizen's appointments, latest slot first; one more than `limit` to tell whether a page follows."""
    query = select(Appointment).where(Appointment.citizen_hash == citizen_hash)
    if after is not None:
        query = query.where(tuple_(Appointment.starts_at, Appointment.id) < tuple_(*after))
    rows = await session.execute(query.order_by(Appointment.starts_at.desc(), Appointment.id.desc()).limit(limit + 1))
    return rows.scalars().all()


async def stations_day(
    session: AsyncSession,
    *,
    station_id: str,
    starting_from: datetime,
    starting_before: datetime,
    line: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[Appointment]:
    """A station's appointments in that time (cancelled ones too), earliest first; one more than `limit`."""
    query = select(Appointment).where(
        Appointment.station_id == station_id,
        Appointment.starts_at >= starting_from,
        Appointment.starts_at < starting_before,
    )
    if line is not None:
        query = query.where(Appointment.line == line)
    if after is not None:
        query = query.where(tuple_(Appointment.starts_at, Appointment.id) > tuple_(*after))
    rows = await session.execute(query.order_by(Appointment.starts_at, Appointment.id).limit(limit + 1))
    return rows.scalars().all()


async def booked_unreminded(
    session: AsyncSession, *, starting_from: datetime, starting_before: datetime, key_prefix: str, limit: int
) -> list[Appointment]:
    """Appointments still booked whose slot starts in [`starting_from`, `starting_before`), with no outbox
    event keyed `key_prefix + id` yet."""
    reminded = exists().where(OutboxEvent.dedupe_key == literal(key_prefix) + Appointment.id)
    rows = await session.execute(
        select(Appointment)
        .where(
            Appointment.status == AppointmentStatus.booked,
            Appointment.starts_at >= starting_from,
            Appointment.starts_at < starting_before,
            ~reminded,
        )
        .order_by(Appointment.starts_at, Appointment.id)
        .limit(limit)
    )
    return list(rows.scalars())
