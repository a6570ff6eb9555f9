"""certificate re-issue (superseded_by, replaces) and public revocation reason codes
(docs/api.md#duplicates-renewal-and-re-issue)

A re-issue is a second certificate of the same application, so application_id stops being unique
(it stays indexed). Revoked certificates issued before this migration get the code OTHER: their free
text stays staff-only.

Revision ID: 0003_certificate_reissue
Revises: 0001
Create Date: 2026-11-30 10:45:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = '0003_certificate_reissue'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revocation_reason_code', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('superseded_by', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('superseded_at', app.db.base.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('replaces', sa.String(length=32), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_certificates_application_id'), type_='unique')
        batch_op.create_index(batch_op.f('ix_certificates_application_id'), ['application_id'], unique=False)
    op.execute("UPDATE certificates SET revocation_reason_code = 'OTHER' WHERE status = 'revoked'")


def downgrade() -> None:
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificates_application_id'))
        batch_op.create_unique_constraint(batch_op.f('uq_certificates_application_id'), ['application_id'])
        batch_op.drop_column('replaces')
        batch_op.drop_column('superseded_at')
        batch_op.drop_column('superseded_by')
        batch_op.drop_column('revocation_reason_code')
