"""Turns at filing (FILINGS_AT_ONCE): filings past the limit wait and start earliest first, none is lost, and a
filing waiting on the agencies lets the next one work meanwhile."""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client import REGISTRY

from app.applications.turns import FilingTurns, stepped_aside
from integrations.datasets.demo import CASES
from tests.builders import file, residence_permit, upload_proof


async def _until(condition, *, steps: int = 100) -> None:
    for _ in range(steps):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("never happened")


def _waiting() -> float:
    return REGISTRY.get_sample_value("cityservices_filings_waiting") or 0.0


async def test_filings_past_the_limit_start_in_arrival_order_and_all_finish() -> None:
    turns = FilingTurns(2)
    started: list[int] = []
    release = asyncio.Event()

    async def filing(n: int) -> int:
        async with turns.turn():
            started.append(n)
            await release.wait()
        return n

    waiting_before = _waiting()
    tasks = [asyncio.create_task(filing(n)) for n in range(6)]
    await _until(lambda: len(started) == 2)
    await asyncio.sleep(0.01)
    assert started == [0, 1]  # the other four wait
    assert _waiting() - waiting_before == 4  # and /metrics says so
    release.set()
    assert await asyncio.gather(*tasks) == list(range(6))
    assert started == list(range(6))
    assert _waiting() == waiting_before


async def test_a_filing_waiting_on_the_agencies_lets_the_next_work_and_comes_back_without_waiting() -> None:
    turns = FilingTurns(1)
    answers, second_started, second_may_finish = asyncio.Event(), asyncio.Event(), asyncio.Event()
    trace: list[str] = []

    async def first() -> None:
        async with turns.turn():
            async with stepped_aside():
                await answers.wait()
            # The second filing holds the only turn and waits for something this one does next (in the
            # service: the applicant's lock that this filing holds); waiting for a turn here would never end.
            trace.append("first back")
            second_may_finish.set()

    async def second() -> None:
        async with turns.turn():
            second_started.set()
            await second_may_finish.wait()
            trace.append("second done")

    tasks = [asyncio.create_task(first()), asyncio.create_task(second())]
    await asyncio.wait_for(second_started.wait(), 1)
    answers.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 1)
    assert trace == ["first back", "second done"]

    # The count is whole again: one turn, and a third filing takes it at once.
    async with asyncio.timeout(1), turns.turn():
        pass


async def test_a_request_gone_while_waiting_for_its_turn_loses_no_turn() -> None:
    turns = FilingTurns(1)
    holder_done = asyncio.Event()

    async def holder() -> None:
        async with turns.turn():
            await holder_done.wait()

    async def waiter() -> None:
        async with turns.turn():
            pass

    held = asyncio.create_task(holder())
    await asyncio.sleep(0)
    gone = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    holder_done.set()
    await held
    async with asyncio.timeout(1), turns.turn():
        pass


async def test_a_request_gone_just_as_its_turn_comes_loses_no_turn() -> None:
    """The holder gives its turn back after the waiter's request went away but before the waiter's task has
    heard of it: the turn goes to the next waiter, not to the gone one."""
    turns = FilingTurns(1)
    holder_done = asyncio.Event()
    served: list[str] = []

    async def holder() -> None:
        async with turns.turn():
            await holder_done.wait()

    async def waiter(name: str) -> None:
        async with turns.turn():
            served.append(name)

    held = asyncio.create_task(holder())
    await asyncio.sleep(0)
    gone, next_in_line = asyncio.create_task(waiter("gone")), asyncio.create_task(waiter("next"))
    await asyncio.sleep(0)
    holder_done.set()  # the holder runs before the gone waiter's task hears of its cancellation
    gone.cancel()
    await held
    with pytest.raises(asyncio.CancelledError):
        await gone
    await asyncio.wait_for(next_in_line, 1)
    assert served == ["next"]
    async with asyncio.timeout(1), turns.turn():
        pass


async def test_outside_a_filing_stepping_aside_does_nothing() -> None:
    async with stepped_aside():
        pass


async def test_stepping_aside_twice_over_keeps_the_count() -> None:
    turns = FilingTurns(1)
    async with turns.turn():
        async with stepped_aside():
            async with stepped_aside():
                pass
    async with asyncio.timeout(1), turns.turn():  # the one turn is free again
        with pytest.raises(TimeoutError):  # and only one: a second filing waits
            async with asyncio.timeout(0.05), turns.turn():
                pass


ISSUABLE = [c for c in CASES if c.residence_permit == "issued" and not c.purpose.startswith("boundary")][:6]
LATENCY_S = 0.4  # under the tests' agency timeout (0.5 s)


@pytest.mark.slow
async def test_one_turn_per_process_and_slow_agencies_every_filing_still_answered_together(
    client, tokens, collaborators
):
    """With one turn and agencies that take 0.4 s, six filings take about that, not six times it: each gives
    its turn up while it waits on the agencies."""
    assert len(ISSUABLE) == 6
    police, housing = collaborators.agencies.police_simulator, collaborators.agencies.housing_simulator
    kept = collaborators.filing_turns
    collaborators.filing_turns = FilingTurns(1)
    try:
        bodies = []
        for case in ISSUABLE:
            headers = tokens.citizen(case.id_number, case.name)
            bodies.append((headers, residence_permit(case.address, [await upload_proof(client, headers)])))
        police.set_faults(latency_ms=int(LATENCY_S * 1000))
        housing.set_faults(latency_ms=int(LATENCY_S * 1000))
        started = time.monotonic()
        responses = await asyncio.gather(*(file(client, headers, body) for headers, body in bodies))
        elapsed = time.monotonic() - started
    finally:
        collaborators.filing_turns = kept
        police.reset()
        housing.reset()
    assert [r.status_code for r in responses] == [201] * 6, [r.json() for r in responses]
    assert all(r.json()["status"] == "issued" for r in responses)
    assert elapsed < len(ISSUABLE) * LATENCY_S * 0.8, elapsed
