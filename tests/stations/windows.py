"""Builders for the windows' tests: a free slot to book, a booking, an appointment moved into the past."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update

from app.clock import SHANGHAI
from app.stations.models import Appointment
from integrations.datasets.demo import CASES

HQLB, XJH = "310105-HQLB", "310104-XJH"
# People of the demo dataset: the windows only need valid id numbers and names.
PEOPLE = [(c.id_number, c.name) for c in CASES if c.name != "(any)" and not c.file_as]


async def free_slots(
    client: httpx.AsyncClient, station: str = HQLB, line: str = "household", *, at_least: int = 1
) -> list[dict[str, Any]]:
    """The free slots of the first day from tomorrow on that has `at_least` of them (none begins mid-test)."""
    today = datetime.now(SHANGHAI).date()
    for ahead in range(1, 15):
        day = (today + timedelta(days=ahead)).isoformat()
        answer = await client.get(f"/v1/stations/{station}/slots", params={"date": day, "line": line})
        assert answer.status_code == 200, answer.text
        free = [s for s in answer.json()["items"] if s["free"] > 0]
        if len(free) >= at_least:
            return free
    raise AssertionError(f"no day with {at_least} free slots at {station}")


async def book(
    client: httpx.AsyncClient, headers: dict[str, str], start: str, station: str = HQLB, line: str = "household"
) -> httpx.Response:
    return await client.post(
        "/v1/appointments", headers=headers, json={"station_id": station, "line": line, "start": start}
    )


YESTERDAY_MORNING = "yesterday 10:00"


async def move_slot(collaborators: Any, appointment_id: str, starts_at: datetime | str = YESTERDAY_MORNING) -> datetime:
    """Move an appointment's half-hour slot (there being no other way to let a slot pass in a test): by
    default to 10:00 yesterday, Shanghai time, long over. Returns the new start."""
    if starts_at == YESTERDAY_MORNING:
        yesterday = datetime.now(SHANGHAI).date() - timedelta(days=1)
        starts_at = datetime.combine(yesterday, datetime.min.time(), tzinfo=SHANGHAI) + timedelta(hours=10)
    assert isinstance(starts_at, datetime)
    async with collaborators.engine.begin() as conn:
        await conn.execute(
            update(Appointment)
            .where(Appointment.id == appointment_id)
            .values(starts_at=starts_at, ends_at=starts_at + timedelta(minutes=30))
        )
    return starts_at
