"""the request log by month: audit_events partitioned by RANGE (occurred_at) on PostgreSQL

- PostgreSQL: audit_events becomes a partitioned table, one partition per UTC month
  (`audit_events_YYYY_MM`, from the month of the oldest event to two months ahead) and a DEFAULT one; its
  rows are copied over. A partitioned table's unique keys must hold the partition key, so the primary
  key is (id, occurred_at) and `seq` is unique with `occurred_at`. The indexes and CHECK constraints are
  made again; the id sequence carries on. SQLite: no partitions, nothing changes there.
- audit_archives (both): where the live chain starts after `cityservices audit-archive`.
- ix_audit_checkpoints_seq (both): `GET /v1/audit/verify` starts from the furthest checkpoint.

The downgrade copies the live rows back into one plain table (archived months stay archived).
docs/scaling.md, "The request log by month".

Revision ID: 0010_audit_partitions
Revises: 0009_sink_deliveries
Create Date: 2026-12-05 18:40:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import app.db.base
from app.audit import partitions

revision: str = "0010_audit_partitions"
down_revision: str | None = "0009_sink_deliveries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_audit_events_action", "action"),
    ("ix_audit_events_actor_sub", "actor_sub"),
    ("ix_audit_events_application_id", "application_id"),
    ("ix_audit_events_occurred_at", "occurred_at"),
    ("ix_audit_events_subject_hash_seq", "subject_hash, seq"),
)


def upgrade() -> None:
    op.create_table(
        "audit_archives",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("before_month", sa.String(length=7), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("archived_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("last_seq > 0", name=op.f("ck_audit_archives_last_seq_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_archives")),
        sa.UniqueConstraint("last_seq", name=op.f("uq_audit_archives_last_seq")),
    )
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.create_index("ix_audit_checkpoints_seq", ["seq"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        _partition()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _unpartition()
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_checkpoints_seq")
    op.drop_table("audit_archives")


def _keys_and_indexes(unique: str) -> None:
    # Made after the copy: building an index once over the rows is faster than keeping it up row by row.
    op.execute(f"ALTER TABLE audit_events ADD CONSTRAINT pk_audit_events PRIMARY KEY (id{unique})")
    op.execute(f"ALTER TABLE audit_events ADD CONSTRAINT uq_audit_events_seq UNIQUE (seq{unique})")
    for name, columns in INDEXES:
        op.execute(f"CREATE INDEX {name} ON audit_events ({columns})")
    op.execute("ALTER SEQUENCE audit_events_id_seq OWNED BY audit_events.id")


def _partition() -> None:
    bind = op.get_bind()
    # The id sequence outlives the old table (dropping a table drops the sequences it owns).
    op.execute("ALTER SEQUENCE audit_events_id_seq OWNED BY NONE")
    op.execute("ALTER TABLE audit_events RENAME TO audit_events_unpartitioned")
    op.execute(
        "CREATE TABLE audit_events (LIKE audit_events_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
        "PARTITION BY RANGE (occurred_at)"
    )
    oldest, newest = bind.execute(sa.text("SELECT min(occurred_at), max(occurred_at) FROM audit_events_unpartitioned")).one()
    months = partitions.coming_months(datetime.now(UTC))
    if oldest is not None:
        first, last = partitions.Month.of(oldest), partitions.Month.of(newest)
        months += [first.plus(n) for n in range((last.year - first.year) * 12 + last.month - first.month + 1)]
    partitions.ensure_months(bind, months)
    op.execute("INSERT INTO audit_events SELECT * FROM audit_events_unpartitioned")
    op.execute("DROP TABLE audit_events_unpartitioned")
    _keys_and_indexes(", occurred_at")


def _unpartition() -> None:
    op.execute("ALTER SEQUENCE audit_events_id_seq OWNED BY NONE")
    op.execute("ALTER TABLE audit_events RENAME TO audit_events_partitioned")
    op.execute("CREATE TABLE audit_events (LIKE audit_events_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    op.execute("INSERT INTO audit_events SELECT * FROM audit_events_partitioned")
    op.execute("DROP TABLE audit_events_partitioned")  # its partitions with it
    _keys_and_indexes("")
