from __future__ import annotations

from datetime import datetime
from typing import Any

from app.applications.models import Application
from app.applications.repository import ApplicationView
from app.applications.schemas import ApplicationOut
from app.catalogue.registry import get_service
from app.certificates.codes import display_code
from app.certificates.models import Certificate
from app.certificates.status import public_status, public_status_of
from app.identity.id_number import mask


def _certificate(serial: str, code: str, issued_at: datetime, expires_at: datetime, status: str) -> dict[str, Any]:
    return {
        "serial": serial,
        "verification_code": display_code(code),
        "issued_at": issued_at,
        "expires_at": expires_at,
        "status": status,
    }


def shown_details(application: Application | ApplicationView, *, reveal: bool = False) -> dict[str, Any]:
    """The details as an answer shows them: another person's id number that they name (a kinship
    certificate's relative) masked, unless `reveal` (only the detail a clerk opens, docs/api.md#a-relatives-data)."""
    service = get_service(application.service)
    fields = service.third_party_fields if service is not None and not reveal else ()
    if not any(isinstance(application.details.get(name), str) for name in fields):
        return application.details
    return {
        name: mask(value) if name in fields and isinstance(value, str) else value
        for name, value in application.details.items()
    }


def _out(
    application: Application | ApplicationView, certificate: dict[str, Any] | None, *, reveal: bool = False
) -> ApplicationOut:
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
            "details": shown_details(application, reveal=reveal),
            "checks": application.checks,
            "reasons": application.reasons,
            "decision": application.decision,
            "certificate": certificate,
            "created_at": application.created_at,
            "updated_at": application.updated_at,
            "decided_at": application.decided_at,
        }
    )


def present(application: Application, certificate: Certificate | None) -> ApplicationOut:
    return _out(
        application,
        None
        if certificate is None
        else _certificate(
            certificate.serial,
            certificate.verification_code,
            certificate.issued_at,
            certificate.expires_at,
            public_status(certificate),
        ),
    )


def present_view(view: ApplicationView, *, reveal: bool = False) -> ApplicationOut:
    """The same answer as `present`, from the one-query read (`repository.view`); `reveal` for a clerk."""
    certificate = None
    if view.certificate_serial is not None:
        assert view.certificate_code is not None and view.certificate_issued_at is not None
        assert view.certificate_expires_at is not None and view.certificate_status is not None
        certificate = _certificate(
            view.certificate_serial,
            view.certificate_code,
            view.certificate_issued_at,
            view.certificate_expires_at,
            public_status_of(view.certificate_status, view.certificate_expires_at),
        )
    return _out(view, certificate, reveal=reveal)


def to_json(body: ApplicationOut) -> bytes:
    """The answer's bytes, serialised once: the `ETag` is their hash and the response sends them as they are
    (the same bytes FastAPI's `response_model` serialisation would produce, without validating again)."""
    return ApplicationOut.__pydantic_serializer__.to_json(body)
