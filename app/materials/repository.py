from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.materials.models import Material


async def owned_ids(session: AsyncSession, *, owner_sub: str, ids: Sequence[str]) -> set[str]:
    if not ids:
        return set()
    rows = await session.execute(select(Material.id).where(Material.id.in_(list(ids)), Material.owner_sub == owner_sub))
    return set(rows.scalars())


def add(session: AsyncSession, material: Material) -> None:
    session.add(material)
