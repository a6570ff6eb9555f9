from __future__ import annotations

from datetime import UTC, datetime

from app.certificates.models import Certificate

PUBLIC_STATUSES = ("valid", "revoked", "expired", "superseded")


def public_status(certificate: Certificate, *, now: datetime | None = None) -> str:
    """valid | revoked | expired | superseded. What was done to a certificate (revoked, replaced by a
    re-issue) says more than the calendar, so it wins over expiry."""
    if certificate.status in ("revoked", "superseded"):
        return certificate.status
    if (now or datetime.now(UTC)) > certificate.expires_at:
        return "expired"
    return "valid"
