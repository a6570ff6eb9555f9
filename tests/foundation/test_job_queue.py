"""The backoff both job queues use (app/db/queue.py): doubling from its base, capped, jittered ±20 %."""

from __future__ import annotations

from datetime import timedelta

from app.applications.workflow import retry_delay
from app.db.queue import Backoff
from app.notifications.dispatcher import DispatchPolicy


def test_the_backoff_doubles_from_its_base_up_to_its_cap_within_its_jitter():
    backoff = Backoff(base_s=2, max_s=60)
    for attempts, expected in [(1, 2), (2, 4), (3, 8), (5, 32), (6, 60), (30, 60)]:
        delays = [backoff.delay(attempts).total_seconds() for _ in range(200)]
        assert all(expected * 0.8 <= d <= expected * 1.2 for d in delays), (attempts, min(delays), max(delays))
        assert max(delays) - min(delays) > expected * 0.1  # jittered: rows that failed together spread out


def test_both_queues_back_off_with_it():
    assert timedelta(seconds=4) <= retry_delay(1) <= timedelta(seconds=6)  # 5 s for an agency
    assert retry_delay(40) <= timedelta(seconds=720)  # capped at 10 minutes
    assert timedelta(seconds=1.6) <= DispatchPolicy().retry_delay(1) <= timedelta(seconds=2.4)
    assert DispatchPolicy().retry_delay(40) <= timedelta(seconds=4320)  # capped at an hour
