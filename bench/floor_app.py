"""This stack's floor: the least a request of each kind costs on FastAPI + SQLAlchemy (async, asyncpg) +
httpx, with none of the service's code. `bench/run.py` drives it exactly as the bare endpoint, in the
same run, so that the service's figures can be set against it:

- `GET /floor/{id}`: an authenticated, audited read at its least: the bearer token found in a dict of
  verified claims (what a token cache holds after the first request), one indexed select on an
  AUTOCOMMIT engine, the request's event handed to a group commit and awaited, JSON;
- `GET /write/{id}`: one committed INSERT (BEGIN, INSERT, COMMIT): a statement a filing must write;
- `GET /agency`: one GET to another server (`FLOOR_AGENCY_URL`, a bare endpoint) through a pooled
  `httpx.AsyncClient`, as an agency call;
- `POST /issue` (with `FLOOR_SIGNING_DIR`): bench/naive.py's render + sign behind HTTP in one process per
  worker (a `ProcessPoolExecutor`, the simplest way; the service's own PDF processes are spoken to over
  their pipes): the simplest CPU-bound issuing endpoint, whose tail is measured as the service's is.

It stays this small on purpose: a shape copied from the service would drift from it; these are the
pieces any implementation of those requests has to pay for.

    FLOOR_DATABASE_URL=postgresql+asyncpg://... FLOOR_AGENCY_URL=http://127.0.0.1:PORT \
        uvicorn bench.floor_app:app --loop uvloop --http httptools --no-access-log
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Header, HTTPException, Response
from sqlalchemy import Column, DateTime, MetaData, String, Table, bindparam, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DATABASE_URL = os.environ.get("FLOOR_DATABASE_URL", "")
AGENCY_URL = os.environ.get("FLOOR_AGENCY_URL", "")
SIGNING_DIR = os.environ.get("FLOOR_SIGNING_DIR", "")
ROWS = 10_000
POOL = 20  # per worker: few of the writes wait for a connection (the service keeps DATABASE_POOL_SIZE, 30)
READ_POOL = 10  # per worker, as the service's DATABASE_READ_POOL_SIZE

metadata = MetaData()
items = Table(
    "floor_items",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("service", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
events = Table(
    "floor_events",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("action", String(80), nullable=False),
    Column("resource_id", String(64), nullable=False),
)
BY_ID = select(items).where(items.c.id == bindparam("id"))  # built once: the cheapest statement SQLAlchemy runs


def item_id(i: int) -> str:
    return str(uuid.UUID(int=1 + i % ROWS))


class GroupCommit:
    """The least of a request log's group commit: requests hand over their event and wait; one task inserts
    whatever has queued as one multi-row INSERT in one transaction and wakes them."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._queue: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[None]]] = asyncio.Queue()
        self._task = asyncio.create_task(self._run())

    async def write(self, event: dict[str, Any]) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((event, done))
        await done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(insert(events), [event for event, _ in batch])
            except Exception as exc:  # noqa: BLE001 - handed to every waiting request
                for _, done in batch:
                    done.set_exception(exc)
            else:
                for _, done in batch:
                    done.set_result(None)

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


state: dict[str, Any] = {}
VERIFIED: dict[str, dict[str, Any]] = {}  # token -> claims, as a token cache holds them


async def _create_and_fill(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        # `--workers N` starts N lifespans on one database: the first creates and fills, the others wait.
        await conn.execute(text("SELECT pg_advisory_xact_lock(2020)"))
        await conn.run_sync(metadata.create_all)
        if (await conn.execute(select(func.count()).select_from(items))).scalar_one() == 0:
            now = datetime.now(UTC)
            rows = [
                {"id": item_id(i), "service": "residence-permit", "status": "issued", "created_at": now}
                for i in range(ROWS)
            ]
            await conn.execute(insert(items), rows)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        if DATABASE_URL:
            engine = create_async_engine(DATABASE_URL, pool_size=POOL, max_overflow=0)
            stack.push_async_callback(engine.dispose)
            await _create_and_fill(engine)
            reads = create_async_engine(DATABASE_URL, pool_size=READ_POOL, max_overflow=0, isolation_level="AUTOCOMMIT")
            stack.push_async_callback(reads.dispose)
            state.update(engine=engine, reads=reads, log=GroupCommit(engine))
            stack.push_async_callback(state["log"].stop)
        if AGENCY_URL:
            state["agency"] = httpx.AsyncClient(base_url=AGENCY_URL)  # httpx's default limits, as the service's
            stack.push_async_callback(state["agency"].aclose)
        if SIGNING_DIR:
            from app.certificates.signing import ensure_dev_signing_material

            key_file, cert_file = ensure_dev_signing_material(Path(SIGNING_DIR))
            pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_producer,
                initargs=(str(key_file), str(cert_file)),
            )
            stack.callback(pool.shutdown, cancel_futures=True)
            await asyncio.get_running_loop().run_in_executor(pool, _produce_one, 0)  # started and warm
            state["pdf"] = pool
        yield


app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan)


async def claims(authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(401)
    found = VERIFIED.get(authorization[7:])
    if found is None:  # the first sight of a token: taken as verified (its check is not part of the floor)
        found = VERIFIED[authorization[7:]] = {"sub": "floor", "exp": 2**31, "roles": ["citizen"]}
    if found["exp"] < datetime.now(UTC).timestamp():
        raise HTTPException(401)
    return found


Claims = Annotated[dict[str, Any], Depends(claims)]


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/floor/{id}")
async def floor(id: str, who: Claims) -> dict[str, Any]:
    async with state["reads"].connect() as conn:
        row = (await conn.execute(BY_ID, {"id": id})).first()
    if row is None:
        raise HTTPException(404)
    await state["log"].write(_event(who["sub"], id))
    return {"id": row.id, "service": row.service, "status": row.status, "created_at": row.created_at.isoformat()}


@app.get("/write/{id}")
async def write(id: str) -> dict[str, str]:
    async with state["engine"].begin() as conn:
        await conn.execute(insert(events), [_event("floor", id)])
    return {"status": "ok"}


@app.get("/agency")
async def agency() -> dict[str, int]:
    response = await state["agency"].get("/ping", headers={"X-Request-ID": uuid.uuid4().hex})
    return {"status": response.status_code, "size": len(response.content)}


@app.post("/issue")
async def issue(who: Claims) -> Response:
    state["issued"] = state.get("issued", 0) + 1
    pdf = await asyncio.get_running_loop().run_in_executor(state["pdf"], _produce_one, state["issued"])
    return Response(pdf, media_type="application/pdf")


def _event(actor: str, resource_id: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "at": datetime.now(UTC),
        "actor": actor,
        "action": "read",
        "resource_id": resource_id,
    }


_produce: Callable[[int], bytes] | None = None


def _init_producer(key_file: str, cert_file: str) -> None:
    global _produce
    from bench.naive import producer

    _produce = producer(key_file, cert_file)


def _produce_one(i: int) -> bytes:
    assert _produce is not None
    return _produce(i)
