"""The figures of a window of filing times, read from kept figures where the window covers whole past days.

A window is cut into whole Shanghai days that are settled (over for an hour: app/applications/late_changes.py)
and the rest, read from the applications themselves. Each settled day's figures are computed once and kept
(app/stats/models.py), each whole month's are added up from its days, and so is each month to one of its
days ("mtd"); a running total from the first filing's month up to each month is the one before it plus the
month. A day, month or total is computed again when the count of its days' late changes is no longer the one
it was computed at (a case filed that day decided since). So a year's figures add up two running totals,
two month-to-date totals and the window's ragged edges, whatever the number of applications or the day of
the month.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, Table, and_, bindparam, case, delete, func, insert, literal, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.applications import late_changes
from app.applications.late_changes import day_end, shanghai_day
from app.applications.models import Application
from app.clock import SHANGHAI
from app.db.locks import lock_until_transaction_ends
from app.stats import histogram, repository
from app.stats.models import StatsDecisionTimes, StatsFilings, StatsPeriod, StatsStationFilings
from app.stats.repository import Window

DAY, MONTH, UPTO, MTD = "day", "month", "upto", "mtd"
# "upto": every month from the first filing's to `start`; "mtd": `start`'s month from its first day to `start`
_FILINGS: Table = StatsFilings.__table__  # type: ignore[assignment]
_STATIONS: Table = StatsStationFilings.__table__  # type: ignore[assignment]
_TIMES: Table = StatsDecisionTimes.__table__  # type: ignore[assignment]
_PERIODS: Table = StatsPeriod.__table__  # type: ignore[assignment]
ANALYZE_AFTER = 28  # days computed at once (a database loaded in bulk): the tables' statistics are stale
Term = tuple[str, date, int]  # (grain, start, +1 or -1): kept figures added or taken away
_KEYS = {_FILINGS: ("service", "status", "channel"), _STATIONS: ("station_id", "service"), _TIMES: ("service", "band")}


@dataclass
class Facts:
    """What every figure is made from; facts of two parts of a window add up to the facts of both."""

    counts: list[tuple[str, str, str, int]] = field(default_factory=list)  # service, status, channel, n
    stations: list[tuple[str, str, int]] = field(default_factory=list)  # station, service, n (window filings)
    days: list[tuple[date, str, int]] = field(default_factory=list)  # Shanghai day, channel, n
    bands: list[tuple[str, int, int]] = field(default_factory=list)  # service, processing-time band, n

    def add(self, other: Facts) -> None:
        self.counts += other.counts
        self.stations += other.stations
        self.days += other.days
        self.bands += other.bands


@dataclass(frozen=True)
class Plan:
    raw: list[Window]  # read from the applications
    days: list[date]  # the whole settled days, in order: each one's figures are kept (and listed by day)
    first_month: date | None = None  # the month of the first filing: running totals start there

    def parts(self) -> tuple[list[date], list[Term]]:
        """How the whole days add up: (the run of months added as running totals, the other terms). A month
        is in the run when the window holds its last day, its days before the window taken away as the
        month to the day before; the window's last month otherwise is the month to its last day, less the
        month to the day before its first. One or two days of a month are themselves: fewer terms."""
        months: list[date] = []
        terms: list[Term] = []
        if not self.days:
            return months, terms
        first, last = self.days[0], self.days[-1]
        month = first.replace(day=1)
        while month <= last:
            end = _month_end(month)
            start, stop = max(first, month), min(last, end)
            if (stop - start).days < 2:
                terms += [(DAY, day, 1) for day in _span(start, stop)]
            else:
                if stop == end:
                    months.append(month)
                else:
                    terms.append((*_month_to(stop), 1))
                if start > month:
                    terms.append((*_month_to(start - timedelta(days=1)), -1))
            month = _next_month(month)
        return months, terms

    def to_keep(self) -> list[date]:
        """Every day whose figures the parts need kept: the window's; from the first filing's month on with
        any month added (the running totals add up all of them), or else from the first month's first day
        with a month-to-date total (it adds up the days before the window's)."""
        months, terms = self.parts()
        if months and self.first_month is not None:
            return _span(self.first_month, self.days[-1])
        if any(grain == MTD for grain, _, _ in terms):
            return _span(self.days[0].replace(day=1), self.days[-1])
        return self.days


def plan(window: Window, *, now: datetime, earliest: datetime | None) -> Plan:
    """Cut `window` at Shanghai midnights into the whole settled days it covers and the rest. `earliest`:
    the first filing there is (None: none yet). No day before its month is kept: a window from the year
    1900 must not make 46,000 empty days to keep."""
    if earliest is None:
        return Plan([window], [])
    first = shanghai_day(earliest).replace(day=1)  # that month whole: a window over it reads it as one
    if window.since is not None:
        since_day = shanghai_day(window.since)
        first = max(first, since_day if _midnight(since_day) >= window.since else since_day + timedelta(days=1))
    last = shanghai_day(now - late_changes.SETTLED) - timedelta(days=1)  # the last settled day
    if window.until is not None:
        last = min(last, shanghai_day(window.until) - timedelta(days=1))
    if first > last:
        return Plan([window], [])
    raw = []
    if window.since is not None and window.since < _midnight(first):
        raw.append(Window(window.since, _midnight(first)))
    if window.until is None or window.until > day_end(last):
        raw.append(Window(day_end(last), window.until))
    return Plan(raw, _span(first, last), shanghai_day(earliest).replace(day=1))


async def facts(sessionmaker: async_sessionmaker[AsyncSession], window: Window, *, now: datetime) -> Facts:
    async with sessionmaker() as session:
        earliest = await session.scalar(select(func.min(Application.created_at)))
    cut = plan(window, now=now, earliest=earliest)
    terms = await _keep(sessionmaker, cut) if cut.days else []
    async with sessionmaker() as session:
        found = await _kept_facts(session, cut.days, terms) if cut.days else Facts()
        for piece in cut.raw:
            found.add(await _raw_facts(session, piece))
            found.days += await repository.filings_by_day(session, piece)
    return found


# -- keeping ----------------------------------------------------------------------------------------


async def _keep(sessionmaker: async_sessionmaker[AsyncSession], cut: Plan) -> list[Term]:
    """Compute what is not kept or kept before its last late change: the days, the months to a day, the
    months, then the running totals in order; the terms that add up to the window's whole days. A run of
    whole months is two running totals (up to its last month, less up to the month before it), whatever
    its length; if a change came in meanwhile, the window's days are added up one by one this time."""
    months, terms = cut.parts()
    days = cut.to_keep()
    async with sessionmaker() as session:
        changes = await late_changes.counts(session, days[0], days[-1])
        kept = await _kept_periods(session, days[0], days[-1])
    stale = [day for day in days if kept.get((DAY, day)) != changes.get(day, 0)]
    for day in stale:
        await _compute_day(sessionmaker, day)
    current = True
    for grain, day, _ in terms:
        if grain == MTD and kept.get((MTD, day)) != _changes_between(changes, day.replace(day=1), day):
            current = await _compute_sum(sessionmaker, MTD, day) and current
    if months:
        assert cut.first_month is not None  # months come only with a first filing
        by_month: dict[date, int] = {}
        for day, n in changes.items():
            month = day.replace(day=1)
            by_month[month] = by_month.get(month, 0) + n
        upto = 0  # the late changes up to the month's end (`changes` starts at the first filing's month)
        for month in _months(cut.first_month, months[-1]):
            upto += by_month.get(month, 0)
            if kept.get((MONTH, month)) != by_month.get(month, 0):
                current = await _compute_sum(sessionmaker, MONTH, month) and current
            if current and kept.get((UPTO, month)) != upto:
                current = await _compute_upto(sessionmaker, month, first=cut.first_month)
        before = _previous_month(months[0])
        terms += [(UPTO, months[-1], 1), *([(UPTO, before, -1)] if before >= cut.first_month else [])]
    if len(stale) >= ANALYZE_AFTER:  # after the totals too: a grain the statistics never saw is estimated at a row
        await _analyze(sessionmaker)
    return terms if current else [(DAY, day, 1) for day in cut.days]


async def _analyze(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Tables just filled in bulk have no statistics until autovacuum's next round, and without them
    PostgreSQL sorts the sums instead of hashing them (45 ms instead of 19 for a year at 2M)."""
    async with sessionmaker() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text(f"ANALYZE {', '.join(t.name for t in (*_KEYS, _PERIODS))}"))


async def _kept_periods(session: AsyncSession, first: date, last: date) -> dict[tuple[str, date], int]:
    rows = await session.execute(
        select(StatsPeriod.grain, StatsPeriod.start, StatsPeriod.late_changes).where(
            StatsPeriod.start >= first, StatsPeriod.start <= last
        )
    )
    return {(grain, start): n for grain, start, n in rows.all()}


async def _compute_day(sessionmaker: async_sessionmaker[AsyncSession], day: date) -> None:
    async with sessionmaker() as session, session.begin():
        await lock_until_transaction_ends(session, f"stats:{DAY}:{day}")
        # The count first: a change committed after it raises it, so a day computed without that change
        # is never taken for current.
        changes = (await late_changes.counts(session, day, day)).get(day, 0)
        if (await _kept_periods(session, day, day)).get((DAY, day)) == changes:
            return  # another request computed it meanwhile
        found = await _raw_facts(session, Window(_midnight(day), day_end(day)))
        await _forget(session, DAY, day)
        rows: dict[Table, list[tuple[Any, ...]]] = {
            _FILINGS: found.counts,
            _STATIONS: found.stations,
            _TIMES: found.bands,
        }
        for table, values in rows.items():
            records = [{"grain": DAY, "start": day, **dict(zip((*_KEYS[table], "n"), v, strict=True))} for v in values]
            if records:
                await session.execute(insert(table), records)
        by_channel: dict[str, int] = {}
        for _, _, channel, n in found.counts:
            by_channel[channel] = by_channel.get(channel, 0) + n
        session.add(StatsPeriod(grain=DAY, start=day, late_changes=changes, by_channel=by_channel))


async def _compute_sum(sessionmaker: async_sessionmaker[AsyncSession], grain: str, start: date) -> bool:
    """Add up the kept days of a month (`start` its first day) or of a month to a day (`start` that day),
    if every one of them is current; False if one is not (a change came in since they were computed: the
    window is read from its days this time)."""
    first, last = start.replace(day=1), _month_end(start) if grain == MONTH else start
    async with sessionmaker() as session, session.begin():
        await lock_until_transaction_ends(session, f"stats:{grain}:{start}")
        changes = await late_changes.counts(session, first, last)
        kept = await _kept_periods(session, first, last)
        if any(kept.get((DAY, day)) != changes.get(day, 0) for day in _span(first, last)):
            return False
        await _forget(session, grain, start)
        for table, keys in _KEYS.items():
            columns = [table.c[k] for k in keys]
            summed = (
                select(literal(grain), literal(start), *columns, func.sum(table.c.n))
                .where(table.c.grain == DAY, table.c.start >= first, table.c.start <= last)
                .group_by(*columns)
            )
            await session.execute(insert(table).from_select(["grain", "start", *keys, "n"], summed))
        session.add(StatsPeriod(grain=grain, start=start, late_changes=_changes_between(changes, first, last)))
    return True


async def _compute_upto(sessionmaker: async_sessionmaker[AsyncSession], month: date, *, first: date) -> bool:
    """The running total up to `month`: the one up to the month before, plus the month; False if either
    is not current (a change came in since)."""
    before = _previous_month(month)
    async with sessionmaker() as session, session.begin():
        await lock_until_transaction_ends(session, f"stats:{UPTO}:{month}")
        changes = await late_changes.counts(session, first, _month_end(month))
        kept = await _kept_periods(session, before, month)
        if kept.get((MONTH, month)) != _changes_between(changes, month, _month_end(month)):
            return False
        if before >= first and kept.get((UPTO, before)) != _changes_before(changes, month):
            return False
        await _forget(session, UPTO, month)
        for table, keys in _KEYS.items():
            columns = [table.c[k] for k in keys]
            parts = or_(
                and_(table.c.grain == MONTH, table.c.start == month),
                and_(table.c.grain == UPTO, table.c.start == before),
            )
            summed = (
                select(literal(UPTO), literal(month), *columns, func.sum(table.c.n)).where(parts).group_by(*columns)
            )
            await session.execute(insert(table).from_select(["grain", "start", *keys, "n"], summed))
        session.add(StatsPeriod(grain=UPTO, start=month, late_changes=_changes_before(changes, _next_month(month))))
    return True


async def _forget(session: AsyncSession, grain: str, start: date) -> None:
    for table in (*_KEYS, _PERIODS):
        await session.execute(delete(table).where(table.c.grain == grain, table.c.start == start))


# -- reading ----------------------------------------------------------------------------------------


def _summed(table: Table) -> Select[Any]:
    """The sum of the kept figures of the periods `every`, those in `taken` counted negative; a key summing
    to nothing left out. (grain, start) IN one expanding parameter each: built and compiled once."""
    columns = [table.c[k] for k in _KEYS[table]]
    period = tuple_(table.c.grain, table.c.start)
    weighted = func.sum(case((period.in_(bindparam("taken", expanding=True)), -table.c.n), else_=table.c.n))
    return (
        select(*columns, weighted)
        .where(period.in_(bindparam("every", expanding=True)))
        .group_by(*columns)
        .having(weighted != 0)
    )


_SUMMED = {table: _summed(table) for table in _KEYS}


async def _kept_facts(session: AsyncSession, days: list[date], terms: list[Term]) -> Facts:
    periods = {
        "every": [(grain, start) for grain, start, _ in terms],
        "taken": [(grain, start) for grain, start, sign in terms if sign < 0],
    }

    async def summed(table: Table) -> list[Any]:
        return list((await session.execute(_SUMMED[table], periods)).all()) if terms else []

    by_day = await session.execute(
        select(StatsPeriod.start, StatsPeriod.by_channel).where(
            StatsPeriod.grain == DAY, StatsPeriod.start >= days[0], StatsPeriod.start <= days[-1]
        )
    )
    return Facts(
        counts=await summed(_FILINGS),
        stations=await summed(_STATIONS),
        days=[(day, channel, n) for day, channels in by_day.all() for channel, n in (channels or {}).items()],
        bands=await summed(_TIMES),
    )


async def _raw_facts(session: AsyncSession, window: Window) -> Facts:
    """Read from the applications, all but the counts by day (a kept day keeps them on its period)."""
    decided = await repository.decided(session, window)
    bands: dict[tuple[str, int], int] = {}
    for service, filed, decided_at in decided:
        key = (service, histogram.band_of(filed, decided_at))
        bands[key] = bands.get(key, 0) + 1
    return Facts(
        counts=await repository.counts(session, window),
        stations=await repository.window_filings_by_station(session, window),
        bands=[(service, b, n) for (service, b), n in bands.items()],
    )


def _changes_before(changes: dict[date, int], day: date) -> int:
    """What a running total up to the month before `day` was computed at."""
    return sum(n for changed, n in changes.items() if changed < day)


def _changes_between(changes: dict[date, int], first: date, last: date) -> int:
    return sum(n for day, n in changes.items() if first <= day <= last)


def _month_to(day: date) -> tuple[str, date]:
    """The kept figures of `day`'s month from its first day to `day`: on the first, the day itself."""
    return (DAY, day) if day.day == 1 else (MTD, day)


def _month_end(day: date) -> date:
    return _next_month(day) - timedelta(days=1)


def _previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def _months(first: date, last: date) -> list[date]:
    months = [first]
    while months[-1] < last:
        months.append(_next_month(months[-1]))
    return months


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _span(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)
