"""a year's statistics from kept figures of past days and months

- application_late_changes: per Shanghai day of filing, the status changes made to its applications after
  the day was over (app/applications/late_changes.py).
- stats_periods, stats_filings, stats_station_filings, stats_decision_times: the figures of whole settled
  days and months (app/stats/rollups.py), computed when first read; nothing to fill here.
- ix_applications_created_at: the ragged edges of a window, and the first filing, read off an index.

Revision ID: 0012_stats_rollups
Revises: 0011_time_search_and_queue
Create Date: 2026-12-05 21:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_stats_rollups"
down_revision: str | None = "0011_time_search_and_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PERIOD = ("grain", "start")


def _period_columns() -> list[sa.Column]:
    return [sa.Column("grain", sa.String(5), nullable=False), sa.Column("start", sa.Date(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "application_late_changes",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_application_late_changes")),
    )
    op.create_table(
        "stats_periods",
        *_period_columns(),
        sa.Column("late_changes", sa.Integer(), nullable=False),
        sa.Column("by_channel", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint(*_PERIOD, name=op.f("pk_stats_periods")),
    )
    op.create_table(
        "stats_filings",
        *_period_columns(),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*_PERIOD, "service", "status", "channel", name=op.f("pk_stats_filings")),
    )
    op.create_table(
        "stats_station_filings",
        *_period_columns(),
        sa.Column("station_id", sa.String(32), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*_PERIOD, "station_id", "service", name=op.f("pk_stats_station_filings")),
    )
    op.create_table(
        "stats_decision_times",
        *_period_columns(),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*_PERIOD, "service", "band", name=op.f("pk_stats_decision_times")),
    )
    op.create_index("ix_applications_created_at", "applications", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_applications_created_at", table_name="applications")
    for table in ("stats_decision_times", "stats_station_filings", "stats_filings", "stats_periods"):
        op.drop_table(table)
    op.drop_table("application_late_changes")
