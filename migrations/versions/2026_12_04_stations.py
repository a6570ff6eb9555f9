"""the comprehensive windows: slots and appointments; appointment events in the outbox

Revision ID: 0007_stations
Revises: 0006_persons
Create Date: 2026-12-04 17:16:11.811995
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import app.db.base


revision: str = "0007_stations"
down_revision: str | None = "0006_persons"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "appointment_slots",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("station_id", sa.String(length=32), nullable=False),
        sa.Column("line", sa.String(length=20), nullable=False),
        sa.Column("starts_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "booked >= 0 AND booked <= capacity", name=op.f("ck_appointment_slots_booked_within_capacity")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_slots")),
        sa.UniqueConstraint("station_id", "line", "starts_at", name=op.f("uq_appointment_slots_station_id")),
    )
    op.create_table(
        "appointments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("slot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("station_id", sa.String(length=32), nullable=False),
        sa.Column("station_name", sa.String(length=64), nullable=False),
        sa.Column("line", sa.String(length=20), nullable=False),
        sa.Column("starts_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("citizen_hash", sa.String(length=64), nullable=False),
        sa.Column("citizen_id_masked", sa.String(length=18), nullable=False),
        sa.Column("citizen_name", sa.String(length=64), nullable=False),
        sa.Column("citizen_sub", sa.String(length=255), nullable=False),
        sa.Column("created_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", app.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("arrived_at", app.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("arrival_marked_by", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["slot_id"], ["appointment_slots.id"], name=op.f("fk_appointments_slot_id_appointment_slots")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index("ix_appointments_citizen_hash_starts_at", ["citizen_hash", "starts_at"], unique=False)
        batch_op.create_index("ix_appointments_station_id_starts_at", ["station_id", "starts_at"], unique=False)
        batch_op.create_index("ix_appointments_status_starts_at", ["status", "starts_at"], unique=False)
        batch_op.create_index(
            "uq_appointments_open_per_line",
            ["citizen_hash", "line"],
            unique=True,
            postgresql_where=sa.text("status = 'booked'"),
            sqlite_where=sa.text("status = 'booked'"),
        )

    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("appointment", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_column("appointment")

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_appointments_open_per_line",
            postgresql_where=sa.text("status = 'booked'"),
            sqlite_where=sa.text("status = 'booked'"),
        )
        batch_op.drop_index("ix_appointments_status_starts_at")
        batch_op.drop_index("ix_appointments_station_id_starts_at")
        batch_op.drop_index("ix_appointments_citizen_hash_starts_at")

    op.drop_table("appointments")
    op.drop_table("appointment_slots")
