"""Shanghai time: the day that counts for residence, leases and certificates is Shanghai's (UTC+8),
whatever zone the machine runs in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


def shanghai_today() -> date:
    return datetime.now(UTC).astimezone(SHANGHAI).date()


Clock = Callable[[], datetime]
"""What the domain asks for the time: `utc_now` in the service, a fixed instant in a test."""


def utc_now() -> datetime:
    return datetime.now(UTC)
