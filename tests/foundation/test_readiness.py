"""/readyz probes each agency instead of trusting the circuit breaker (issue 13, item 12;
docs/api.md#health-and-readiness): 200 while only an agency is down, naming it; cached a few seconds."""

from __future__ import annotations

import httpx

from app.api.readiness import AgencyProbes
from app.main import create_app
from tests.servers import free_port


async def test_an_agency_on_a_dead_port_is_reported_unavailable_and_readiness_stays_200(settings):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = create_app(settings.model_copy(update={"police_api_url": dead}), start_worker=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            ready = await client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["checks"] == {"database": "ok", "identity_provider": "ok", "police": "unavailable", "housing": "ok"}
    assert body["unavailable"] == ["police"]


async def test_a_simulator_taken_down_is_seen_without_any_application_failing(app, client, collaborators):
    collaborators.agencies.housing_simulator.set_faults(down=True)
    collaborators.agency_probes = AgencyProbes(cache_s=0)  # no answer kept from another test
    body = (await client.get("/readyz")).json()
    assert body["checks"]["housing"] == "unavailable" and body["checks"]["police"] == "ok"
    collaborators.agencies.housing_simulator.reset()
    assert (await client.get("/readyz")).json()["checks"]["housing"] == "ok"


class _Counting:
    def __init__(self) -> None:
        self.calls = 0

    async def probe(self, *, timeout_s: float) -> str:
        self.calls += 1
        return "ok"


async def test_probes_are_cached_so_polling_readyz_does_not_hammer_the_agencies():
    probes, agency = AgencyProbes(cache_s=60), _Counting()
    for _ in range(20):
        assert await probes.statuses({"police": agency}) == {"police": "ok"}
    assert agency.calls == 1
