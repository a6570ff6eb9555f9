"""the request log's positions are positive, enforced by the database

An event whose `seq` was set to zero or below by someone with UPDATE on the table used to drop out of
the chain's walk (it started after 0) and so out of verification; now the database refuses the write.
Checkpoints likewise sign only real positions.

Revision ID: 0005_audit_anchor
Revises: 0004_round_two
Create Date: 2026-12-04 09:00:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0005_audit_anchor'
down_revision: str | None = '0004_round_two'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_check_constraint('seq_positive', 'seq > 0')
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.create_check_constraint('seq_positive', 'seq > 0')


def downgrade() -> None:
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.drop_constraint('seq_positive', type_='check')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint('seq_positive', type_='check')
