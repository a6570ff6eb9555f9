"""Where on the map: a point given as `lat,lon`, and the distance between two points."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property

EARTH_RADIUS_M = 6_371_008.8
_NEAR = re.compile(r"^\s*(-?\d{1,3}(?:\.\d{1,10})?)\s*,\s*(-?\d{1,3}(?:\.\d{1,10})?)\s*$")


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float

    @cached_property
    def _radians(self) -> tuple[float, float, float]:
        """(φ, λ, cos φ), computed once: a station's point is measured from on every `near` request."""
        phi = math.radians(self.lat)
        return phi, math.radians(self.lon), math.cos(phi)


def parse_point(text: str) -> Point:
    """`31.2304,121.4737` (WGS 84 degrees, latitude first); raises ValueError for anything else."""
    match = _NEAR.match(text)
    if match is None:
        raise ValueError("expected `lat,lon` in decimal degrees, e.g. 31.2304,121.4737")
    lat, lon = float(match.group(1)), float(match.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError("latitude must be within ±90 and longitude within ±180")
    return Point(lat, lon)


def distance_m(a: Point, b: Point) -> float:
    """Great-circle distance (haversine): metres, well within what choosing a window needs."""
    phi1, lambda1, cos1 = a._radians
    phi2, lambda2, cos2 = b._radians
    h = math.sin((phi2 - phi1) / 2) ** 2 + cos1 * cos2 * math.sin((lambda2 - lambda1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
