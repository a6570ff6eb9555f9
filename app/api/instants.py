"""`since`/`until` query parameters: a moment in time, with its time zone, within a calendar any database
stores. A naive time (`2020-01-01`, `2020-01-01T00:00:00`) is ambiguous in a city that is UTC+8 and is
refused, as is one that leaves the calendar when converted to UTC (year 10000): 422, never a 500.
`Day`: a calendar day, `YYYY-MM-DD` and nothing finer (the public figures count whole Shanghai days)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator


def _in_utc_calendar(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is outside the calendar") from None
    if not 1 < utc.year < 9999:
        raise ValueError("the time is outside the calendar")
    return utc


Instant = Annotated[AwareDatetime, AfterValidator(_in_utc_calendar)]


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _whole_day(value: object) -> date:
    # Only the calendar form itself: pydantic would also take a timestamp or a midnight datetime as a date,
    # and a finer window is exactly what a public figure must not be asked for.
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise ValueError("a whole day is written YYYY-MM-DD, nothing finer")
    day = date.fromisoformat(value)
    if not 1 < day.year < 9999:
        raise ValueError("the day is outside the calendar")
    return day


Day = Annotated[date, BeforeValidator(_whole_day)]
