"""Never overbooked (docs/windows.md): citizens race for the last places of a slot through two real
`cityservices serve` instances on one PostgreSQL, and exactly as many succeed as there were places; one
citizen racing for several slots of one line through both gets exactly one. The database decides (a
conditional UPDATE on the slot's counter, a partial unique index per citizen and line), not a read
followed by a write in either instance."""

from __future__ import annotations

import asyncio
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from app.auth.dev_keys import mint_dev_token
from app.clock import SHANGHAI
from app.db.session import create_engine
from app.identity.id_number import check_digit
from tests.conftest import AUDIENCE, ISSUER, TEST_DATABASE_URL, _create_pg_database, _drop_pg_database
from tests.servers import CITYSERVICES, free_port, service_env, wait_until_up
from tests.stations.windows import HQLB

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="instances share one database on PostgreSQL"),
]
CAPACITY, ALREADY_BOOKED, RACERS = 6, 3, 24  # the last 3 places, 24 citizens after them
SLOTS_RACED_BY_ONE = 8


def _citizen(i: int) -> tuple[str, str]:
    first17 = f"110101199001{i % 28 + 1:02d}{i:03d}"
    return first17 + check_digit(first17), f"市民{i}"


@contextmanager
def _serving(data_dir: Path, database_url: str, log: Path) -> Iterator[str]:
    port = free_port()
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*CITYSERVICES, "serve", "--port", str(port)],
            env=service_env(
                data_dir,
                DATABASE_URL=database_url,
                APPOINTMENT_SLOT_CAPACITY=str(CAPACITY),
                RATE_LIMIT_STATIONS="100000/minute",
            ),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_up(f"{base}/healthz", 120)  # generous: the whole suite may be running beside it
        except AssertionError as exc:
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise AssertionError(f"{exc} (exit status {process.poll()}):\n{tail}") from None
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _first_free_slots(client: httpx.AsyncClient, line: str, count: int) -> list[str]:
    today = datetime.now(SHANGHAI).date()
    for ahead in range(1, 15):
        day = (today + timedelta(days=ahead)).isoformat()
        items = (await client.get(f"/v1/stations/{HQLB}/slots", params={"date": day, "line": line})).json()["items"]
        free = [s["start"] for s in items if s["free"] == CAPACITY]
        if len(free) >= count:
            return free[:count]
    raise AssertionError("no day with enough free slots")


async def test_the_last_places_of_a_slot_go_to_exactly_as_many_citizens_across_two_instances(tmp_path):
    database_url = await _create_pg_database(TEST_DATABASE_URL)
    data_dir = tmp_path / "data"
    try:
        with ExitStack() as stack:
            # The first migrates the database; the second starts once it is up.
            one = stack.enter_context(_serving(data_dir, database_url, tmp_path / "one.log"))
            other = stack.enter_context(_serving(data_dir, database_url, tmp_path / "other.log"))
            async with (
                httpx.AsyncClient(base_url=one, timeout=30) as a,
                httpx.AsyncClient(base_url=other, timeout=30) as b,
            ):
                await _race(data_dir, [a, b], database_url)
    finally:
        await _drop_pg_database(database_url)


def _bearer(data_dir: Path, person: tuple[str, str]) -> dict[str, str]:
    token = mint_dev_token(
        data_dir, issuer=ISSUER, audience=AUDIENCE, roles=["citizen"], id_number=person[0], name=person[1]
    )
    return {"Authorization": f"Bearer {token}"}


async def _race(data_dir: Path, clients: list[httpx.AsyncClient], database_url: str) -> None:
    [start] = await _first_free_slots(clients[0], "household", 1)
    body = {"station_id": HQLB, "line": "household", "start": start}
    people = [_bearer(data_dir, _citizen(i)) for i in range(ALREADY_BOOKED + RACERS + 1)]

    for i, headers in enumerate(people[:ALREADY_BOOKED]):
        assert (await clients[i % 2].post("/v1/appointments", headers=headers, json=body)).status_code == 201
    racers = people[ALREADY_BOOKED : ALREADY_BOOKED + RACERS]
    answers = await asyncio.gather(
        *(clients[i % 2].post("/v1/appointments", headers=h, json=body) for i, h in enumerate(racers))
    )
    outcomes = Counter((a.status_code, a.json()["code"] if a.status_code >= 400 else "booked") for a in answers)
    places = CAPACITY - ALREADY_BOOKED
    print(f"\nrace: {RACERS} attempts for the last {places} of {CAPACITY} places through 2 instances: {dict(outcomes)}")
    assert outcomes == {(201, "booked"): places, (409, "SLOT_FULL"): RACERS - places}

    for client in clients:
        items = (
            await client.get(f"/v1/stations/{HQLB}/slots", params={"date": start[:10], "line": "household"})
        ).json()
        assert next(s["free"] for s in items["items"] if s["start"] == start) == 0
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        booked = (await conn.execute(text("SELECT count(*) FROM appointments WHERE status = 'booked'"))).scalar_one()
        counter = (await conn.execute(text("SELECT booked FROM appointment_slots"))).scalar_one()
    await engine.dispose()
    assert booked == counter == CAPACITY

    # One citizen, several slots of one line at once, through both instances: one appointment, not several.
    lone = people[-1]
    starts = await _first_free_slots(clients[1], "public_order", SLOTS_RACED_BY_ONE)
    answers = await asyncio.gather(
        *(
            clients[i % 2].post("/v1/appointments", headers=lone, json={**body, "line": "public_order", "start": s})
            for i, s in enumerate(starts)
        )
    )
    codes = Counter(a.json()["code"] if a.status_code >= 400 else a.status_code for a in answers)
    print(f"one citizen, {SLOTS_RACED_BY_ONE} slots of one line at once: {dict(codes)}")
    assert codes == {201: 1, "APPOINTMENT_ALREADY_BOOKED": SLOTS_RACED_BY_ONE - 1}
    mine = (await clients[0].get("/v1/me/appointments", headers=lone)).json()["items"]
    assert len(mine) == 1 and mine[0]["status"] == "booked"
