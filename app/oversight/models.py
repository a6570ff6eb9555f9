from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UtcDateTime
from app.db.types import BigIntId


class PersonSearch(Base):
    """One auditor's search of the request log for a person (docs/api.md#the-log-beyond-reach), kept for the hour it
    counts against AUDIT_PERSON_SEARCHES_PER_HOUR: in the database, so that every process shares one count."""

    __tablename__ = "audit_person_searches"
    __table_args__ = (Index("ix_audit_person_searches_auditor_searched_at", "auditor", "searched_at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    # The auditor as a person (`id:<keyed hash>`), or their account when the token names no person
    # (`sub:<sub>`, development only).
    auditor: Mapped[str] = mapped_column(String(260))
    searched_at: Mapped[datetime] = mapped_column(UtcDateTime)
