"""Sealing: linking committed events into the hash chain, in the order they are sealed.

Events are inserted unsealed (no `seq`, no hashes) with the change they describe, so commits never wait
for one another. One sealer at a time per database (a PostgreSQL advisory lock; a process lock on
SQLite) takes the unsealed events, gives each the next `seq` and its hash over its content and the
previous hash, and commits. The chain therefore has no forks and no gaps; readers of the log (verify,
export, listings, checkpoints) seal first (`seal_all`), so they never see it behind.

Sealing is batched, because it is bookkeeping, not the request's work: under load each commit used to
wake its process's sealer at once, both workers' sealers queued on the lock holding a connection each,
and every wake ended with an empty second round: ~11 statements per read. Now (issue 20, R2):

- a wake waits `DEBOUNCE_SECONDS` first, so one round seals every event committed meanwhile: a round
  costs about six statements whatever its size, and nobody waits on it (readers seal first), so
  rounds are few: at 200 ms, a round seals a few hundred reads' events under load, where 50 ms
  rounds' fixed cost was a visible share of each read (issue 29);
- a round that sealed fewer than `BATCH` events found everything there was: no empty round after it;
- the background sealer only *tries* the lock: if another process is sealing, this one skips instead
  of queueing with a connection held. The holder may have read the unsealed rows before our commit,
  so the skipper looks again shortly after (one cheap query if the holder took them), and every process
  also looks every `POLL_SECONDS`: nothing stays unsealed for longer than that;
- rows are read as plain tuples of the hashed columns (no ORM objects), the chain head in the same
  statement, and written back with one `UPDATE` (PostgreSQL: `FROM unnest(...)`).

Readers (`seal_all`) wait for the lock instead: they must see everything committed before they began.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.audit import hours
from app.audit.chain import CHAINED_FIELDS, GENESIS_HASH, event_hash
from app.audit.models import EVENTS_TABLE
from app.db import uow
from app.db.driver import DriverRead

logger = logging.getLogger("cityservices.audit")

BATCH = 2000
DEBOUNCE_SECONDS = 0.2  # after a wake: the commits of the next 200 ms join the same round
RETRY_SECONDS = 0.1  # after finding another process sealing: look again this soon
POLL_SECONDS = 0.5  # events nobody woke this process for (other processes' skips, crashes) wait at most this
_CHAIN_LOCK_KEY = 0x43495459  # "CITY"
_local_locks: dict[str, asyncio.Lock] = {}  # per database file, however many engines point at it

_EVENTS = EVENTS_TABLE
_CONTENT = [name for name in CHAINED_FIELDS if name != "seq"]  # what is hashed, besides the position given here
_OCCURRED_AT = 1 + _CONTENT.index("occurred_at")  # its place in an `_UNSEALED` row
_head = _EVENTS.alias("head")  # an alias, so that the head's subqueries are not correlated with the outer rows


def _head_column(name: str) -> Any:
    newest = select(_head.c[name]).where(_head.c.seq.is_not(None)).order_by(_head.c.seq.desc()).limit(1)
    return newest.scalar_subquery().label(f"head_{name}")


# The oldest unsealed events, only what their hashes cover, and the chain head (each row repeats it; the
# subqueries run once): one statement instead of a head query and ORM objects of whole rows.
_UNSEALED = (
    select(_EVENTS.c.id, *(_EVENTS.c[name] for name in _CONTENT), _head_column("seq"), _head_column("hash"))
    .where(_EVENTS.c.seq.is_(None))
    .order_by(_EVENTS.c.id)
    .limit(BATCH)
)
# A poll, in every process every POLL_SECONDS: run by the driver itself, outside any transaction (no
# isolation level set and reset around it, no BEGIN and ROLLBACK).
_ANY_UNSEALED = DriverRead(select(_EVENTS.c.id).where(_EVENTS.c.seq.is_(None)).limit(1))
# PostgreSQL: the whole batch in one statement, four arrays, whatever its size (one prepared statement).
_LINK_PG = text(
    "UPDATE audit_events AS e SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash "
    "FROM unnest(CAST(:ids AS BIGINT[]), CAST(:seqs AS BIGINT[]), CAST(:prevs AS VARCHAR[]), "
    "CAST(:hashes AS VARCHAR[])) AS v(id, seq, prev_hash, hash) "
    "WHERE e.id = v.id"
)
# SQLite (in process, no round trips): one executemany.
_LINK_BY_ID = (
    update(_EVENTS)
    .where(_EVENTS.c.id == bindparam("b_id"))
    .values(seq=bindparam("b_seq"), prev_hash=bindparam("b_prev"), hash=bindparam("b_hash"))
)


def _engine_of(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    bind = sessionmaker.kw.get("bind")
    assert isinstance(bind, AsyncEngine), "the sessionmaker is bound to one engine"
    return bind


@asynccontextmanager
async def hold_chain(session: AsyncSession, *, wait: bool = True) -> AsyncIterator[bool]:
    """The right to extend the chain, for the session's transaction: yields True once held; with
    `wait=False`, yields False at once if another sealer holds it. On PostgreSQL it is released when the
    session's transaction ends (an advisory transaction lock, shared by every process on the database);
    on SQLite when the block is left (a lock per database file, in this process)."""
    bind = session.bind
    assert isinstance(bind, AsyncEngine)
    if bind.dialect.name == "postgresql":
        if wait:
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})
            yield True
        else:
            held = await session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})
            yield bool(held.scalar_one())
        return
    lock = _local_locks.setdefault(str(bind.url), asyncio.Lock())
    if not wait and lock.locked():
        yield False
        return
    async with lock:
        yield True


def _links(rows: Sequence[Sequence[Any]]) -> tuple[list[int], list[int], list[str], list[str]]:
    """Each row's position and hash, continuing the head the rows carry (`_UNSEALED`'s columns: the id,
    the content, then the head's seq and hash)."""
    width = len(_CONTENT)
    seq: int = rows[0][1 + width] or 0
    prev_hash: str = rows[0][2 + width] or GENESIS_HASH
    ids, seqs, prevs, hashes = [], [], [], []
    for row in rows:
        seq += 1
        fields = dict(zip(_CONTENT, row[1 : 1 + width], strict=True))
        fields["seq"] = seq
        digest = event_hash(prev_hash, fields)
        ids.append(row[0])
        seqs.append(seq)
        prevs.append(prev_hash)
        hashes.append(digest)
        prev_hash = digest
    return ids, seqs, prevs, hashes


async def seal_once(sessionmaker: async_sessionmaker[AsyncSession], *, wait: bool = True) -> int | None:
    """Seal up to BATCH unsealed events in one transaction; return how many, or None if `wait` is False
    and another sealer holds the chain."""
    async with sessionmaker() as session, hold_chain(session, wait=wait) as held:
        if not held:
            return None
        rows = (await session.execute(_UNSEALED)).all()
        if not rows:
            return 0
        ids, seqs, prevs, hashes = _links(rows)
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(_LINK_PG, {"ids": ids, "seqs": seqs, "prevs": prevs, "hashes": hashes})
        else:
            await session.execute(
                _LINK_BY_ID,
                [
                    {"b_id": i, "b_seq": s, "b_prev": p, "b_hash": h}
                    for i, s, p, h in zip(ids, seqs, prevs, hashes, strict=True)
                ],
            )
        await hours.record(session, ((row[_OCCURRED_AT], seq) for row, seq in zip(rows, seqs, strict=True)))
        await session.commit()
        return len(ids)


async def seal_all(sessionmaker: async_sessionmaker[AsyncSession], *, max_rounds: int = 50) -> int:
    """Seal everything committed so far (readers of the log call this first). Waits for the chain if
    another sealer holds it. A round that sealed fewer than BATCH found every event committed before it
    began, so it is the last. Bounded, so that a reader under a constant stream of new events still gets
    its answer."""
    total = 0
    for _ in range(max_rounds):
        sealed = await _seal_once_retrying(sessionmaker, wait=True)
        total += sealed or 0
        if (sealed or 0) < BATCH:
            break
    return total


async def _seal_once_retrying(
    sessionmaker: async_sessionmaker[AsyncSession], *, wait: bool, attempts: int = 5
) -> int | None:
    # SQLite: a sealer whose read snapshot went stale before its write gets "database is locked"/busy
    # snapshot, and a second process's sealer loses on the unique seq; both simply try again.
    for attempt in range(attempts):
        try:
            return await seal_once(sessionmaker, wait=wait)
        except (OperationalError, IntegrityError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.01 * (attempt + 1))
    return 0


async def anything_unsealed(engine: AsyncEngine) -> bool:
    """One statement, outside a transaction: is there anything for a sealer to do?"""
    async with engine.connect() as conn:
        return await _ANY_UNSEALED.first(conn, {}) is not None


class Sealer:
    """Background sealing for one process: woken by its own commits (then batched), looking every
    POLL_SECONDS for events nobody woke it for, and skipping while another process seals."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        debounce_s: float = DEBOUNCE_SECONDS,
        retry_s: float = RETRY_SECONDS,
        poll_s: float = POLL_SECONDS,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._engine = _engine_of(sessionmaker)
        self._debounce_s = debounce_s
        self._retry_s = retry_s
        self._poll_s = poll_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        uow.events_committed_listeners.append(self._wake.set)
        self._task = asyncio.create_task(self._run(), name="audit-sealer")

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            uow.events_committed_listeners.remove(self._wake.set)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await seal_all(self._sessionmaker)  # the last events of this process, waiting for the lock if need be

    async def _run(self) -> None:
        skipped = False
        while True:
            woken = False
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that arrives as
            # the wait ends, and the loop would then outlive stop() (a shutdown hung forever in CI so).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._retry_s if skipped else self._poll_s):
                    await self._wake.wait()
                woken = True
            if woken:
                await asyncio.sleep(self._debounce_s)  # let the burst gather: one round for all of it
            self._wake.clear()
            try:
                # Not woken: a poll, or a look after a skip; usually there is nothing left, and one
                # autocommit SELECT says so more cheaply than a sealing transaction.
                if not woken and not await anything_unsealed(self._engine):
                    skipped = False
                    continue
                skipped = not await self._seal_available()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("sealing the request log failed; retrying")
                await asyncio.sleep(self._poll_s)

    async def _seal_available(self) -> bool:
        """Seal what there is, a batch per round; False if another process holds the chain (it seals
        what it read; what it may have missed, we look for again soon)."""
        while True:
            sealed = await _seal_once_retrying(self._sessionmaker, wait=False)
            if sealed is None:
                return False
            if sealed < BATCH:
                return True
