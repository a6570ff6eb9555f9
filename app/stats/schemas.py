from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from app.catalogue.schemas import LocalizedText


class ServiceStats(BaseModel):
    service: str
    filed: int
    by_status: dict[str, int]
    by_channel: dict[str, int]
    online_rate: float | None = Field(description="Share of this service's applications filed online")
    decided: int
    processing_seconds_p50: float | None = Field(
        description="Filing to decision, decided applications only; within 2.5% (counted in bands of time)"
    )
    processing_seconds_p95: float | None = Field(description="As `processing_seconds_p50`, the 95th percentile")


class StationStats(BaseModel):
    station_id: str = Field(description="The police station whose comprehensive window filed them")
    name: str | None = Field(description="The station's name in the registry (null if the registry lacks it)")
    filed: int = Field(description="Applications filed at this station's window in the window of time")
    by_service: dict[str, int]


class AppointmentDayStats(BaseModel):
    station_id: str
    name: str | None = Field(description="The station's name in the registry")
    day: date = Field(description="Shanghai calendar day of the slots")
    made: int = Field(description="Appointments booked for that day's slots, cancelled ones included")
    cancelled: int
    arrived: int
    no_show: int = Field(description="Slot ended with no arrival")
    upcoming: int = Field(description="Still booked, the slot not yet over")
    no_show_rate: float | None = Field(description="no_show / (arrived + no_show); null before any slot ended")


class DayStats(BaseModel):
    day: date = Field(description="Shanghai calendar day of filing")
    filed: int
    by_channel: dict[str, int]
    online_rate: float | None


class Stats(BaseModel):
    since: datetime | None
    until: datetime | None
    filed: int
    by_status: dict[str, int]
    by_channel: dict[str, int]
    online_rate: float | None = Field(description="Share of applications filed online among all filed in the window")
    by_service: list[ServiceStats]
    by_station: list[StationStats] = Field(description="Window filings per station (stations with none are absent)")
    by_day: list[DayStats]
    appointments: list[AppointmentDayStats] = Field(
        description="Appointments at the windows by station and day of the slot (slots starting in the window of time)"
    )
    appointments_no_show_rate: float | None = Field(description="The same rate over every station and day listed")
    services: list[ServiceStats] = Field(deprecated=True, description="The same as `by_service` (its earlier name)")


class PublicServiceCount(BaseModel):
    service: str
    name: LocalizedText
    filed: int | None = Field(description="Null when fewer than `min_count`")
    online: int | None = Field(description="Null when it or the rest (filed at a window) is below `min_count`")
    issued: int | None = Field(description="Null when it or the rest (not issued) is below `min_count`")


class PublicStats(BaseModel):
    """What the city publishes: rates and counts over whole Shanghai days, nothing about any person or
    station; a count small enough to point at someone is null."""

    since: date | None = Field(description="First Shanghai day counted")
    until: date = Field(description="Last Shanghai day counted (at the latest yesterday: only whole days)")
    min_count: int = Field(description="Counts below this are published as null, and rates computed from them")
    filed: int | None
    online_rate: float | None = Field(
        description="Share of applications filed online, city-wide; null when the online or the window count is small"
    )
    by_service: list[PublicServiceCount]
