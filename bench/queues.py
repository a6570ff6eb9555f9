"""The two job queues, measured: applications waiting on an agency (the worker's claims) and the
notification outbox (the dispatcher's claims and rounds), on SQLite and on PostgreSQL.

    .venv/bin/python bench/queues.py --rows 5000              # both databases, ~1 minute on 2 cores
    .venv/bin/python bench/queues.py --rows 5000 --only sqlite

For each database, a fresh schema (a temporary SQLite file; a `bench_queues_<pid>` PostgreSQL database,
dropped after), then, each `--repeat` times on fresh rows:
- `claims`: `--rows` due applications, claimed `BATCH` at a time (the worker's lease) until none is due;
  the same for `--rows` due outbox events (the dispatcher's claim). Rows per second and the median claim.
- `dispatch`: `--rows` due events delivered by a Dispatcher to two in-process sinks, one of which fails
  every event's first attempt (so every event is claimed twice, and each sink's state is recorded):
  events per second, rounds included.
The best of the repeats is kept (the machine is shared). Results are printed and written to
bench/results/queues-<time>.json: run it before and after a change to the queue code and compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, insert  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker  # noqa: E402

from app import models  # noqa: E402
from app.applications import repository as applications  # noqa: E402
from app.applications.models import Application  # noqa: E402
from app.applications.states import Status  # noqa: E402
from app.db.session import create_engine, create_sessionmaker  # noqa: E402
from app.notifications import repository as outbox  # noqa: E402
from app.notifications.dispatcher import Dispatcher, DispatchPolicy  # noqa: E402
from app.notifications.models import OutboxEvent, SinkDelivery  # noqa: E402
from app.notifications.sinks import DeliveryFailed  # noqa: E402

BATCH = 50
LEASE = timedelta(minutes=2)
PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


@dataclass
class Figures:
    database: str
    rows: int
    applications_claimed_per_s: float
    application_claim_p50_ms: float
    events_claimed_per_s: float
    event_claim_p50_ms: float
    dispatched_events_per_s: float


class CountingSink:
    """Receives everything at once: the dispatcher's own cost is what is measured."""

    name = "counting"

    def __init__(self) -> None:
        self.received = 0

    async def deliver(self, payload: dict[str, object], *, sent_at: datetime) -> None:
        self.received += 1

    async def aclose(self) -> None:
        return None


class FailsFirstSink(CountingSink):
    """Refuses each event the first time it sees it, as a broker that was down for a moment."""

    name = "flaky"

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[object] = set()

    async def deliver(self, payload: dict[str, object], *, sent_at: datetime) -> None:
        if payload["id"] not in self._seen:
            self._seen.add(payload["id"])
            raise DeliveryFailed("first attempt refused")
        self.received += 1


def _application(now: datetime) -> dict[str, Any]:
    # One open application per person and service (a unique index): a person of one's own each.
    return {
        "id": str(uuid.uuid4()),
        "service": "no-criminal-record-certificate",
        "status": Status.pending_agency,
        "channel": "online",
        "applicant_id_number": "110101199003074578",
        "applicant_id_hash": uuid.uuid4().hex * 2,
        "applicant_name": "张伟",
        "filed_by_sub": "bench",
        "filed_by_role": "citizen",
        "details": {},
        "checks": [],
        "reasons": [],
        "document_facts": {},
        "history": [],
        "attempts": 1,
        "next_attempt_at": now - timedelta(seconds=1),
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }


def _event(now: datetime) -> dict[str, Any]:
    return {
        "type": "application.issued",
        "occurred_at": now,
        "status": "issued",
        "subject_hash": "h" * 64,
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now - timedelta(seconds=1),
        "created_at": now,
    }


async def _fill(sessionmaker: async_sessionmaker[AsyncSession], rows: int) -> None:
    now = datetime.now(UTC)
    async with sessionmaker() as session:
        await session.execute(delete(SinkDelivery))
        await session.execute(delete(OutboxEvent))
        await session.execute(delete(Application))
        for start in range(0, rows, 1000):
            size = min(1000, rows - start)
            await session.execute(insert(Application), [_application(now) for _ in range(size)])
            await session.execute(insert(OutboxEvent), [_event(now) for _ in range(size)])
        await session.commit()


async def _claim_all(sessionmaker: async_sessionmaker[AsyncSession], *, events: bool) -> tuple[int, list[float]]:
    claimed, latencies = 0, []
    while True:
        now = datetime.now(UTC)
        started = time.perf_counter()
        async with sessionmaker() as session:
            if events:
                taken = len(await outbox.claim_due(session, now=now, lease_until=now + LEASE, limit=BATCH))
            else:
                taken = len(await applications.claim_due(session, now=now, lease_until=now + LEASE, limit=BATCH))
            await session.commit()
        latencies.append((time.perf_counter() - started) * 1000)
        if not taken:
            return claimed, latencies
        claimed += taken


async def _dispatch_all(sessionmaker: async_sessionmaker[AsyncSession], rows: int) -> float:
    steady, flaky = CountingSink(), FailsFirstSink()
    policy = DispatchPolicy(batch=BATCH, backoff_base_s=0.001, backoff_max_s=0.001)
    dispatcher = Dispatcher(sessionmaker, [steady, flaky], policy)
    started = time.perf_counter()
    while flaky.received < rows:
        # A moment ahead: the failed events are due again at once (their backoff is a millisecond).
        await dispatcher.run_once(now=datetime.now(UTC) + timedelta(seconds=1))
    elapsed = time.perf_counter() - started
    assert steady.received == rows, f"the steady sink received {steady.received} of {rows}"
    return rows / elapsed


async def _measure(engine: AsyncEngine, database: str, rows: int, repeat: int) -> Figures:
    async with engine.begin() as conn:
        await conn.run_sync(models.Base.metadata.create_all)
    sessionmaker = create_sessionmaker(engine)
    best: Figures | None = None
    for _ in range(repeat):
        await _fill(sessionmaker, rows)
        started = time.perf_counter()
        apps, app_latencies = await _claim_all(sessionmaker, events=False)
        apps_rate = apps / (time.perf_counter() - started)
        started = time.perf_counter()
        events, event_latencies = await _claim_all(sessionmaker, events=True)
        events_rate = events / (time.perf_counter() - started)
        assert (apps, events) == (rows, rows), (apps, events)
        await _fill(sessionmaker, rows)
        figures = Figures(
            database=database,
            rows=rows,
            applications_claimed_per_s=round(apps_rate),
            application_claim_p50_ms=round(statistics.median(app_latencies), 2),
            events_claimed_per_s=round(events_rate),
            event_claim_p50_ms=round(statistics.median(event_latencies), 2),
            dispatched_events_per_s=round(await _dispatch_all(sessionmaker, rows)),
        )
        if best is None or figures.dispatched_events_per_s > best.dispatched_events_per_s:
            best = figures
    assert best is not None
    return best


def _psql(command: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", command], check=True)


async def _run(database: str, rows: int, repeat: int) -> Figures:
    if database == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            engine = create_engine(f"sqlite+aiosqlite:///{directory}/queues.db")
            try:
                return await _measure(engine, database, rows, repeat)
            finally:
                await engine.dispose()
    name = f"bench_queues_{os.getpid()}"
    _psql(f"CREATE DATABASE {name}")
    engine = create_engine(PG.format(name=name))
    try:
        return await _measure(engine, database, rows, repeat)
    finally:
        await engine.dispose()
        _psql(f"DROP DATABASE IF EXISTS {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=5000, help="due applications and events per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per database; the best is kept")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database only")
    args = parser.parse_args()
    logging.getLogger("cityservices.notifications").setLevel(logging.ERROR)  # the flaky sink's refusals
    databases = [args.only] if args.only else ["sqlite", "postgresql"]
    results = [asyncio.run(_run(database, args.rows, args.repeat)) for database in databases]
    for figures in results:
        print(json.dumps(asdict(figures)))
    out = ROOT / "bench" / "results" / f"queues-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([asdict(f) for f in results], indent=2) + "\n")
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
