"""The queries behind the figures (docs/api.md#statistics): every one grouped in the database, over a window of
filing times, so the cost grows with the number of groups, not of applications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, cast, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.applications.models import Application
from app.stations.models import Appointment


@dataclass(frozen=True)
class Window:
    since: datetime | None = None  # filed at or after
    until: datetime | None = None  # filed before

    def clauses(self) -> list[ColumnElement[bool]]:
        clauses = []
        if self.since is not None:
            clauses.append(Application.created_at >= self.since)
        if self.until is not None:
            clauses.append(Application.created_at < self.until)
        return clauses


async def counts(session: AsyncSession, window: Window) -> list[tuple[str, str, str, int]]:
    """(service, status, channel, applications)."""
    rows = await session.execute(
        select(Application.service, Application.status, Application.channel, func.count())
        .where(*window.clauses())
        .group_by(Application.service, Application.status, Application.channel)
    )
    return [(service, status, channel, int(n)) for service, status, channel, n in rows.all()]


async def decided(session: AsyncSession, window: Window) -> list[tuple[str, datetime, datetime]]:
    """(service, filed at, decided at) of every decided application: percentiles need the values."""
    rows = await session.execute(
        select(Application.service, Application.created_at, Application.decided_at).where(
            *window.clauses(), Application.decided_at.is_not(None)
        )
    )
    return [(service, created, decided_at) for service, created, decided_at in rows.all() if decided_at is not None]


async def window_filings_by_station(session: AsyncSession, window: Window) -> list[tuple[str, str, int]]:
    """(station, service, applications filed at that station's comprehensive window)."""
    rows = await session.execute(
        select(Application.station_id, Application.service, func.count())
        .where(*window.clauses(), Application.channel == "window", Application.station_id.is_not(None))
        .group_by(Application.station_id, Application.service)
    )
    return [(str(station), service, int(n)) for station, service, n in rows.all()]


def _shanghai_day(dialect: str, instant: Any = Application.created_at) -> ColumnElement[Any]:
    """The Shanghai calendar day of a time (by default the filing time), computed by the database (UTC+8,
    no DST)."""
    if dialect == "postgresql":
        shifted = func.timezone("UTC", instant) + literal_column("INTERVAL '8 hours'")
        return cast(shifted, Date)
    return func.date(instant, "+8 hours")


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


async def filings_by_day(session: AsyncSession, window: Window) -> list[tuple[date, str, int]]:
    """(Shanghai day, channel, applications filed that day)."""
    day = _shanghai_day(session.get_bind().dialect.name).label("day")
    rows = await session.execute(
        select(day, Application.channel, func.count()).where(*window.clauses()).group_by(day, Application.channel)
    )
    return [(_day(d), channel, int(n)) for d, channel, n in rows.all()]


async def appointments_by_station_day(
    session: AsyncSession, window: Window, *, now: datetime
) -> list[tuple[str, date, str, bool, int]]:
    """(station, Shanghai day of the slot, stored status, slot over, appointments), for slots starting in
    the window."""
    day = _shanghai_day(session.get_bind().dialect.name, Appointment.starts_at).label("day")
    over = (Appointment.ends_at <= now).label("over")
    clauses = []
    if window.since is not None:
        clauses.append(Appointment.starts_at >= window.since)
    if window.until is not None:
        clauses.append(Appointment.starts_at < window.until)
    rows = await session.execute(
        select(Appointment.station_id, day, Appointment.status, over, func.count())
        .where(*clauses)
        .group_by(Appointment.station_id, day, Appointment.status, over)
    )
    return [(station, _day(d), str(status), bool(ended), int(n)) for station, d, status, ended, n in rows.all()]
