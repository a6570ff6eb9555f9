"""sharing with consent and wallet credentials' status lists

Revision ID: 0008_sharing
Revises: 0007_stations
Create Date: 2026-12-05 07:26:59.134476
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import app.db.base


revision: str = '0008_sharing'
down_revision: str | None = '0007_stations'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('certificate_shares',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('certificate_serial', sa.String(length=32), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('recipient', sa.String(length=200), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('notify', sa.Boolean(), nullable=False),
    sa.Column('owner_sub', sa.String(length=255), nullable=False),
    sa.Column('owner_id_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', app.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', app.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('uses', sa.Integer(), nullable=False),
    sa.Column('last_used_at', app.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['certificate_serial'], ['certificates.serial'], name=op.f('fk_certificate_shares_certificate_serial_certificates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_shares')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_certificate_shares_token_sha256'))
    )
    with op.batch_alter_table('certificate_shares', schema=None) as batch_op:
        batch_op.create_index('ix_certificate_shares_certificate_serial_created_at', ['certificate_serial', 'created_at'], unique=False)

    op.create_table('status_list_entries',
    sa.Column('certificate_serial', sa.String(length=32), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('idx', sa.Integer(), nullable=False),
    sa.Column('created_at', app.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['certificate_serial'], ['certificates.serial'], name=op.f('fk_status_list_entries_certificate_serial_certificates')),
    sa.PrimaryKeyConstraint('certificate_serial', name=op.f('pk_status_list_entries')),
    sa.UniqueConstraint('list_id', 'idx', name=op.f('uq_status_list_entries_list_id'))
    )


def downgrade() -> None:
    op.drop_table('status_list_entries')
    with op.batch_alter_table('certificate_shares', schema=None) as batch_op:
        batch_op.drop_index('ix_certificate_shares_certificate_serial_created_at')

    op.drop_table('certificate_shares')
