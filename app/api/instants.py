"""`since`/`until` query parameters: a moment in time, with its time zone, within a calendar any database
stores. A naive time (`2020-01-01`, `2020-01-01T00:00:00`) is ambiguous in a city that is UTC+8 and is
refused, as is one that leaves the calendar when converted to UTC (year 10000): 422, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime


def _in_utc_calendar(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is outside the calendar") from None
    if not 1 < utc.year < 9999:
        raise ValueError("the time is outside the calendar")
    return utc


Instant = Annotated[AwareDatetime, AfterValidator(_in_utc_calendar)]
