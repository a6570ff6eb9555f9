"""Signed checkpoints: the chain head, signed with the service's signing key, so that an export can be
verified offline by someone who trusts only our certificate (`cityservices verify-export`).

A checkpoint vouches for the whole chain up to its head, so one is never signed over a chain that is
not the one the earlier checkpoints signed: the worker first recomputes the chain from the furthest
checkpoint (its own event still the signed one, then every event after it; each earlier checkpoint was
held the same way when it was signed); on any break (events deleted, rewritten, or cut and sealed
again) it refuses, logs an error and raises `cityservices_audit_chain_broken`. Otherwise the next
checkpoint would sign the shorter chain and launder the deletion. Each signed checkpoint is also
appended to the anchor (AUDIT_ANCHOR_URL), outside the reach of the service's database role.
"""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.anchors import Anchor, CheckpointRecord
from app.audit.models import AuditCheckpoint
from app.audit.sealing import seal_all
from app.audit.walks import ChainCheck, Scope, walk_all, walk_tail
from app.db.uow import UnitOfWorkFactory
from app.observability import AUDIT_CHAIN_BROKEN

logger = logging.getLogger("cityservices.audit")


class CheckpointSigner(Protocol):
    """The service's signing key, as the certificates package holds it (app.certificates.signing.PdfSigner)."""

    @property
    def certificate_pem(self) -> str: ...

    def sign_bytes(self, data: bytes) -> bytes: ...

    def verify_bytes(self, data: bytes, signature: bytes) -> bool: ...


def checkpoint_message(seq: int, head_hash: str, signed_at: datetime) -> bytes:
    return f"cityservices-audit-checkpoint\n{seq}\n{head_hash}\n{signed_at.isoformat()}".encode()


def checkpoint_signature_ok(signer: CheckpointSigner, checkpoint: AuditCheckpoint) -> bool:
    """Signed by our signing key over exactly this position, hash and time."""
    try:
        signature = base64.b64decode(checkpoint.signature, validate=True)
    except ValueError:
        return False
    message = checkpoint_message(checkpoint.seq, checkpoint.head_hash, checkpoint.signed_at)
    return signer.verify_bytes(message, signature)


async def check_chain(
    sessionmaker: async_sessionmaker[AsyncSession], signer: CheckpointSigner, *, scope: Scope = "all"
) -> ChainCheck:
    """Seal what is committed, then walk the chain: its tail from the furthest signed checkpoint, or the
    whole of it against every checkpoint (`app/audit/walks.py`)."""
    await seal_all(sessionmaker)
    walk = walk_tail if scope == "tail" else walk_all
    return await walk(sessionmaker, lambda checkpoint: checkpoint_signature_ok(signer, checkpoint))


async def make_checkpoint(
    *, uow: UnitOfWorkFactory, signer: CheckpointSigner, anchor: Anchor | None = None
) -> AuditCheckpoint | None:
    """Sign the current head, unless the furthest checkpoint already covers it or the chain since then
    contradicts it (then refuse: None, an error logged, the gauge raised). The tail is enough: each
    earlier checkpoint was signed only over a chain that reproduced the one before it, and walking the
    whole log every few minutes would not scale (docs/scaling.md, "The request log by month")."""
    check = await check_chain(uow.sessionmaker, signer, scope="tail")
    if not check.intact:
        AUDIT_CHAIN_BROKEN.set(1)
        logger.error(
            "audit checkpoint refused: the request log does not reproduce the signed checkpoints "
            "(%s at event %s, %d events checked against %d checkpoints); not signing over it",
            check.state.break_reason,
            check.state.first_bad,
            check.state.checked,
            check.checkpoints,
        )
        return None
    AUDIT_CHAIN_BROKEN.set(0)
    head_seq, head_hash = check.state.head_seq, check.state.prev_hash
    if head_seq == 0 or (check.latest is not None and check.latest.seq == head_seq):
        return None
    async with uow() as work:
        signed_at = datetime.now(UTC).replace(microsecond=0)
        checkpoint = AuditCheckpoint(
            seq=head_seq,
            head_hash=head_hash,
            signed_at=signed_at,
            signature=base64.b64encode(signer.sign_bytes(checkpoint_message(head_seq, head_hash, signed_at))).decode(),
            certificate_pem=signer.certificate_pem,
        )
        work.session.add(checkpoint)
        await work.commit()
    if anchor is not None:
        await anchor.append_logged(CheckpointRecord.of(checkpoint))
    return checkpoint
