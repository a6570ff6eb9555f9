"""Booking a slot at a window, cancelling it, the citizen's list, the station's day and arrivals
(docs/windows.md). A booking consults no agency: it is about a visit, not a decision."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.consultations import note_consultation
from app.audit.context import RequestContext
from app.auth.principal import Principal
from app.clock import SHANGHAI, Clock
from app.cursor import cut_page, decode_cursor
from app.db.uow import StaleWrite, UnitOfWork
from app.identity.id_number import mask
from app.identity.subjects import SubjectHasher
from app.notifications import outbox
from app.stations import repository
from app.stations.announcements import appointment_changed
from app.stations.errors import (
    AppointmentAlreadyBooked,
    AppointmentEnded,
    AppointmentNotFound,
    AppointmentNotOpen,
    AppointmentStarted,
    LineNotHandled,
    NoSuchSlot,
    NotYourStation,
    SlotFull,
    SlotNotBookable,
    UnknownStation,
)
from app.stations.models import Appointment, AppointmentStatus
from app.stations.presenter import appointment_out
from app.stations.registry import StationRegistry
from app.stations.schemas import AppointmentIn, AppointmentPage
from app.stations.service import find
from app.stations.slots import BookingPolicy, slot_at
from integrations.datasets.stations import Line


def _field(loc: str, msg: str) -> list[dict[str, object]]:
    return [{"loc": ["body", loc], "msg": msg, "type": "value_error"}]


def _about(ctx: RequestContext, appointment: Appointment) -> None:
    ctx.about(resource_type="appointment", resource_id=appointment.id)
    ctx.subject_hash, ctx.subject_masked = appointment.citizen_hash, appointment.citizen_id_masked


async def book(
    *,
    work: UnitOfWork,
    registry: StationRegistry,
    policy: BookingPolicy,
    hasher: SubjectHasher,
    clock: Clock,
    ctx: RequestContext,
    principal: Principal,
    body: AppointmentIn,
) -> Appointment:
    """Take a place in the slot and hold it for the citizen, in one transaction with its notification.
    The slot's capacity and the one open appointment per line are the database's to enforce: a booking
    that loses either race is answered 409, never overbooked."""
    station = registry.get(body.station_id)
    if station is None:
        raise UnknownStation(errors=_field("station_id", "not in the registry (GET /v1/stations)"))
    if body.line not in station.lines:
        raise LineNotHandled(errors=_field("line", f"{station.id} handles {', '.join(station.lines)}"))
    slot = slot_at(station, body.start, policy.slot)
    if slot is None:
        raise NoSuchSlot(errors=_field("start", "no slot starts then (GET /v1/stations/{id}/slots)"))
    now = clock()
    starts_at, ends_at = slot
    if starts_at <= now or starts_at.date() > policy.bookable_days(now.astimezone(SHANGHAI).date())[1]:
        raise SlotNotBookable(errors=_field("start", f"bookable up to {policy.booking_days} days ahead, not after"))
    assert principal.id_number is not None and principal.name is not None
    citizen_hash = hasher.hash(principal.id_number)
    session = work.session
    await repository.record_no_shows(session, citizen_hash=citizen_hash, line=body.line, now=now)
    held = await repository.open_appointment(session, citizen_hash=citizen_hash, line=body.line)
    if held is not None:
        raise AppointmentAlreadyBooked(held.id)
    await repository.ensure_slot(
        session, station_id=station.id, line=body.line, starts_at=starts_at, ends_at=ends_at, capacity=policy.capacity
    )
    slot_id = await repository.take_place(session, station_id=station.id, line=body.line, starts_at=starts_at)
    if slot_id is None:
        raise SlotFull()
    appointment = Appointment(
        id=str(uuid.uuid4()),
        slot_id=slot_id,
        station_id=station.id,
        station_name=station.name,
        line=body.line,
        starts_at=starts_at,
        ends_at=ends_at,
        status=AppointmentStatus.booked,
        citizen_hash=citizen_hash,
        citizen_id_masked=mask(principal.id_number),
        citizen_name=principal.name,
        citizen_sub=principal.sub,
        created_at=now,
    )
    _about(ctx, appointment)
    session.add(appointment)
    outbox.add(session, appointment_changed(appointment, "booked", at=now))
    ctx.status = 201
    try:
        await work.commit()
    except StaleWrite:
        # A unique key taken at commit: another booking of this citizen in this line (another instance, the
        # same instant) committed first.
        held = await repository.open_appointment(session, citizen_hash=citizen_hash, line=body.line)
        if held is None:
            raise
        raise AppointmentAlreadyBooked(held.id) from None
    return appointment


async def _why_unchanged(session: AsyncSession, appointment: Appointment, *, when_booked: Exception) -> Exception:
    """A change from `booked` matched nothing: either it is booked no more, or its time has come."""
    await session.refresh(appointment)
    return when_booked if appointment.status is AppointmentStatus.booked else AppointmentNotOpen()


async def cancel(
    *,
    work: UnitOfWork,
    hasher: SubjectHasher,
    clock: Clock,
    ctx: RequestContext,
    principal: Principal,
    appointment_id: str,
) -> Appointment:
    """The owner cancels until the slot starts; the place goes back to the slot."""
    session = work.session
    appointment = await repository.get(session, appointment_id)
    assert principal.id_number is not None
    if appointment is None or appointment.citizen_hash != hasher.hash(principal.id_number):
        raise AppointmentNotFound()
    _about(ctx, appointment)
    now = clock()
    cancelled = await _move(session, appointment, AppointmentStatus.cancelled, Appointment.starts_at <= now, now=now)
    if cancelled is None:
        raise await _why_unchanged(session, appointment, when_booked=AppointmentStarted())
    await repository.give_back_place(session, cancelled.slot_id)
    outbox.add(session, appointment_changed(cancelled, "cancelled", at=now))
    await work.commit()
    return cancelled


async def arrive(
    *, work: UnitOfWork, clock: Clock, ctx: RequestContext, principal: Principal, appointment_id: str
) -> Appointment:
    """A clerk of the appointment's station receives the citizen: any time before the slot ends (early is
    welcome). Another station's appointment is answered as one that does not exist."""
    session = work.session
    appointment = await repository.get(session, appointment_id)
    if appointment is None or appointment.station_id != principal.station_id:
        raise AppointmentNotFound()
    _about(ctx, appointment)
    now = clock()
    arrived = await _move(
        session, appointment, AppointmentStatus.arrived, Appointment.ends_at <= now, now=now, by=principal.sub
    )
    if arrived is None:
        raise await _why_unchanged(session, appointment, when_booked=AppointmentEnded())
    await work.commit()
    return arrived


async def _move(
    session: AsyncSession,
    appointment: Appointment,
    to: AppointmentStatus,
    unless: ColumnElement[bool],
    *,
    now: datetime,
    by: str | None = None,
) -> Appointment | None:
    stamps = (
        {"cancelled_at": now} if to is AppointmentStatus.cancelled else {"arrived_at": now, "arrival_marked_by": by}
    )
    return await repository.move(session, appointment.id, to=to, unless=unless, **stamps)


async def citizens(
    *, session: AsyncSession, hasher: SubjectHasher, principal: Principal, limit: int, cursor: str | None, now: datetime
) -> AppointmentPage:
    """The caller's own appointments, latest slot first."""
    assert principal.id_number is not None
    after = decode_cursor(cursor, kinds=(datetime, str)) if cursor else None
    rows = await repository.citizens(
        session,
        citizen_hash=hasher.hash(principal.id_number),
        after=(after[0], after[1]) if after else None,
        limit=limit,
    )
    return _page(rows, limit, now)


async def stations_day(
    *,
    session: AsyncSession,
    registry: StationRegistry,
    ctx: RequestContext,
    principal: Principal,
    station_id: str,
    day: date | None,
    line: Line | None,
    limit: int,
    cursor: str | None,
    now: datetime,
) -> AppointmentPage:
    """A station's appointments on a Shanghai day, earliest first, for a clerk of that station only. Each
    person on the page is a consultation of their data (app.audit.consultations)."""
    station = find(registry, station_id)
    if principal.station_id != station.id:
        raise NotYourStation()
    day = day or now.astimezone(SHANGHAI).date()
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=SHANGHAI)
    after = decode_cursor(cursor, kinds=(datetime, str)) if cursor else None
    rows = await repository.stations_day(
        session,
        station_id=station.id,
        starting_from=midnight,
        starting_before=midnight + timedelta(days=1),
        line=line,
        after=(after[0], after[1]) if after else None,
        limit=limit,
    )
    for appointment in rows[:limit]:
        note_consultation(ctx, subject_hash=appointment.citizen_hash, subject_masked=appointment.citizen_id_masked)
    return _page(rows, limit, now)


def _page(rows: Sequence[Appointment], limit: int, now: datetime) -> AppointmentPage:
    """`rows` holds one more than `limit` when another page follows."""
    page, next_cursor = cut_page(rows, limit, lambda a: (a.starts_at, a.id))
    return AppointmentPage(items=[appointment_out(a, now) for a in page], next_cursor=next_cursor)
