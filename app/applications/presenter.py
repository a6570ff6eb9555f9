from __future__ import annotations

from app.applications.models import Application
from app.applications.schemas import ApplicationOut
from app.certificates.codes import display_code
from app.certificates.models import Certificate
from app.certificates.status import public_status
from app.identity.id_number import mask


def present(application: Application, certificate: Certificate | None) -> ApplicationOut:
    return ApplicationOut.model_validate(
        {
            "id": application.id,
            "service": application.service,
            "status": application.status,
            "channel": application.channel,
            "station_id": application.station_id,
            "applicant": {
                "name": application.applicant_name,
                "id_number_masked": mask(application.applicant_id_number),
            },
            "details": application.details,
            "checks": application.checks,
            "reasons": application.reasons,
            "decision": application.decision,
            "certificate": None
            if certificate is None
            else {
                "serial": certificate.serial,
                "verification_code": display_code(certificate.verification_code),
                "issued_at": certificate.issued_at,
                "expires_at": certificate.expires_at,
                "status": public_status(certificate),
            },
            "created_at": application.created_at,
            "updated_at": application.updated_at,
            "decided_at": application.decided_at,
        }
    )
