"""Processing times as counts per band of time, so that percentiles over a year come from a few hundred
numbers rather than from every decided application (docs/api.md#statistics).

Band b holds the durations in [RATIO**b, RATIO**(b+1)) seconds; a percentile is reported as its band's
geometric middle, within 2.5% of the exact value (RATIO 1.05), whatever the window."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

RATIO = 1.05
_LOG_RATIO = math.log(RATIO)
SHORTEST = 0.001  # seconds: a decision in the same instant as the filing counts as a millisecond


def band(seconds: float) -> int:
    return math.floor(math.log(max(seconds, SHORTEST)) / _LOG_RATIO)


def band_of(filed: datetime, decided: datetime) -> int:
    return band((decided - filed).total_seconds())


def percentile(bands: dict[int, int], q: float) -> float | None:
    """Nearest-rank percentile of the counted durations, as its band's middle; None when none."""
    total = sum(bands.values())
    if not total:
        return None
    rank = max(1, math.ceil(total * q / 100))
    seen = 0
    for b in sorted(bands):
        seen += bands[b]
        if seen >= rank:
            return round(float(RATIO ** (b + 0.5)), 3)
    raise AssertionError("unreachable: rank <= total")


def add(into: dict[int, int], counted: Iterable[tuple[int, int]]) -> dict[int, int]:
    for b, n in counted:
        into[b] = into.get(b, 0) + n
    return into
