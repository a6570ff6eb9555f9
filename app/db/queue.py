"""A table used as a job queue, one implementation for both of ours: the applications waiting on an
agency (app.applications.worker) and the notification outbox (app.notifications.dispatcher).

A row is in the queue while `waiting` holds, and due once `due_at` has passed. A claim takes up to `limit`
due rows and pushes their `due_at` past a lease in one UPDATE … RETURNING, so no other process takes them
meanwhile, and one that dies holding them leaves them due again when the lease ends; on PostgreSQL the
candidates are chosen FOR UPDATE SKIP LOCKED, so several processes share the work without waiting on
each other. What a row's owner does after (decide it, deliver it, give up on it) is the owner's: an
application that waited too long goes to a clerk, an event that failed too often is dead-lettered.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import ColumnElement, Integer, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: `base_s`, twice that, … up to `max_s`, each ±`jitter`, so rows
    that failed together (an agency or a receiver down) do not all come back at the same moment."""

    base_s: float
    max_s: float
    jitter: float = 0.2

    def delay(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th attempt (the first waits `base_s`)."""
        base = min(self.base_s * 2 ** max(attempts - 1, 0), self.max_s)
        return timedelta(seconds=base * random.uniform(1 - self.jitter, 1 + self.jitter))


@dataclass(frozen=True)
class Queue:
    key: InstrumentedAttribute[Any]  # the primary key the claim returns
    due_at: InstrumentedAttribute[Any]
    waiting: ColumnElement[bool]  # which rows are in the queue at all
    # What a claim also sets, besides the lease: an attempt counted, a version bumped.
    on_claim: Mapping[InstrumentedAttribute[Any], Any] = field(default_factory=dict)
    # The order among rows due at the same moment: only a column the (waiting, due_at) index already
    # holds in order (an integer key is SQLite's rowid), else every due row is sorted at each claim.
    tiebreak: tuple[InstrumentedAttribute[Any], ...] = ()

    async def claim(self, session: AsyncSession, *, now: datetime, lease_until: datetime, limit: int) -> list[Any]:
        """Take up to `limit` due rows, oldest due first; return their keys."""
        statements = self._claims
        params: dict[str, Any] = {"claim_now": now, "claim_until": lease_until, "claim_limit": limit}
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            # Lock first, then update: inside `UPDATE … WHERE key IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`
            # PostgreSQL may rescan the subquery per row, skip the rows it has just updated, and so claim
            # far more than n (measured: all 60 of 60 with n = 10).
            chosen = list((await session.execute(statements.lock_due, params)).scalars())
            if not chosen:
                return []  # nothing due (an idle poll): no UPDATE to send
            claimed = await session.execute(statements.take_chosen, params | {"claim_chosen": chosen})
        else:
            # SQLite: one statement, so the transaction begins by writing (a read first could lose its snapshot).
            claimed = await session.execute(statements.take_due, params)
        return list(claimed.scalars())

    @cached_property
    def _claims(self) -> _Claims:
        """Built once per queue (each poll of the worker claims): building costs more than running."""
        due = (
            select(self.key)
            .where(self.waiting, self.due_at <= bindparam("claim_now"))
            .order_by(self.due_at, *self.tiebreak)
            .limit(bindparam("claim_limit", type_=Integer))
        )

        def take(chosen: ColumnElement[Any]) -> Any:
            return (
                update(self.key.class_)
                .where(self.key.in_(chosen), self.waiting, self.due_at <= bindparam("claim_now"))
                .values({self.due_at: bindparam("claim_until"), **self.on_claim})
                .returning(self.key)
                .execution_options(synchronize_session=False)
            )

        return _Claims(
            lock_due=due.with_for_update(skip_locked=True),
            take_chosen=take(bindparam("claim_chosen", expanding=True)),
            take_due=take(due.scalar_subquery()),
        )


@dataclass(frozen=True)
class _Claims:
    lock_due: Any  # PostgreSQL: the due keys, locked, skipping rows another claim holds
    take_chosen: Any  # then the lease on those
    take_due: Any  # SQLite: both in one statement
