"""A certificate's record as its holder and staff see it."""

from __future__ import annotations

from app.auth.principal import Principal, Role
from app.certificates.codes import display_code
from app.certificates.issuing import CertificateIssuer
from app.certificates.models import Certificate
from app.certificates.repository import VerificationView
from app.certificates.revocation import ReasonCode
from app.certificates.schemas import CertificateOut
from app.certificates.status import public_status


def reason_code_of(certificate: Certificate | VerificationView) -> ReasonCode | None:
    return ReasonCode(certificate.revocation_reason_code) if certificate.revocation_reason_code else None


def certificate_out(issuer: CertificateIssuer, certificate: Certificate, principal: Principal) -> CertificateOut:
    # The clerk's free-text revocation reason is staff-only: the holder sees the code.
    staff = principal.role in (Role.clerk, Role.auditor)
    return CertificateOut(
        serial=certificate.serial,
        service=certificate.service,
        application_id=certificate.application_id,
        verification_code=display_code(certificate.verification_code),
        verify_url=issuer.verify_url(certificate.verification_code),
        holder_name=certificate.holder_name,
        id_number_masked=certificate.holder_id_masked,
        facts=[(str(a), str(b)) for a, b in certificate.facts],
        issued_at=certificate.issued_at,
        expires_at=certificate.expires_at,
        status=public_status(certificate),
        revoked_at=certificate.revoked_at,
        revocation_reason_code=reason_code_of(certificate),
        revoked_reason=certificate.revoked_reason if staff else None,
        superseded_by=certificate.superseded_by,
        replaces=certificate.replaces,
        sha256=certificate.pdf_sha256,
        size=certificate.pdf_size,
    )
