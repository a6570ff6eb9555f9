"""Wire shapes of the stations, their slots and the appointments at them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from app.stations.models import AppointmentStatus
from integrations.datasets.stations import Line


class OpeningPeriodOut(BaseModel):
    weekdays: list[int] = Field(description="ISO weekdays: 1 = Monday … 7 = Sunday", examples=[[1, 2, 3, 4, 5]])
    opens: str = Field(description="Shanghai time, HH:MM", examples=["09:00"])
    closes: str = Field(description="Shanghai time, HH:MM", examples=["12:00"])


class LocationOut(BaseModel):
    lat: float = Field(description="WGS 84 latitude")
    lon: float = Field(description="WGS 84 longitude")


class StationOut(BaseModel):
    id: str = Field(description="What a clerk's token carries as `station_id`", examples=["310105-HQLB"])
    name: str = Field(examples=["虹桥路派出所"])
    district: str = Field(examples=["长宁区"])
    address: str
    in_community_centre: bool = Field(
        description="The window sits in a community affairs centre (社区事务受理服务中心)"
    )
    lines: list[Line] = Field(description="The business lines its window handles")
    opening_hours: list[OpeningPeriodOut]
    location: LocationOut
    distance_m: int | None = Field(
        default=None, description="Metres from the `near` point (great circle); null without `near`"
    )


class StationPage(BaseModel):
    items: list[StationOut]
    next_cursor: str | None


class SlotOut(BaseModel):
    line: Line
    start: datetime
    end: datetime
    capacity: int
    free: int = Field(description="Places still bookable: 0 once full or once the slot has begun")


class DaySlots(BaseModel):
    station_id: str
    date: date
    slot_minutes: int
    items: list[SlotOut] = Field(description="By line, then by start; empty on a day the window is closed")


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is outside the calendar") from None


class AppointmentIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"station_id": "310105-HQLB", "line": "household", "start": "2026-12-07T09:30:00+08:00"}]
        },
    )

    station_id: str = Field(max_length=32, description="A station from GET /v1/stations")
    line: Line
    start: Annotated[AwareDatetime, AfterValidator(_utc)] = Field(
        description="A slot's `start` from GET /v1/stations/{station_id}/slots, with its time zone"
    )


class CitizenOut(BaseModel):
    name: str
    id_number_masked: str = Field(examples=["3301**********0150"])


class AppointmentOut(BaseModel):
    id: str
    station_id: str
    station_name: str
    line: Line
    start: datetime
    end: datetime
    status: AppointmentStatus = Field(
        description="`booked`, `arrived`, `cancelled`, or `no_show` once the slot ended with no arrival"
    )
    citizen: CitizenOut
    created_at: datetime
    cancelled_at: datetime | None
    arrived_at: datetime | None


class AppointmentPage(BaseModel):
    items: list[AppointmentOut]
    next_cursor: str | None
