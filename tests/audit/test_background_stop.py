"""A background loop stops when told, even when the cancellation arrives just as its wait ends.

On Python 3.11, `asyncio.wait_for` returns the inner result and swallows a cancellation that arrives once
the awaited event is already set; a loop waiting that way outlived `stop()`, and the test session's
shutdown hung forever in CI."""

from __future__ import annotations

import asyncio

from app.audit.sealing import Sealer


async def test_the_sealer_stops_when_cancelled_as_it_is_woken(collaborators):
    for _ in range(20):
        sealer = Sealer(collaborators.sessionmaker, debounce_s=0.01, poll_s=5.0)
        sealer.start()
        task = sealer._task
        assert task is not None
        try:
            await asyncio.sleep(0.01)  # the loop is waiting on its wake event
            sealer._wake.set()
            await asyncio.sleep(0)  # the wait is over, the loop has not resumed yet: now stop() cancels it
            task.cancel()
            await asyncio.wait({task}, timeout=5)
            assert task.cancelled(), "the sealer went on after its cancellation"
        finally:
            await sealer.stop()
