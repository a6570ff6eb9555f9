"""What may happen to a certificate next: the checks and state changes that need nothing but the
certificate itself. The case around it (who may do it, who is told) is `app.casework`'s and the
applications workflow's."""

from __future__ import annotations

from datetime import datetime

from app.certificates.errors import AlreadyRevoked, AlreadySuperseded, CertificateExpired
from app.certificates.models import Certificate, CertificateStatus
from app.certificates.revocation import ReasonCode
from app.certificates.status import public_status


def refuse_unless_current(old: Certificate) -> None:
    """A certificate replaced or revoked since the decision relied on it cannot be replaced again: two
    successors of one permit (a renewal and a move approved at once) would both look valid."""
    if old.status == CertificateStatus.revoked:
        raise AlreadyRevoked()
    if old.status == CertificateStatus.superseded:
        raise AlreadySuperseded(old.superseded_by)


def refuse_unless_reissuable(certificate: Certificate, *, now: datetime) -> None:
    status = public_status(certificate, now=now)
    if status == "revoked":
        raise AlreadyRevoked()
    if status == "superseded":
        raise AlreadySuperseded(certificate.superseded_by)
    if status == "expired":
        raise CertificateExpired()


def mark_superseded(old: Certificate, new: Certificate, *, at: datetime) -> None:
    old.status = CertificateStatus.superseded
    old.superseded_by = new.serial
    old.superseded_at = at


def mark_revoked(certificate: Certificate, *, at: datetime, by: str, reason: str, reason_code: ReasonCode) -> None:
    refuse_unless_current(certificate)
    certificate.status = CertificateStatus.revoked
    certificate.revoked_at = at
    certificate.revocation_reason_code = reason_code.value
    certificate.revoked_reason = reason
    certificate.revoked_by = by
