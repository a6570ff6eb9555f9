from __future__ import annotations

from datetime import UTC, datetime

from app.certificates.models import Certificate


def public_status(certificate: Certificate, *, now: datetime | None = None) -> str:
    """valid | revoked | expired: revocation wins over expiry."""
    if certificate.status == "revoked":
        return "revoked"
    if (now or datetime.now(UTC)) > certificate.expires_at:
        return "expired"
    return "valid"
