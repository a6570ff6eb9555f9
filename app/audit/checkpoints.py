"""Signed checkpoints: the chain head, signed with the service's signing key, so that an export can be
verified offline by someone who trusts only our certificate (scripts/verify_audit_export.py)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Protocol

from app.audit import repository
from app.audit.models import AuditCheckpoint
from app.audit.sealing import seal_all
from app.db.uow import UnitOfWorkFactory


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


async def make_checkpoint(*, uow: UnitOfWorkFactory, signer: CheckpointSigner) -> AuditCheckpoint | None:
    """Sign the current head unless the latest checkpoint already covers it."""
    await seal_all(uow.sessionmaker)
    async with uow() as work:
        session = work.session
        head = await repository.head(session)
        latest = await repository.latest_checkpoint(session)
        if head is None or (latest is not None and latest.seq == head[0]):
            return None
        seq, head_hash = head
        signed_at = datetime.now(UTC).replace(microsecond=0)
        checkpoint = AuditCheckpoint(
            seq=seq,
            head_hash=head_hash,
            signed_at=signed_at,
            signature=base64.b64encode(signer.sign_bytes(checkpoint_message(seq, head_hash, signed_at))).decode(),
            certificate_pem=signer.certificate_pem,
        )
        session.add(checkpoint)
        await work.commit()
        return checkpoint
