"""The figures of whole past days and months, kept so that a year's statistics add up a few thousand rows
instead of reading two million applications (app/stats/rollups.py). `grain` is "day", "month" (`start` its
first Shanghai day), "mtd" (a month from its first day to `start`) or "upto" (every month from the first
filing's to `start`'s)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, Date, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class _OfAPeriod:
    grain: Mapped[str] = mapped_column(String(5), primary_key=True)
    start: Mapped[date] = mapped_column(Date, primary_key=True)


class StatsPeriod(_OfAPeriod, Base):
    """A period whose figures are kept, with the late changes (app/applications/late_changes.py) of its
    days as they were when it was computed: a different count now means it must be computed again."""

    __tablename__ = "stats_periods"

    late_changes: Mapped[int] = mapped_column(Integer)
    # A day's filings by channel, for the figures by day (null for the other grains).
    by_channel: Mapped[dict[str, int] | None] = mapped_column(JSON)


class StatsFilings(_OfAPeriod, Base):
    __tablename__ = "stats_filings"

    service: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class StatsStationFilings(_OfAPeriod, Base):
    """Filings at each station's comprehensive window."""

    __tablename__ = "stats_station_filings"

    station_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    service: Mapped[str] = mapped_column(String(64), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class StatsDecisionTimes(_OfAPeriod, Base):
    """How many applications were decided within each band of time from filing (app/stats/histogram.py)."""

    __tablename__ = "stats_decision_times"

    service: Mapped[str] = mapped_column(String(64), primary_key=True)
    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
