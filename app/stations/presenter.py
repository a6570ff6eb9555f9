"""From the registry's stations and the stored appointments to what the API answers."""

from __future__ import annotations

from datetime import datetime

from app.clock import SHANGHAI
from app.stations.models import Appointment, AppointmentStatus
from app.stations.registry import Nearby
from app.stations.schemas import AppointmentOut, CitizenOut, LocationOut, OpeningPeriodOut, StationOut


def station_out(nearby: Nearby) -> StationOut:
    station = nearby.station
    return StationOut(
        id=station.id,
        name=station.name,
        district=station.district,
        address=station.address,
        in_community_centre=station.in_community_centre,
        lines=list(station.lines),
        opening_hours=[OpeningPeriodOut.model_validate(p) for p in station.opening_hours],
        location=LocationOut(lat=station.location.lat, lon=station.location.lon),
        distance_m=nearby.distance_m,
    )


def status_at(appointment: Appointment, now: datetime) -> AppointmentStatus:
    """After the slot ends, no arrival is a no-show, whether or not that has been written down yet."""
    if appointment.status is AppointmentStatus.booked and appointment.ends_at <= now:
        return AppointmentStatus.no_show
    return appointment.status


def appointment_out(appointment: Appointment, now: datetime) -> AppointmentOut:
    return AppointmentOut(
        id=appointment.id,
        station_id=appointment.station_id,
        station_name=appointment.station_name,
        line=appointment.line,  # type: ignore[arg-type]  # stored from a validated Line
        # Shanghai time, as the slots were offered: the citizen reads "09:30", not "01:30Z".
        start=appointment.starts_at.astimezone(SHANGHAI),
        end=appointment.ends_at.astimezone(SHANGHAI),
        status=status_at(appointment, now),
        citizen=CitizenOut(name=appointment.citizen_name, id_number_masked=appointment.citizen_id_masked),
        created_at=appointment.created_at,
        cancelled_at=appointment.cancelled_at,
        arrived_at=appointment.arrived_at,
    )
