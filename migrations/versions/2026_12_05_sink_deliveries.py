"""each sink's delivery state of each notification, apart from the other sinks'

Revision ID: 0009_sink_deliveries
Revises: 0007_stations
Create Date: 2026-12-05 07:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import app.db.base


revision: str = "0009_sink_deliveries"
down_revision: str | None = "0008_sharing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Events already sent were received by every sink configured then; events still pending start with
    # no receipts, so each configured sink gets them once.
    op.create_table(
        "notification_deliveries",
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sink", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("delivered_at", app.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["notification_outbox.id"],
            name=op.f("fk_notification_deliveries_event_id_notification_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", "sink", name=op.f("pk_notification_deliveries")),
    )


def downgrade() -> None:
    op.drop_table("notification_deliveries")
