"""The applicant's own certificates, as the catalogue's services read them (app/services/records.py)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.certificates import repository
from app.certificates.models import Certificate
from app.clock import SHANGHAI
from app.services.records import HeldCertificate


def _held(certificate: Certificate) -> HeldCertificate:
    return HeldCertificate(
        serial=certificate.serial,
        service=certificate.service,
        status=certificate.status,
        expires_on=certificate.expires_at.astimezone(SHANGHAI).date(),
        facts={str(label): str(value) for label, value in certificate.facts},
        pdf_sha256=certificate.pdf_sha256,
    )


class ApplicantCertificates:
    """Scoped to one holder (by the keyed hash of their id number): someone else's serial reads as none.

    Each lookup uses its own short session: a service reads its records while agency calls are in
    flight, and the filing's session must hold no connection while the agencies answer."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, holder_id_hash: str) -> None:
        self._sessions = sessions
        self._holder = holder_id_hash

    async def certificate(self, serial: str) -> HeldCertificate | None:
        async with self._sessions() as session:
            found = await repository.held_by(session, self._holder, serial=serial)
            return _held(found) if found is not None else None

    async def certificates(self, services: frozenset[str]) -> list[HeldCertificate]:
        async with self._sessions() as session:
            return [_held(c) for c in await repository.all_held_by(session, self._holder, services=services)]
