"""Latency, errors, outage, circuit breaking and off-contract answers: the client retries what is
safe to retry, gives up within its deadline, and always says something the domain can act on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, Response

from integrations.agencies import Agencies, build_agencies
from integrations.errors import AgencyBadResponse, AgencyUnavailable
from integrations.faults import FaultSettings
from integrations.http import ClientPolicy

ZHANG = "330106198803120150"
MARGIN_S = 0.5  # scheduling slack on a loaded 2-core machine; the deadlines below are 1 s

FAST = ClientPolicy(
    timeout_s=0.3,
    deadline_s=1.0,
    attempts=4,
    backoff_initial_s=0.02,
    backoff_max_s=0.1,
    breaker_threshold=1000,
)


async def _agencies(police_url: str, policy: ClientPolicy = FAST) -> Agencies:
    return build_agencies(police_url=police_url, housing_url=police_url, dataset_path=None, policy=policy)


@pytest.fixture
async def police(police_server) -> AsyncIterator[Agencies]:
    agencies = await _agencies(police_server.url)
    yield agencies
    await agencies.aclose()


async def test_reads_succeed_through_retries_with_30_percent_errors(police, police_server) -> None:
    police_server.faults.update(FaultSettings(error_rate=0.3, seed=20250101))  # a fixed draw
    for _ in range(40):
        assert (await police.police.get_person(ZHANG)).data.name == "张伟"
    # The simulator really did fail some of them: more requests arrived than calls were made.
    assert len(police_server.recorder.headers) > 40


async def test_5xx_on_every_attempt_is_unavailable_after_the_attempts(police, police_server) -> None:
    police_server.faults.down = True
    with pytest.raises(AgencyUnavailable, match="503"):
        await police.police.get_person(ZHANG)
    assert len(police_server.recorder.headers) == FAST.attempts


async def test_server_not_running_is_unavailable_within_the_deadline(unused_port: int) -> None:
    policy = ClientPolicy(timeout_s=0.3, deadline_s=1.0, attempts=50, backoff_initial_s=0.05, backoff_max_s=0.2)
    agencies = await _agencies(f"http://127.0.0.1:{unused_port}", policy)
    try:
        started = time.monotonic()
        with pytest.raises(AgencyUnavailable):
            await agencies.police.get_person(ZHANG)
        assert time.monotonic() - started < policy.deadline_s + MARGIN_S
    finally:
        await agencies.aclose()


async def test_latency_beyond_the_attempt_timeout_is_unavailable_within_the_deadline(police, police_server) -> None:
    police_server.faults.latency_ms = 2000
    started = time.monotonic()
    with pytest.raises(AgencyUnavailable):
        await police.police.get_person(ZHANG)
    assert time.monotonic() - started < FAST.deadline_s + MARGIN_S
    assert len(police_server.recorder.headers) >= 2  # it retried after the first attempt timed out


async def test_latency_within_the_attempt_timeout_is_fine(police, police_server) -> None:
    police_server.faults.latency_ms = 50
    assert (await police.police.get_person(ZHANG)).data.name == "张伟"


async def test_breaker_opens_fails_fast_and_closes_again(police_server) -> None:
    policy = ClientPolicy(
        timeout_s=0.3,
        deadline_s=1.0,
        attempts=2,
        backoff_initial_s=0.01,
        backoff_max_s=0.02,
        breaker_threshold=2,
        breaker_reset_s=0.5,
    )
    agencies = await _agencies(police_server.url, policy)
    breaker = agencies.police.http.breaker
    try:
        police_server.faults.down = True
        for _ in range(2):
            with pytest.raises(AgencyUnavailable, match="503"):
                await agencies.police.get_person(ZHANG)
        assert await breaker.state() == "opened"

        # The agency is back, but the circuit is open: fail fast without sending anything.
        police_server.faults.down = False
        sent = len(police_server.recorder.headers)
        with pytest.raises(AgencyUnavailable, match="circuit open"):
            await agencies.police.get_person(ZHANG)
        assert len(police_server.recorder.headers) == sent

        await asyncio.sleep(policy.breaker_reset_s + 0.1)
        assert (await agencies.police.get_person(ZHANG)).data.name == "张伟"
        assert await breaker.state() == "closed"
    finally:
        await agencies.aclose()


async def test_answers_other_than_failures_do_not_open_the_breaker(police_server) -> None:
    from integrations.datasets.demo import NOT_IN_DATASET
    from integrations.errors import AgencyNotFound

    policy = ClientPolicy(breaker_threshold=2)
    agencies = await _agencies(police_server.url, policy)
    try:
        for _ in range(3):
            with pytest.raises(AgencyNotFound):
                await agencies.police.get_person(NOT_IN_DATASET)
        assert await agencies.police.http.breaker.state() == "closed"
    finally:
        await agencies.aclose()


def _off_contract_app() -> FastAPI:
    app = FastAPI()

    @app.get("/population/v1/persons/{id_number}")
    async def person(id_number: str) -> Response:
        if id_number.startswith("1"):
            return PlainTextResponse("<html>maintenance</html>")
        if id_number.startswith("2"):
            return Response('{"id_number": 42, "status": "alive"}', media_type="application/json")
        return Response('{"title": "teapot"}', status_code=418, media_type="application/json")

    @app.get("/population/v1/persons/{id_number}/residence-registrations")
    async def registrations(id_number: str) -> Response:
        return Response('{"items": [{"address": "x", "registered_on": "not a date"}]}', media_type="application/json")

    return app


@pytest.mark.parametrize(
    ("id_number", "route"),
    [
        ("110105199702280689", "person"),  # not JSON
        ("230103198303210931", "person"),  # JSON of the wrong shape
        ("330106198803120150", "person"),  # an unexpected 4xx
        ("330106198803120150", "registrations"),  # a field of the wrong type
    ],
)
async def test_off_contract_answers_are_bad_responses(id_number: str, route: str, serve) -> None:
    with serve(_off_contract_app()) as server:
        agencies = await _agencies(server.url)
        try:
            call = agencies.police.get_person if route == "person" else agencies.police.get_residence_registrations
            with pytest.raises(AgencyBadResponse) as caught:
                await call(id_number)
            assert id_number not in str(caught.value)  # error texts end up in logs and reasons
        finally:
            await agencies.aclose()


async def test_in_process_faults_are_injected_through_the_simulator_control() -> None:
    agencies = build_agencies(police_url=None, housing_url=None, dataset_path=None, policy=FAST)
    try:
        assert agencies.housing_simulator is not None
        agencies.housing_simulator.set_faults(down=True)
        started = time.monotonic()
        with pytest.raises(AgencyUnavailable):
            await agencies.housing.get_leases(ZHANG)
        agencies.housing_simulator.set_faults(latency_ms=2000)
        with pytest.raises(AgencyUnavailable):
            await agencies.housing.get_leases(ZHANG)
        assert time.monotonic() - started < 2 * (FAST.deadline_s + MARGIN_S)
        agencies.housing_simulator.reset()
        assert (await agencies.housing.get_properties(ZHANG)).data.items
    finally:
        await agencies.aclose()


async def test_fault_admin_routes_change_faults_at_run_time(police, police_server) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=police_server.url) as admin:
        put = await admin.put("/_sim/faults", json={"down": True})
        assert put.json() == {"latency_ms": 0.0, "error_rate": 0.0, "down": True, "seed": None}
        with pytest.raises(AgencyUnavailable):
            await police.police.get_person(ZHANG)
        assert (await admin.get("/_sim/faults")).json()["down"] is True
        assert (await admin.put("/_sim/faults", json={"error_rate": 1.5})).status_code == 422
        await admin.put("/_sim/faults", json={})
    assert (await police.police.get_person(ZHANG)).data.name == "张伟"


async def test_breaker_reports_half_open_after_the_reset_interval_and_can_be_reset() -> None:
    policy = ClientPolicy(timeout_s=0.3, deadline_s=1.0, attempts=1, breaker_threshold=1, breaker_reset_s=0.2)
    agencies = build_agencies(police_url=None, housing_url=None, dataset_path=None, policy=policy)
    try:
        assert agencies.police_simulator is not None
        agencies.police_simulator.set_faults(down=True)
        with pytest.raises(AgencyUnavailable):
            await agencies.police.get_person(ZHANG)
        breaker = agencies.police.http.breaker
        assert await breaker.state() == "opened"
        await asyncio.sleep(0.3)
        assert await breaker.state() == "half-opened"

        with pytest.raises(AgencyUnavailable, match="503"):  # the trial call fails: open again
            await agencies.police.get_person(ZHANG)
        assert await breaker.state() == "opened"
        agencies.police_simulator.reset()
        agencies.reset_circuits()
        assert await breaker.state() == "closed"
        assert (await agencies.police.get_person(ZHANG)).data.name == "张伟"
    finally:
        await agencies.aclose()
