"""The only place statistics query applications: counts by group, and the decided ones' durations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.applications.models import Application


def _window(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    window = []
    if since is not None:
        window.append(Application.created_at >= since)
    if until is not None:
        window.append(Application.created_at < until)
    return window


async def counts(
    session: AsyncSession, *, since: datetime | None, until: datetime | None
) -> list[tuple[str, str, str, int]]:
    """(service, status, channel, count) for applications filed in the window."""
    rows = await session.execute(
        select(Application.service, Application.status, Application.channel, func.count())
        .where(*_window(since, until))
        .group_by(Application.service, Application.status, Application.channel)
    )
    return [(service, str(status), channel, n) for service, status, channel, n in rows.all()]


async def processing_seconds(
    session: AsyncSession, *, since: datetime | None, until: datetime | None
) -> dict[str, list[float]]:
    """Filing to decision, per service, for the decided applications filed in the window."""
    rows: Any = await session.execute(
        select(Application.service, Application.created_at, Application.decided_at).where(
            *_window(since, until), Application.decided_at.is_not(None)
        )
    )
    durations: dict[str, list[float]] = {}
    for service, created, decided_at in rows.all():
        durations.setdefault(service, []).append((decided_at - created).total_seconds())
    return durations
