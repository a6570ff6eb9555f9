"""Turns at filing: how many filings one serving process works on at once (FILINGS_AT_ONCE).

A filing's own work (rules, statements, the hand-off to the PDF process) is this process's CPU. Past a few
filings at once they only share the core, each taking longer, and a burst's last filing waits for all of
them; taken in turns, the earliest arrival goes first and finishes first. While a filing waits on the
agencies it holds no CPU here, so it steps aside meanwhile; back with the answers, it carries on at once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from app.observability import FILINGS_WAITING


@dataclass
class _Turn:
    held: bool = False


_current: ContextVar[tuple[FilingTurns, _Turn] | None] = ContextVar("filing_turn", default=None)


class FilingTurns:
    """At most `at_once` filings start their work at once in this process; the others wait, earliest first."""

    def __init__(self, at_once: int) -> None:
        self._free = at_once  # below zero while filings back from the agencies run past the limit
        self._waiting: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold a turn for the body, a filing's whole work, waiting first if every turn is taken."""
        turn = _Turn()
        await self._wait_for(turn)
        reset = _current.set((self, turn))
        try:
            yield
        finally:
            _current.reset(reset)
            self._give_back(turn)

    async def _wait_for(self, turn: _Turn) -> None:
        if self._free > 0 and not self._waiting:
            self._take(turn)
            return
        wake = asyncio.get_running_loop().create_future()
        self._waiting.append(wake)
        try:
            with FILINGS_WAITING.track_inprogress():
                await wake
        except asyncio.CancelledError:
            if wake.done() and not wake.cancelled():  # handed the turn as the request went away: pass it on
                turn.held = True
                self._give_back(turn)
            elif wake in self._waiting:
                self._waiting.remove(wake)
            raise
        turn.held = True  # taken on its behalf by the filing that gave it back

    def _take(self, turn: _Turn) -> None:
        if turn.held:
            return
        self._free -= 1
        turn.held = True

    def _give_back(self, turn: _Turn) -> None:
        if not turn.held:
            return
        turn.held = False
        self._free += 1
        while self._free > 0 and self._waiting:
            wake = self._waiting.popleft()
            if not wake.cancelled():  # a request gone meanwhile, its task not yet told
                wake.set_result(None)
                self._free -= 1


@asynccontextmanager
async def stepped_aside() -> AsyncIterator[None]:
    """Around a wait on the agencies: the filing's turn goes to the next in line meanwhile, and is taken back
    as soon as the answers are in, without waiting, since the filing holds its applicant's lock, which a
    filing in turn may be waiting for. Outside a turn (the retry job, a clerk's re-check) it does nothing."""
    held = _current.get()
    if held is None:
        yield
        return
    turns, turn = held
    turns._give_back(turn)
    try:
        yield
    finally:
        turns._take(turn)
