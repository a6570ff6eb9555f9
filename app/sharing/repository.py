from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.sharing.models import Share


async def by_token_hash(session: AsyncSession, token_sha256: str) -> Share | None:
    return (await session.execute(select(Share).where(Share.token_sha256 == token_sha256))).scalar_one_or_none()


async def of_certificate(session: AsyncSession, serial: str, share_id: str) -> Share | None:
    query = select(Share).where(Share.id == share_id, Share.certificate_serial == serial)
    return (await session.execute(query)).scalar_one_or_none()


async def page_of_certificate(
    session: AsyncSession, serial: str, *, after: tuple[datetime, str] | None, limit: int
) -> list[Share]:
    """Oldest first; `limit + 1` rows so the caller knows whether there is a next page."""
    query = select(Share).where(Share.certificate_serial == serial)
    if after is not None:
        at, share_id = after
        query = query.where(or_(Share.created_at > at, and_(Share.created_at == at, Share.id > share_id)))
    rows = await session.execute(query.order_by(Share.created_at, Share.id).limit(limit + 1))
    return list(rows.scalars())


async def count_use(session: AsyncSession, share_id: str, *, at: datetime) -> None:
    """One more use, counted in the database (`uses + 1`), so concurrent uses are all counted."""
    await session.execute(
        update(Share).where(Share.id == share_id).values(uses=Share.uses + 1, last_used_at=at),
        execution_options={"synchronize_session": False},
    )
