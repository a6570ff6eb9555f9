"""What a certificate states, field by field: the unit of consent for a share (a recipient sees the fields
the holder chose) and of selective disclosure in a wallet credential (one disclosable claim per field).

One list for both, so that what a holder can show a recipient and what a wallet can disclose never drift
apart. `id_number` is the holder's full identity number, as the PDF prints it; `id_number_masked` is the
form public surfaces use. Whoever shares or discloses picks one, the other or neither.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from app.certificates.errors import CertificateNotInForce
from app.certificates.models import Certificate
from app.certificates.status import public_status

Field = Literal[
    "service", "serial", "holder_name", "id_number_masked", "id_number", "issued_at", "expires_at", "details"
]
FIELDS: tuple[Field, ...] = get_args(Field)


def certificate_fields(certificate: Certificate, *, id_number: str) -> dict[str, Any]:
    """Every field's value, JSON-ready. `details` holds what the document states beyond the holder (the
    address lived at, the purpose), keyed by the label the PDF prints."""
    return {
        "service": certificate.service,
        "serial": certificate.serial,
        "holder_name": certificate.holder_name,
        "id_number_masked": certificate.holder_id_masked,
        "id_number": id_number,
        "issued_at": certificate.issued_at.isoformat(),
        "expires_at": certificate.expires_at.isoformat(),
        "details": {str(label): str(value) for label, value in certificate.facts},
    }


def refuse_unless_valid(certificate: Certificate, *, now: datetime) -> None:
    """A new share or wallet credential only of a certificate in force: one of a revoked, replaced or
    expired certificate would hand out something that cannot be relied on."""
    status = public_status(certificate, now=now)
    if status != "valid":
        raise CertificateNotInForce(status)
