"""a search of the request log by time, and the review queue, read off an index at any size

- audit_seq_hours: the lowest and highest chain position of each UTC hour's events, kept by the sealer
  (app/audit/hours.py), filled here from the events already sealed.
- ix_applications_status_created_at (status, created_at, id) replaces ix_applications_status.

Revision ID: 0011_time_search_and_queue
Revises: 0010_audit_partitions
Create Date: 2026-12-05 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0011_time_search_and_queue"
down_revision: str | None = "0010_audit_partitions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_seq_hours",
        sa.Column("hour", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hour", name=op.f("pk_audit_seq_hours")),
    )
    if op.get_bind().dialect.name == "postgresql":
        hour = "date_trunc('hour', occurred_at)"
    else:  # SQLite keeps a UTC time as 'YYYY-MM-DD HH:MM:SS.ffffff'
        hour = "substr(occurred_at, 1, 13) || ':00:00.000000'"
    op.execute(
        f"INSERT INTO audit_seq_hours (hour, first_seq, last_seq) "
        f"SELECT {hour}, min(seq), max(seq) FROM audit_events WHERE seq IS NOT NULL GROUP BY {hour}"
    )
    op.drop_index("ix_applications_status", table_name="applications")
    op.create_index("ix_applications_status_created_at", "applications", ["status", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_applications_status_created_at", table_name="applications")
    op.create_index("ix_applications_status", "applications", ["status"])
    op.drop_table("audit_seq_hours")
