"""A long-lived server process and Python's cyclic garbage collector.

A worker holds ~175,000 objects once started (modules, routes, the OpenAPI models, the font tables of a
PDF process). A full collection walks all of them, ~85-90 ms here, with the event loop stopped for every
request in flight: a latency spike that has nothing to do with the request that meets it. They live as
long as the process does, so they are moved out of the collector's sight once, after start-up.

What is left is small (~20-30k objects) but, with the default thresholds (700, 10, 10), every few seconds
it grew by the quarter that sets off a full collection: 33-45 of them per worker in two minutes of
`bench/growth.py`, 12-25 ms each, landing in whichever request was running (issue 29). Collections of the
young generation stay frequent; a full one is considered after 100 of the middle's instead of 10.
"""

from __future__ import annotations

import gc

THRESHOLDS = (700, 10, 100)


def freeze_startup_heap() -> None:
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
