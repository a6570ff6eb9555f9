"""A worker's start-up heap is frozen out of the collector's sight, and full collections of what is left
come rarer than Python's default (app/heap.py)."""

from __future__ import annotations

import gc

from app import heap


def test_start_up_objects_are_frozen_and_full_collections_wait_for_more_middle_ones():
    before = gc.get_threshold()
    held = [object() for _ in range(10)]  # tracked containers are what freezing counts; a list is one
    try:
        heap.freeze_startup_heap()
        assert gc.get_freeze_count() > len(held)
        assert gc.get_threshold() == heap.THRESHOLDS and heap.THRESHOLDS[2] > 10  # Python's default: 10
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
