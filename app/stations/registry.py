"""The police stations with comprehensive windows, loaded once (STATIONS_FILE, or the bundled 309) and
held in memory: a few hundred records that change when the city publishes a new registry, not per request."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.stations.locations import Point, distance_m
from integrations.datasets.stations import Line, OpeningPeriod, StationRecord, load_stations


@dataclass(frozen=True)
class Station:
    id: str
    name: str
    district: str
    address: str
    in_community_centre: bool
    lines: tuple[Line, ...]
    opening_hours: tuple[OpeningPeriod, ...]
    location: Point

    @property
    def district_code(self) -> str:
        return self.id[:6]

    @classmethod
    def from_record(cls, record: StationRecord) -> Station:
        return cls(
            id=record["id"],
            name=record["name"],
            district=record["district"],
            address=record["address"],
            in_community_centre=record["in_community_centre"],
            lines=tuple(record["lines"]),
            opening_hours=tuple(record["opening_hours"]),
            location=Point(record["location"]["lat"], record["location"]["lon"]),
        )


@dataclass(frozen=True)
class Nearby:
    station: Station
    distance_m: int | None  # None when no point was given to measure from


class StationRegistry:
    def __init__(self, records: list[StationRecord]) -> None:
        stations = sorted((Station.from_record(r) for r in records), key=lambda s: s.id)
        self._by_id = {s.id: s for s in stations}
        if len(self._by_id) != len(stations):
            raise ValueError("the station registry lists an id twice")
        self.stations: tuple[Station, ...] = tuple(stations)
        # A district is known by its name (长宁区) or its region code (310105), as station ids carry it.
        self._districts: dict[str, str] = {}
        for station in stations:
            self._districts.setdefault(station.district, station.district)
            self._districts.setdefault(station.district_code, station.district)
        self._centres = {
            district: _centre([s.location for s in stations if s.district == district])
            for district in set(self._districts.values())
        }

    @classmethod
    def load(cls, path: Path | None = None) -> StationRegistry:
        return cls(load_stations(path))

    def __len__(self) -> int:
        return len(self.stations)

    def __contains__(self, station_id: object) -> bool:
        return station_id in self._by_id

    def get(self, station_id: str) -> Station | None:
        return self._by_id.get(station_id)

    def name_of(self, station_id: str) -> str | None:
        station = self._by_id.get(station_id)
        return station.name if station else None

    def district(self, name_or_code: str) -> str | None:
        """The district's name for `长宁区`, `长宁` or `310105`; None if no station is in such a district."""
        text = name_or_code.strip()
        return self._districts.get(text) or self._districts.get(text + "区")

    def district_of(self, address: str) -> str | None:
        """The district an address names (上海市长宁区虹桥路1号 → 长宁区), if it names one of ours."""
        found = [d for d in self._centres if d in address]
        return max(found, key=len) if found else None

    def centre(self, district: str) -> Point:
        """The middle of a district's stations: where "nearest" is measured from when only the district is known."""
        return self._centres[district]

    def select(self, *, district: str | None = None, line: Line | None = None) -> list[Station]:
        return [
            s
            for s in self.stations
            if (district is None or s.district == district) and (line is None or line in s.lines)
        ]

    @staticmethod
    def by_distance(stations: list[Station], point: Point) -> list[Nearby]:
        """Nearest first; equal distances (to the metre) in id order, so pages never overlap."""
        measured = sorted((round(distance_m(point, s.location)), s.id, s) for s in stations)
        return [Nearby(station, metres) for metres, _, station in measured]

    def nearest(self, *, line: Line, point: Point | None, district: str | None, limit: int) -> list[Nearby]:
        """The windows handling `line` nearest `point`; with only a district, its own stations nearest its
        middle (or, if none of them handles the line, the city's nearest to it); with neither, the city's
        stations in community affairs centres first."""
        if point is not None:
            return self.by_distance(self.select(line=line), point)[:limit]
        if district is not None:
            own = self.select(district=district, line=line) or self.select(line=line)
            return self.by_distance(own, self.centre(district))[:limit]
        handling = sorted(self.select(line=line), key=lambda s: (not s.in_community_centre, s.id))
        return [Nearby(s, None) for s in handling[:limit]]


def _centre(points: list[Point]) -> Point:
    return Point(sum(p.lat for p in points) / len(points), sum(p.lon for p in points) / len(points))
