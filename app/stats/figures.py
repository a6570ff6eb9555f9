"""From grouped counts to the figures the city reports: pure functions over the repository's rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from app.stats import histogram
from app.stats.schemas import AppointmentDayStats, DayStats, ServiceStats, StationStats

ONLINE = "online"


def tally(counter: dict[str, int], key: str, n: int) -> None:
    counter[key] = counter.get(key, 0) + n


def online_rate(online: int, filed: int) -> float | None:
    """Share filed online among all filed (docs/api.md#statistics), to 4 places; None when nothing was filed."""
    return round(online / filed, 4) if filed else None


@dataclass(frozen=True)
class SmallCounts:
    """Statistical disclosure control for the public figures: a count below `min_count` is published as
    null, and so is a part whose remainder is (filed 11, issued 10 names the one refused as surely as
    filed 1, issued 0 does), and a rate computed from either."""

    min_count: int

    def hides(self, n: int) -> bool:
        return n < self.min_count

    def count(self, n: int) -> int | None:
        return None if self.hides(n) else n

    def split_shown(self, part: int, whole: int) -> bool:
        """The part and the rest both big enough (a rest of none singles out no one)."""
        rest = whole - part
        return not self.hides(part) and not (0 < rest < self.min_count)

    def part(self, part: int, whole: int) -> int | None:
        return part if self.split_shown(part, whole) else None


def by_service(counts: list[tuple[str, str, str, int]], bands: list[tuple[str, int, int]]) -> list[ServiceStats]:
    """From (service, status, channel, n) and (service, processing-time band, n) (app/stats/histogram.py):
    counted in plain dicts, each service's model built once (as by_station's)."""
    times: defaultdict[str, dict[int, int]] = defaultdict(dict)
    for service, band, n in bands:
        histogram.add(times[service], [(band, n)])
    statuses: defaultdict[str, dict[str, int]] = defaultdict(dict)
    channels: defaultdict[str, dict[str, int]] = defaultdict(dict)
    for service, status, channel, n in counts:
        tally(statuses[service], status, n)
        tally(channels[service], channel, n)
    return [_service(service, statuses[service], channels[service], times[service]) for service in sorted(statuses)]


def _service(service: str, statuses: dict[str, int], channels: dict[str, int], times: dict[int, int]) -> ServiceStats:
    filed = sum(channels.values())
    return ServiceStats(
        service=service,
        filed=filed,
        by_status=statuses,
        by_channel=channels,
        online_rate=online_rate(channels.get(ONLINE, 0), filed),
        decided=sum(times.values()),
        processing_seconds_p50=histogram.percentile(times, 50),
        processing_seconds_p95=histogram.percentile(times, 95),
    )


# Counted in plain dicts, each answer's model built once per key: a model built per row (as the default of
# `setdefault`) cost ~4.5 ms of a year's stats at 2M applications, 2,472 (station, service) rows (issue 29).
def by_station(rows: list[tuple[str, str, int]], names: Callable[[str], str | None]) -> list[StationStats]:
    stations: dict[str, dict[str, int]] = {}
    for station, service, n in rows:
        tally(stations.setdefault(station, {}), service, n)
    return [
        StationStats(station_id=station, name=names(station), filed=sum(services.values()), by_service=services)
        for station, services in sorted(stations.items())
    ]


def by_day(rows: list[tuple[date, str, int]]) -> list[DayStats]:
    days: dict[date, dict[str, int]] = {}
    for day, channel, n in rows:
        tally(days.setdefault(day, {}), channel, n)
    return [_day(day, channels) for day, channels in sorted(days.items())]


def _day(day: date, channels: dict[str, int]) -> DayStats:
    filed = sum(channels.values())
    return DayStats(day=day, filed=filed, by_channel=channels, online_rate=online_rate(channels.get(ONLINE, 0), filed))


def no_show_rate(no_show: int, arrived: int) -> float | None:
    """Of the appointments whose slot is over and that were not cancelled, the share nobody came to."""
    return round(no_show / (no_show + arrived), 4) if no_show + arrived else None


def appointments(
    rows: list[tuple[str, date, str, bool, int]], names: Callable[[str], str | None]
) -> list[AppointmentDayStats]:
    """From (station, day, stored status, slot over, n): a booked appointment whose slot is over is a no-show."""
    days: dict[tuple[str, date], AppointmentDayStats] = {}
    for station, day, status, over, n in rows:
        entry = days.setdefault(
            (station, day),
            AppointmentDayStats(
                station_id=station,
                name=names(station),
                day=day,
                made=0,
                cancelled=0,
                arrived=0,
                no_show=0,
                upcoming=0,
                no_show_rate=None,
            ),
        )
        entry.made += n
        if status == "booked" and not over:
            entry.upcoming += n
        elif status in ("booked", "no_show"):
            entry.no_show += n
        elif status == "arrived":
            entry.arrived += n
        else:
            entry.cancelled += n
    for entry in days.values():
        entry.no_show_rate = no_show_rate(entry.no_show, entry.arrived)
    return sorted(days.values(), key=lambda e: (e.station_id, e.day))
