"""staff are persons, one valid residence permit per person, person searches of the log
(docs/api.md#staff-are-persons, #one-valid-residence-permit, #the-log-beyond-reach)

- applications.filed_by_id_hash: the person who filed (keyed hash of their id number). Online filings
  are the applicant's own; window filings made before this have none (the clerk's account still counts).
- audit_events.actor_id_hash: the person behind the acting account, outside the hash chain.
- certificates.current_key (unique): on each person's newest residence permit. Before this, a person
  could hold two valid permits (a new one filed beside an expired, still renewable one, then that one
  renewed); the newest stays valid and every older one still valid or renewable becomes superseded by
  it, as issuing it would now have done.
- audit_person_searches: the hourly allowance of auditors' searches of the log for a person.

Revision ID: 0006_persons
Revises: 0005_audit_anchor
Create Date: 2026-12-04 10:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import groupby

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0006_persons"
down_revision: str | None = "0005_audit_anchor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERMIT_FAMILY = "residence-permit"
PERMIT_SERVICES = ("residence-permit", "residence-permit-renewal", "residence-permit-address-change")
RENEWAL_GRACE = timedelta(days=30)

_certificates = sa.table(
    "certificates",
    sa.column("serial", sa.String),
    sa.column("service", sa.String),
    sa.column("holder_id_hash", sa.String),
    sa.column("status", sa.String),
    sa.column("issued_at", app.db.base.UtcDateTime()),
    sa.column("expires_at", app.db.base.UtcDateTime()),
    sa.column("superseded_by", sa.String),
    sa.column("superseded_at", app.db.base.UtcDateTime()),
    sa.column("current_key", sa.String),
    sa.column("version", sa.Integer),
)


def upgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filed_by_id_hash", sa.String(length=64), nullable=True))
    op.execute("UPDATE applications SET filed_by_id_hash = applicant_id_hash WHERE filed_by_role = 'citizen'")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor_id_hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("current_key", sa.String(length=96), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_certificates_current_key"), ["current_key"])
    _one_valid_permit_per_person()
    op.create_table(
        "audit_person_searches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("auditor", sa.String(length=260), nullable=False),
        sa.Column("searched_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_person_searches")),
    )
    with op.batch_alter_table("audit_person_searches", schema=None) as batch_op:
        batch_op.create_index("ix_audit_person_searches_auditor_searched_at", ["auditor", "searched_at"], unique=False)


def _one_valid_permit_per_person() -> None:
    bind = op.get_bind()
    c = _certificates.c
    permits = bind.execute(
        sa.select(c.serial, c.holder_id_hash, c.status, c.expires_at)
        .where(c.service.in_(PERMIT_SERVICES))
        .order_by(c.holder_id_hash, c.issued_at, c.serial)
    ).all()
    now = datetime.now(UTC)
    for holder, held in groupby(permits, key=lambda row: row.holder_id_hash):
        *older, newest = list(held)
        bind.execute(
            _certificates.update()
            .where(c.serial == newest.serial)
            .values(current_key=f"{PERMIT_FAMILY}:{holder}", version=c.version + 1)
        )
        for permit in older:
            if permit.status == "issued" and permit.expires_at + RENEWAL_GRACE >= now:
                bind.execute(
                    _certificates.update()
                    .where(c.serial == permit.serial)
                    .values(
                        status="superseded", superseded_by=newest.serial, superseded_at=now, version=c.version + 1
                    )
                )


def downgrade() -> None:
    with op.batch_alter_table("audit_person_searches", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_person_searches_auditor_searched_at")
    op.drop_table("audit_person_searches")
    with op.batch_alter_table("certificates", schema=None) as batch_op:  # nothing refers to certificates
        batch_op.drop_constraint(batch_op.f("uq_certificates_current_key"), type_="unique")
        batch_op.drop_column("current_key")
    # Not in batch mode: SQLite (3.35 and later) drops a plain column in place, where rebuilding the
    # applications table would trip the foreign keys that point at it.
    op.drop_column("audit_events", "actor_id_hash")
    op.drop_column("applications", "filed_by_id_hash")
