"""The comprehensive windows (docs/windows.md): the public registry of stations and their slots; citizens'
appointments; a station's day and its arrivals for that station's clerks."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from app.api.deps import (
    Citizen,
    Clerk,
    CollaboratorsDep,
    ContextDep,
    UnitOfWorkDep,
    audit_action,
    known_query_params_only,
)
from app.api.pagination import Cursor, Limit
from app.api.public_cache import not_modified, public_headers
from app.api.query_params import UnknownParameter
from app.clock import utc_now
from app.cursor import InvalidCursor
from app.errors import JSON_BODY_ERRORS, Forbidden, TooManyRequests, Unauthenticated, problem_responses
from app.stations import appointments, service
from app.stations.errors import (
    AppointmentAlreadyBooked,
    AppointmentEnded,
    AppointmentNotFound,
    AppointmentNotOpen,
    AppointmentStarted,
    DateNotBookable,
    InvalidLocation,
    LineNotHandled,
    NoSuchSlot,
    NotYourStation,
    SlotFull,
    SlotNotBookable,
    StationNotFound,
    StationNotRegistered,
    UnknownDistrict,
    UnknownStation,
)
from app.stations.presenter import appointment_out
from app.stations.schemas import AppointmentIn, AppointmentOut, AppointmentPage, DaySlots, StationOut, StationPage
from integrations.datasets.stations import Line

router = APIRouter(prefix="/v1")

LineFilter = Annotated[Line | None, Query(description="Only stations (or slots) of this business line")]
Day = Annotated[date | None, Query(alias="date", description="A Shanghai calendar day, YYYY-MM-DD (default today)")]
IfNoneMatch = Annotated[str | None, Header(max_length=1000)]
_CACHED: dict[int | str, dict[str, Any]] = {
    200: {"headers": {"ETag": {"description": "Changes whenever the answer does", "schema": {"type": "string"}}}},
    304: {"description": "Not modified: `If-None-Match` matched the current `ETag`"},
}
_STAFF = problem_responses(Unauthenticated, Forbidden, StationNotRegistered)


def _cached(content: bytes, if_none_match: str | None) -> Response:
    """The registry's answers are public and cacheable: `Cache-Control: public`, an `ETag`, 304 on a match."""
    headers = public_headers(content)
    return not_modified(if_none_match, headers) or Response(content, media_type="application/json", headers=headers)


@router.get(
    "/stations",
    operation_id="list_stations",
    summary="The police stations with comprehensive windows; nearest first with `near`",
    description="Public. Filters: `district` (name such as 长宁区, or region code such as 310105), `line`, and "
    "`near=lat,lon` (WGS 84), which sorts nearest first and adds `distance_m`. Cursor-paginated; cacheable "
    "(`ETag`, `If-None-Match`); rate-limited per client address. An unknown query parameter is 422.",
    tags=["public"],
    dependencies=[known_query_params_only, audit_action("station.list")],
    response_model=StationPage,
    responses={
        **_CACHED,
        **problem_responses(UnknownParameter, UnknownDistrict, InvalidLocation, InvalidCursor, TooManyRequests),
    },
)
async def list_stations(
    collaborators: CollaboratorsDep,
    ctx: ContextDep,
    district: Annotated[str | None, Query(max_length=20, description="长宁区, 长宁 or 310105")] = None,
    line: LineFilter = None,
    near: Annotated[str | None, Query(max_length=50, description="`lat,lon`, e.g. 31.2304,121.4737")] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    await collaborators.limiter.check_address("stations", ctx.client_addr)
    page = service.stations(
        registry=collaborators.stations, district=district, line=line, near=near, limit=limit, cursor=cursor
    )
    return _cached(page.model_dump_json().encode(), if_none_match)


@router.get(
    "/stations/{station_id}",
    operation_id="get_station",
    summary="One station: its address, lines, opening hours and location",
    tags=["public"],
    dependencies=[audit_action("station.read")],
    response_model=StationOut,
    responses={**_CACHED, **problem_responses(StationNotFound, TooManyRequests)},
)
async def get_station(
    station_id: str, collaborators: CollaboratorsDep, ctx: ContextDep, if_none_match: IfNoneMatch = None
) -> Response:
    await collaborators.limiter.check_address("stations", ctx.client_addr)
    found = service.station(registry=collaborators.stations, station_id=station_id)
    return _cached(found.model_dump_json().encode(), if_none_match)


@router.get(
    "/stations/{station_id}/slots",
    operation_id="list_station_slots",
    summary="A day's slots at a station's window, per line, with the places still free",
    description="Public. The opening hours cut into slots of `slot_minutes`; `free` is 0 once a slot is full or "
    "has begun. Days from today to APPOINTMENT_BOOKING_DAYS ahead; rate-limited per client address.",
    tags=["public"],
    dependencies=[known_query_params_only, audit_action("station.slots")],
    response_model=DaySlots,
    responses=problem_responses(UnknownParameter, StationNotFound, LineNotHandled, DateNotBookable, TooManyRequests),
)
async def list_station_slots(
    station_id: str,
    collaborators: CollaboratorsDep,
    work: UnitOfWorkDep,
    ctx: ContextDep,
    day: Day = None,
    line: LineFilter = None,
) -> DaySlots:
    await collaborators.limiter.check_address("stations", ctx.client_addr)
    return await service.slots(
        session=work.session,
        registry=collaborators.stations,
        policy=collaborators.booking,
        station_id=station_id,
        day=day,
        line=line,
        now=utc_now(),
    )


@router.post(
    "/appointments",
    operation_id="book_appointment",
    summary="Book a slot at a station's window",
    description="One open appointment per citizen and line (409 `APPOINTMENT_ALREADY_BOOKED`, naming it); a "
    "full slot is 409 `SLOT_FULL`, also when many book its last places at once. The citizen is notified "
    "(`appointment.booked`), and reminded the day before.",
    tags=["citizen"],
    status_code=201,
    dependencies=[audit_action("appointment.book")],
    response_model=AppointmentOut,
    responses=problem_responses(
        Unauthenticated,
        Forbidden,
        UnknownStation,
        LineNotHandled,
        NoSuchSlot,
        SlotNotBookable,
        SlotFull,
        AppointmentAlreadyBooked,
        *JSON_BODY_ERRORS,
    ),
)
async def book_appointment(
    body: AppointmentIn, principal: Citizen, collaborators: CollaboratorsDep, work: UnitOfWorkDep, ctx: ContextDep
) -> AppointmentOut:
    appointment = await appointments.book(
        work=work,
        registry=collaborators.stations,
        policy=collaborators.booking,
        hasher=collaborators.hasher,
        clock=utc_now,
        ctx=ctx,
        principal=principal,
        body=body,
    )
    return appointment_out(appointment, utc_now())


@router.delete(
    "/appointments/{appointment_id}",
    operation_id="cancel_appointment",
    summary="Cancel my appointment (until its slot starts)",
    description="The place goes back to the slot; the citizen is notified (`appointment.cancelled`).",
    tags=["citizen"],
    dependencies=[audit_action("appointment.cancel")],
    response_model=AppointmentOut,
    responses=problem_responses(
        Unauthenticated, Forbidden, AppointmentNotFound, AppointmentStarted, AppointmentNotOpen
    ),
)
async def cancel_appointment(
    appointment_id: str, principal: Citizen, collaborators: CollaboratorsDep, work: UnitOfWorkDep, ctx: ContextDep
) -> AppointmentOut:
    cancelled = await appointments.cancel(
        work=work,
        hasher=collaborators.hasher,
        clock=utc_now,
        ctx=ctx,
        principal=principal,
        appointment_id=appointment_id,
    )
    return appointment_out(cancelled, utc_now())


@router.get(
    "/me/appointments",
    operation_id="my_appointments",
    summary="My appointments at the windows, latest slot first",
    tags=["citizen"],
    dependencies=[known_query_params_only, audit_action("appointment.list_mine")],
    response_model=AppointmentPage,
    responses=problem_responses(Unauthenticated, Forbidden, UnknownParameter, InvalidCursor),
)
async def my_appointments(
    principal: Citizen, collaborators: CollaboratorsDep, work: UnitOfWorkDep, limit: Limit = 20, cursor: Cursor = None
) -> AppointmentPage:
    return await appointments.citizens(
        session=work.session,
        hasher=collaborators.hasher,
        principal=principal,
        limit=limit,
        cursor=cursor,
        now=utc_now(),
    )


@router.get(
    "/stations/{station_id}/appointments",
    operation_id="list_station_appointments",
    summary="A station's appointments on a day (its own clerks only)",
    description="Earliest first, cancelled ones included. Only a clerk whose token names this station: another "
    "station's clerk is 403 `NOT_YOUR_STATION` (the registry is public, so the station's existence is no "
    "secret). Each person listed sees the reading in their `GET /v1/me/data-access`.",
    tags=["window"],
    dependencies=[known_query_params_only, audit_action("appointment.list_station")],
    response_model=AppointmentPage,
    responses={**_STAFF, **problem_responses(UnknownParameter, StationNotFound, NotYourStation, InvalidCursor)},
)
async def list_station_appointments(
    station_id: str,
    principal: Clerk,
    collaborators: CollaboratorsDep,
    work: UnitOfWorkDep,
    ctx: ContextDep,
    day: Day = None,
    line: LineFilter = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AppointmentPage:
    return await appointments.stations_day(
        session=work.session,
        registry=collaborators.stations,
        ctx=ctx,
        principal=principal,
        station_id=station_id,
        day=day,
        line=line,
        limit=limit,
        cursor=cursor,
        now=utc_now(),
    )


@router.post(
    "/appointments/{appointment_id}/arrival",
    operation_id="mark_arrival",
    summary="Mark the citizen arrived at the window",
    description="A clerk of the appointment's station, until the slot ends (after it, no arrival is a no-show: "
    "409 `APPOINTMENT_ENDED`). Another station's appointment is 404, as one that does not exist.",
    tags=["window"],
    dependencies=[audit_action("appointment.arrival")],
    response_model=AppointmentOut,
    responses={**_STAFF, **problem_responses(AppointmentNotFound, AppointmentEnded, AppointmentNotOpen)},
)
async def mark_arrival(appointment_id: str, principal: Clerk, work: UnitOfWorkDep, ctx: ContextDep) -> AppointmentOut:
    arrived = await appointments.arrive(
        work=work, clock=utc_now, ctx=ctx, principal=principal, appointment_id=appointment_id
    )
    return appointment_out(arrived, utc_now())
