"""Writing to the request log, in the same transaction as the change an event describes.

Domain code calls `record(session, ...)` while it works and `commit(session)` once at the end: the
events are inserted with the change and commit with it. They are linked into the hash chain just after,
by the sealer (app.audit.sealing), so that commits never wait on one another for the chain.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.audit.models import AuditEvent
from app.audit.sanitise import storable
from app.errors import Conflict
from app.i18n import Text

_PENDING = "audit_pending"
_ON_COMMIT = "audit_on_commit"


class ConcurrentChange(Conflict):
    code = "CONCURRENT_CHANGE"
    title = Text("该记录已被他人同时修改", "Someone else changed this record at the same time")


def prepared(fields: dict[str, Any]) -> dict[str, Any]:
    """An event as it is inserted: timestamped, latency rounded, every string bounded and cleaned (the one
    way into the log, so that no event can fail on what a caller sent)."""
    fields = dict(fields)
    fields.setdefault("occurred_at", datetime.now(UTC))
    if fields.get("latency_ms") is not None:
        fields["latency_ms"] = round(float(fields["latency_ms"]), 3)
    return storable(fields)


def record(session: AsyncSession, **fields: Any) -> None:
    session.info.setdefault(_PENDING, []).append(prepared(fields))


def events_committed() -> None:
    for wake in after_events_committed:
        wake()


def on_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    session.info.setdefault(_ON_COMMIT, []).append(callback)


# Called after every commit that wrote events (the sealer's wake-up); set by app.audit.sealing.
after_events_committed: list[Callable[[], None]] = []


async def commit(session: AsyncSession) -> None:
    """Insert the pending events beside the changes and commit them as one."""
    pending: list[dict[str, Any]] = session.info.pop(_PENDING, [])
    callbacks: list[Callable[[], None]] = session.info.pop(_ON_COMMIT, [])
    try:
        session.add_all(AuditEvent(**fields) for fields in pending)
        await session.flush()
        await session.commit()
    except StaleDataError as exc:
        await session.rollback()
        raise ConcurrentChange() from exc
    except BaseException:
        await session.rollback()
        raise
    for callback in callbacks:
        callback()
    if pending:
        events_committed()
