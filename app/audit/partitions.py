"""The request log's months on PostgreSQL: `audit_events` is partitioned by RANGE of `occurred_at`, one
partition per UTC month (`audit_events_YYYY_MM`) and a DEFAULT one for whatever falls outside them
(migration 0010_audit_partitions; docs/scaling.md, "The request log by month").

A month's partition must exist before its first event, so this month's and the next two are created at
migrate time and again in the worker's hourly round: two months of slack for a worker that stops. Should
events still land in the DEFAULT partition (no worker for months), creating their month moves them into
it: PostgreSQL refuses a partition whose rows sit in the default one. SQLite has no partitions: every
function here does nothing there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

TABLE = "audit_events"
DEFAULT_PARTITION = "audit_events_default"
MONTHS_AHEAD = 2
_NAME = re.compile(r"^audit_events_(\d{4})_(\d{2})$")
_LOCK_KEY = 0x41554454  # "AUDT": one process at a time creates partitions (two workers, a migration)


@dataclass(frozen=True, order=True)
class Month:
    """A UTC calendar month, the unit the log is partitioned and archived by."""

    year: int
    month: int

    @classmethod
    def of(cls, moment: datetime) -> Month:
        moment = moment.astimezone(UTC)
        return cls(moment.year, moment.month)

    @classmethod
    def parse(cls, value: str) -> Month:
        """`YYYY-MM`; ValueError otherwise."""
        match = re.fullmatch(r"(\d{4})-(\d{2})", value)
        if match is None or not 1 <= int(match[2]) <= 12:
            raise ValueError(f"not a month (YYYY-MM): {value!r}")
        return cls(int(match[1]), int(match[2]))

    def plus(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.plus(1).start

    @property
    def partition(self) -> str:
        return f"{TABLE}_{self.year:04d}_{self.month:02d}"

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def month_of_partition(name: str) -> Month | None:
    match = _NAME.match(name)
    return Month(int(match[1]), int(match[2])) if match else None


def is_partition(name: str) -> bool:
    """A table that is one of the log's partitions: not part of the model (Alembic's comparisons skip it)."""
    return name == DEFAULT_PARTITION or month_of_partition(name) is not None


def include_name(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
    """Alembic's filter (migrations/env.py, the schema-drift test): a month's table, attached or kept after
    archiving, is the database's, not the model's."""
    return not (type_ == "table" and name is not None and is_partition(name))


def _bounds(month: Month) -> str:
    return f"FROM ('{month.start.isoformat()}') TO ('{month.end.isoformat()}')"


def is_partitioned(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(text("SELECT relkind::text FROM pg_class WHERE oid = to_regclass(:t)"), {"t": TABLE}).scalar()
    return kind == "p"


def partitions(conn: Connection) -> list[str]:
    """The log's attached partitions, by name."""
    query = text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(:t)"
    )
    return sorted(conn.execute(query, {"t": TABLE}).scalars())


def _create(conn: Connection, month: Month) -> None:
    name, window = month.partition, {"a": month.start, "b": month.end}
    stray = conn.execute(
        text(f"SELECT 1 FROM {DEFAULT_PARTITION} WHERE occurred_at >= :a AND occurred_at < :b LIMIT 1"), window
    ).first()
    if stray is None:
        conn.execute(text(f"CREATE TABLE {name} PARTITION OF {TABLE} FOR VALUES {_bounds(month)}"))
        return
    # The month's events that fell into the default partition move into their own, attached after.
    conn.execute(text(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE occurred_at >= :a AND occurred_at < :b "
            f"RETURNING *) INSERT INTO {name} SELECT * FROM moved"
        ),
        window,
    )
    conn.execute(text(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES {_bounds(month)}"))


def ensure_months(conn: Connection, months: Iterable[Month]) -> list[str]:
    """Create the partitions of these months that do not exist yet (and the DEFAULT one); the names
    created. In the caller's transaction."""
    if not is_partitioned(conn):
        return []
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    existing = set(partitions(conn))
    created = []
    if DEFAULT_PARTITION not in existing:
        conn.execute(text(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {TABLE} DEFAULT"))
        created.append(DEFAULT_PARTITION)
    for month in sorted(set(months)):
        if month.partition not in existing:
            _create(conn, month)
            created.append(month.partition)
    return created


def coming_months(now: datetime, ahead: int = MONTHS_AHEAD) -> list[Month]:
    this = Month.of(now)
    return [this.plus(n) for n in range(ahead + 1)]


async def ensure_partitions(engine: AsyncEngine, *, now: datetime) -> list[str]:
    """This month's partition and the next two (the worker's hourly round, and `cityservices migrate`)."""
    if engine.dialect.name != "postgresql":
        return []
    async with engine.begin() as conn:
        return await conn.run_sync(lambda sync: ensure_months(sync, coming_months(now)))
