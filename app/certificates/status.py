from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

from app.certificates.models import Certificate, CertificateStatus
from app.certificates.repository import VerificationView
from app.certificates.schemas import PublicStatus

PUBLIC_STATUSES: tuple[str, ...] = get_args(PublicStatus)


def public_status(certificate: Certificate | VerificationView, *, now: datetime | None = None) -> PublicStatus:
    """valid | revoked | expired | superseded. What was done to a certificate (revoked, replaced by a
    re-issue) says more than the calendar, so it wins over expiry."""
    return public_status_of(certificate.status, certificate.expires_at, now=now)


def public_status_of(status: CertificateStatus, expires_at: datetime, *, now: datetime | None = None) -> PublicStatus:
    if status is CertificateStatus.revoked:
        return "revoked"
    if status is CertificateStatus.superseded:
        return "superseded"
    if (now or datetime.now(UTC)) > expires_at:
        return "expired"
    return "valid"
