from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column

from app.db.base import Base, UtcDateTime, utcnow


class Material(Base):
    """An uploaded proof (PDF, JPEG, PNG), kept in the database so every replica can read it."""

    __tablename__ = "materials"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_sub: Mapped[str] = mapped_column(String(255), index=True)
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(255))
    content: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))  # None: in the object store
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ApplicationMaterial(Base):
    """A material attached to an application: at filing, or later when a clerk asked for more (补正)."""

    __tablename__ = "application_materials"

    application_id: Mapped[str] = mapped_column(String(36), ForeignKey("applications.id"), primary_key=True)
    material_id: Mapped[str] = mapped_column(String(36), ForeignKey("materials.id"), primary_key=True)
    attached_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
