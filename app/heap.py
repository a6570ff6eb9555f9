"""A long-lived server process and Python's cyclic garbage collector.

A worker holds ~175,000 objects once started (modules, routes, the OpenAPI models, the font tables of a
PDF process). A full collection walks all of them, ~85-90 ms here, with the event loop stopped for every
request in flight: a latency spike that has nothing to do with the request that meets it. They live as
long as the process does, so they are moved out of the collector's sight once, after start-up.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()
