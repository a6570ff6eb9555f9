"""A station's slots: its opening hours cut into slots of APPOINTMENT_SLOT_MINUTES, in Shanghai time.

Pure functions of the registry and the calendar. Public holidays are not modelled: a station is open on
the weekdays its opening hours name (a window closed for a holiday is the registry's to say).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from app.clock import SHANGHAI
from app.stations.registry import Station


@dataclass(frozen=True)
class BookingPolicy:
    slot_minutes: int  # APPOINTMENT_SLOT_MINUTES
    capacity: int  # APPOINTMENT_SLOT_CAPACITY: citizens per slot of one line at one station
    booking_days: int  # APPOINTMENT_BOOKING_DAYS: how far ahead a slot may be booked

    @property
    def slot(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes)

    def bookable_days(self, today: date) -> tuple[date, date]:
        """The first and last day a slot may be booked on: today, and `booking_days` after it."""
        return today, today + timedelta(days=self.booking_days)


def _at(day: date, hhmm: str) -> datetime:
    hours, minutes = hhmm.split(":")
    return datetime.combine(day, time(int(hours), int(minutes)), tzinfo=SHANGHAI)


def day_slots(station: Station, day: date, slot: timedelta) -> list[tuple[datetime, datetime]]:
    """(start, end) of every slot on `day`, in order; a period's tail shorter than a slot is not one."""
    slots: list[tuple[datetime, datetime]] = []
    for period in station.opening_hours:
        if day.isoweekday() not in period["weekdays"]:
            continue
        start, closes = _at(day, period["opens"]), _at(day, period["closes"])
        while start + slot <= closes:
            slots.append((start, start + slot))
            start += slot
    return sorted(set(slots))


def slot_at(station: Station, start: datetime, slot: timedelta) -> tuple[datetime, datetime] | None:
    """The slot that begins exactly at `start` (any time zone), or None."""
    local = start.astimezone(SHANGHAI)
    return next((s for s in day_slots(station, local.date(), slot) if s[0] == local), None)
