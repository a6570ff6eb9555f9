from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.materials.models import ApplicationMaterial, Material

_UNATTACHED = ~exists().where(ApplicationMaterial.material_id == Material.id)
# Built once (each upload and each filing asks one of them): building costs more than running.
_OWNED = select(Material.id).where(
    Material.id.in_(bindparam("ids", expanding=True)), Material.owner_sub == bindparam("owner")
)
_UNATTACHED_USAGE = select(func.coalesce(func.sum(Material.size), 0), func.min(Material.created_at)).where(
    Material.owner_sub == bindparam("owner"), _UNATTACHED
)


async def owned_ids(session: AsyncSession, *, owner_sub: str, ids: Sequence[str]) -> set[str]:
    if not ids:
        return set()
    rows = await session.execute(_OWNED, {"ids": list(ids), "owner": owner_sub})
    return set(rows.scalars())


def add(session: AsyncSession, material: Material) -> None:
    session.add(material)


async def unattached_usage(session: AsyncSession, *, owner_sub: str) -> tuple[int, datetime | None]:
    """Bytes the owner keeps in materials no application uses, and when the oldest of them was uploaded."""
    used, oldest = (await session.execute(_UNATTACHED_USAGE, {"owner": owner_sub})).one()
    return int(used), oldest


@dataclass(frozen=True)
class Expired:
    id: str
    owner_sub: str
    size: int
    sha256: str
    created_at: datetime


async def delete_unattached(session: AsyncSession, *, uploaded_before: datetime, limit: int) -> list[Expired]:
    """Delete up to `limit` materials uploaded before then that no application uses; the test of "used"
    is repeated in the DELETE itself, so a material attached meanwhile stays."""
    candidates = select(Material.id).where(Material.created_at < uploaded_before, _UNATTACHED).limit(limit)
    rows = await session.execute(
        delete(Material)
        .where(Material.id.in_(candidates.scalar_subquery()), _UNATTACHED)
        .returning(Material.id, Material.owner_sub, Material.size, Material.sha256, Material.created_at)
    )
    return [Expired(*row) for row in rows.all()]


async def holds_bytes(session: AsyncSession, sha256: str) -> bool:
    """A material holds these bytes (the object store keeps one copy per hash)."""
    return bool((await session.execute(select(exists().where(Material.sha256 == sha256)))).scalar())
