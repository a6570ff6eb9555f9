"""The floor of this stack: one tiny FastAPI app whose routes each add one piece of what a service request
does, so that `bench/floor.py` can count, under callgrind, what each piece costs on FastAPI + SQLAlchemy
(async, asyncpg) + httpx, with none of the service's own code (but one rung, `/agency-client`).

    FLOOR_DATABASE_URL=postgresql+asyncpg://... FLOOR_AGENCY_URL=http://127.0.0.1:PORT \
        uvicorn bench.floor_app:app --loop uvloop --http httptools --no-access-log

The routes, each the one before plus one piece (see `bench/floor.py` for the ladder):
- `/ping`: the bare endpoint (as `bench/bare_app.py`);
- `/token`: a dependency that reads `Authorization` and finds the verified claims in a dict, as a
  token cache does after the first request (the ES256 check itself is not in it);
- `/service-shaped`: no work, but the dependencies of the service's `GET /v1/applications/{id}`: a
  route-level dependency, a principal behind `Security(HTTPBearer)`, the collaborators, a unit of work
  as a generator dependency closed with the handler, the request context (shared by three), a header;
- `/orm`: one `AsyncSession.get` of a row by primary key (the implicit BEGIN and the ROLLBACK on close
  included);
- `/core`: the same row as one Core `select()` on a connection (BEGIN and ROLLBACK included);
- `/session-core`: the same Core `select()` through an `AsyncSession` (as a unit of work reads);
- `/core-autocommit`: the same on a connection switched to AUTOCOMMIT for the checkout;
- `/autocommit-engine`: the same on an engine whose connections are all AUTOCOMMIT: one statement;
- `/asyncpg`: the same statement on an asyncpg pool directly, below SQLAlchemy;
- `/insert`: one Core INSERT of an audit-like row, committed (BEGIN, INSERT, COMMIT);
- `/floor`: the issue's floor of an authenticated, audited read: `/token` + the AUTOCOMMIT engine's select +
  the event handed to a group commit (one multi-row INSERT per batch, committed before the answer) + JSON;
- `/floor-asyncpg`: the same with asyncpg directly;
- `/agency`: one GET to another HTTP server through a pooled `httpx.AsyncClient`, as an agency call;
- `/agency-client`: the same call through the service's own agency client (`integrations.http.AgencyHttp`:
  deadline, tenacity's retrying, the circuit breaker, the response parsed into a model, a log line), the
  one rung that runs project code, to tell its discipline from httpx's own cost;
- `POST /issue`: bench/naive.py's render + sign behind HTTP, in one process per worker (as the service's
  PDF pool), with `FLOOR_SIGNING_DIR` set: the open-loop tail of the simplest CPU-bound issuing endpoint;
- `POST /upload`: a multipart upload read into memory and hashed, as a proof of address.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import multiprocessing
import os
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import httpx
from fastapi import Depends, FastAPI, File, Header, HTTPException, Request, Response, Security, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, bindparam, func, insert, select, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from integrations.http import AgencyHttp, ClientPolicy, make_http_client

DATABASE_URL = os.environ.get("FLOOR_DATABASE_URL", "")
AGENCY_URL = os.environ.get("FLOOR_AGENCY_URL", "")
SIGNING_DIR = os.environ.get("FLOOR_SIGNING_DIR", "")
ROWS = 10_000


class Base(DeclarativeBase):
    pass


class Item(Base):
    """Shaped like the columns an application read shows."""

    __tablename__ = "floor_items"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    service: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


events = Table(
    "floor_events",
    MetaData(),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(40), nullable=False),
    Column("subject", String(64), nullable=False),
)

items = Item.__table__
# Built once with a bound parameter: the cheapest way to run a statement through SQLAlchemy.
BY_ID = select(items.c.id, items.c.owner, items.c.service, items.c.status, items.c.reasons, items.c.created_at).where(
    items.c.id == bindparam("id")
)
ASYNCPG_BY_ID = "SELECT id, owner, service, status, reasons, created_at FROM floor_items WHERE id = $1"
ASYNCPG_INSERT = "INSERT INTO floor_events (id, at, actor, action, subject) VALUES ($1, $2, $3, $4, $5)"


class EventBatcher:
    """Group commit, the least of it: requests hand over their event and wait; one task inserts whatever
    has queued as one multi-row INSERT in one transaction and wakes them (the service's request-log writer
    does this, with bounds, retries and metrics)."""

    def __init__(self, engine: Any) -> None:
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
            while not self._queue.empty() and len(batch) < 500:
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
TOKENS: dict[str, dict[str, Any]] = {}  # token -> verified claims, as a token cache holds them


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    if DATABASE_URL:
        # Pools sized like the service's (DATABASE_POOL_SIZE): under `--workers 2` and 64 connections a
        # request should not wait for a connection the service would have had.
        engine = create_async_engine(DATABASE_URL, pool_size=20, max_overflow=0)
        async with engine.begin() as conn:
            # `--workers N` starts N lifespans on one database: the first creates and fills, the others wait.
            await conn.execute(text("SELECT pg_advisory_xact_lock(2020)"))
            await conn.run_sync(Base.metadata.create_all)
            await conn.run_sync(events.metadata.create_all)
            if (await conn.execute(select(func.count()).select_from(items))).scalar_one() == 0:
                now = datetime.now(UTC)
                await conn.execute(
                    insert(items),
                    [
                        {
                            "id": uuid.UUID(int=i + 1),
                            "owner": hashlib.sha256(str(i).encode()).hexdigest(),
                            "service": "residence_permit",
                            "status": "issued",
                            "reasons": '[{"code": "ALL_CHECKS_PASSED"}]',
                            "created_at": now,
                        }
                        for i in range(ROWS)
                    ],
                )
        state["engine"] = engine
        state["autocommit"] = engine.execution_options(isolation_level="AUTOCOMMIT")
        state["autocommit_engine"] = create_async_engine(
            DATABASE_URL, pool_size=20, max_overflow=0, isolation_level="AUTOCOMMIT"
        )
        state["batcher"] = EventBatcher(engine)
        state["sessions"] = async_sessionmaker(engine, expire_on_commit=False)
        state["pg"] = await asyncpg.create_pool(DATABASE_URL.replace("+asyncpg", ""), min_size=2, max_size=5)
    if AGENCY_URL:
        state["agency"] = httpx.AsyncClient(base_url=AGENCY_URL)  # httpx's default limits, as ClientPolicy's
        policy = ClientPolicy()
        state["agency_http"] = AgencyHttp(
            agency="bare", client=make_http_client(base_url=AGENCY_URL, policy=policy), policy=policy
        )
    if SIGNING_DIR:
        from app.certificates.signing import ensure_dev_signing_material

        key_file, cert_file = ensure_dev_signing_material(Path(SIGNING_DIR))
        state["pdf"] = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_producer,
            initargs=(str(key_file), str(cert_file)),
        )
        await asyncio.get_running_loop().run_in_executor(state["pdf"], _produce_one, 0)  # started and warm
    try:
        yield
    finally:
        if "pdf" in state:
            state["pdf"].shutdown(cancel_futures=True)
        if "batcher" in state:
            await state["batcher"].stop()
        if "agency" in state:
            await state["agency"].aclose()
            await state["agency_http"].aclose()
        if "pg" in state:
            await state["pg"].close()
        if "engine" in state:
            await state["engine"].dispose()
            await state["autocommit_engine"].dispose()


app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan)


async def claims(authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    found = TOKENS.get(authorization[7:]) if authorization and authorization.startswith("Bearer ") else None
    if found is None:
        found = {"sub": "floor", "exp": 2**31, "roles": ["citizen"]}
        if authorization:
            TOKENS[authorization[7:]] = found
    if found["exp"] < datetime.now(UTC).timestamp():
        raise HTTPException(401)
    return found


Claims = Annotated[dict[str, Any], Depends(claims)]


def _row(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "service": row.service,
        "status": row.status,
        "reasons": row.reasons,
        "created_at": row.created_at.isoformat(),
    }


async def _select_on(engine: Any, item_id: uuid.UUID) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (await conn.execute(BY_ID, {"id": item_id})).first()
    if row is None:
        raise HTTPException(404)
    return _row(row)


async def _asyncpg_select(item_id: uuid.UUID) -> dict[str, Any]:
    row = await state["pg"].fetchrow(ASYNCPG_BY_ID, item_id)
    if row is None:
        raise HTTPException(404)
    return {
        "id": str(row["id"]),
        "service": row["service"],
        "status": row["status"],
        "reasons": row["reasons"],
        "created_at": row["created_at"].isoformat(),
    }


def _event(actor: str, subject: uuid.UUID) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "at": datetime.now(UTC), "actor": actor, "action": "read", "subject": str(subject)}


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/token")
async def token(who: Claims) -> dict[str, str]:
    return {"status": "ok", "sub": who["sub"]}


bearer = HTTPBearer(auto_error=False)


async def context(request: Request) -> dict[str, Any]:
    return request.scope.setdefault("floor_ctx", {})


Context = Annotated[dict[str, Any], Depends(context)]


async def declare(ctx: Context) -> None:
    ctx["action"] = "read"


async def principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
) -> dict[str, Any]:
    return await claims(f"Bearer {credentials.credentials}" if credentials else None)


async def collaborators(request: Request) -> dict[str, Any]:
    return state


async def unit_of_work(helpers: Annotated[dict[str, Any], Depends(collaborators)], ctx: Context) -> AsyncIterator[None]:
    yield None


@app.get("/service-shaped/{item_id}", dependencies=[Depends(declare)])
async def service_shaped(
    item_id: uuid.UUID,
    who: Annotated[dict[str, Any], Depends(principal)],
    helpers: Annotated[dict[str, Any], Depends(collaborators)],
    work: Annotated[None, Depends(unit_of_work, scope="function")],
    ctx: Context,
    if_none_match: Annotated[str | None, Header(max_length=1000)] = None,
) -> dict[str, str]:
    return {"status": "ok", "sub": who["sub"]}


async def declare_flat(request: Request) -> None:
    request.scope.setdefault("floor_ctx", {})["action"] = "read"


async def unit_of_work_flat(request: Request) -> AsyncIterator[None]:
    yield None


@app.get("/service-flat/{item_id}", dependencies=[Depends(declare_flat)])
async def service_flat(
    item_id: uuid.UUID,
    who: Annotated[dict[str, Any], Depends(principal)],
    helpers: Annotated[dict[str, Any], Depends(collaborators)],
    work: Annotated[None, Depends(unit_of_work_flat, scope="function")],
    ctx: Context,
    if_none_match: Annotated[str | None, Header(max_length=1000)] = None,
) -> dict[str, str]:
    return {"status": "ok", "sub": who["sub"]}


async def reading(request: Request) -> dict[str, Any]:
    authorization = request.headers.get("authorization")
    request.scope.setdefault("floor_ctx", {})["action"] = "read"
    return await claims(authorization)


@app.get("/service-one/{item_id}")
async def service_one(
    item_id: uuid.UUID,
    who: Annotated[dict[str, Any], Depends(reading)],
    if_none_match: Annotated[str | None, Header(max_length=1000)] = None,
) -> dict[str, str]:
    return {"status": "ok", "sub": who["sub"]}


@app.get("/orm/{item_id}")
async def orm(item_id: uuid.UUID) -> dict[str, Any]:
    session: AsyncSession
    async with state["sessions"]() as session:
        item = await session.get(Item, item_id)
    if item is None:
        raise HTTPException(404)
    return _row(item)


@app.get("/session-core/{item_id}")
async def session_core(item_id: uuid.UUID) -> dict[str, Any]:
    session: AsyncSession
    async with state["sessions"]() as session:
        row = (await session.execute(BY_ID, {"id": item_id})).first()
    if row is None:
        raise HTTPException(404)
    return _row(row)


@app.get("/core/{item_id}")
async def core(item_id: uuid.UUID) -> dict[str, Any]:
    return await _select_on(state["engine"], item_id)


@app.get("/core-autocommit/{item_id}")
async def core_autocommit(item_id: uuid.UUID) -> dict[str, Any]:
    return await _select_on(state["autocommit"], item_id)


@app.get("/autocommit-engine/{item_id}")
async def autocommit_engine(item_id: uuid.UUID) -> dict[str, Any]:
    return await _select_on(state["autocommit_engine"], item_id)


@app.get("/asyncpg/{item_id}")
async def raw(item_id: uuid.UUID) -> dict[str, Any]:
    return await _asyncpg_select(item_id)


@app.get("/insert/{item_id}")
async def insert_event(item_id: uuid.UUID) -> dict[str, str]:
    async with state["engine"].begin() as conn:
        await conn.execute(insert(events), [_event("floor", item_id)])
    return {"status": "ok"}


@app.get("/floor/{item_id}")
async def floor(item_id: uuid.UUID, who: Claims) -> dict[str, Any]:
    answer = await _select_on(state["autocommit_engine"], item_id)
    await state["batcher"].write(_event(who["sub"], item_id))
    return answer


@app.get("/floor-asyncpg/{item_id}")
async def floor_asyncpg(item_id: uuid.UUID, who: Claims) -> dict[str, Any]:
    answer = await _asyncpg_select(item_id)
    event = _event(who["sub"], item_id)
    await state["pg"].execute(ASYNCPG_INSERT, *event.values())  # one statement: its own implicit transaction
    return answer


@app.get("/agency")
async def agency() -> dict[str, Any]:
    response = await state["agency"].get("/ping", headers={"X-Request-ID": uuid.uuid4().hex})
    return {"status": response.status_code, "sha256": hashlib.sha256(response.content).hexdigest()}


class Pong(BaseModel):
    status: str


@app.get("/agency-client")
async def agency_client() -> dict[str, Any]:
    answer = await state["agency_http"].get("/ping", model=Pong, dataset="bare")
    return {"status": answer.data.status, "sha256": answer.sha256}


_produce: Any = None


def _init_producer(key_file: str, cert_file: str) -> None:
    global _produce
    from bench.naive import _producer

    _produce = _producer(key_file, cert_file, defaults=False)


def _produce_one(i: int) -> bytes:
    return _produce(i)


@app.post("/issue")
async def issue(who: Claims) -> Response:
    """The naive render + sign (bench/naive.py's loop body) behind HTTP, in one process per worker as the
    service's PDF pool: the least an issuing endpoint does, for the open-loop tail of a CPU-bound service."""
    state["issued"] = state.get("issued", 0) + 1
    pdf = await asyncio.get_running_loop().run_in_executor(state["pdf"], _produce_one, state["issued"])
    return Response(pdf, media_type="application/pdf")


@app.post("/upload")
async def upload(file: Annotated[UploadFile, File()], who: Claims) -> dict[str, Any]:
    content = await file.read()
    return {"size": len(content), "sha256": hashlib.sha256(content).hexdigest(), "by": who["sub"]}
