"""round two's migrations, written side by side, joined into one history

Revision ID: 0004_round_two
Revises: 0002_clerk_review, 0003_certificate_reissue, 0002_notification_outbox
Create Date: 2026-11-30 11:20:00
"""
from collections.abc import Sequence

revision: str = '0004_round_two'
down_revision: str | Sequence[str] | None = ('0002_clerk_review', '0003_certificate_reissue', '0002_notification_outbox')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
