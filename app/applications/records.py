"""The applicant's own certificates, as the catalogue's services read them (app/catalogue/records.py)."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalogue.records import HeldCertificate
from app.certificates import repository
from app.certificates.models import Certificate
from app.clock import SHANGHAI


def as_held(certificate: Certificate) -> HeldCertificate:
    """A certificate as the catalogue's services see it."""
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

    Reads in the unit of work's session. A service may look up its records while its agency calls are in
    flight, concurrently: one session runs one statement at a time, so the lookups take turns."""

    def __init__(self, session: AsyncSession, *, holder_id_hash: str) -> None:
        self._session = session
        self._holder = holder_id_hash
        self._turn = asyncio.Lock()

    async def certificate(self, serial: str) -> HeldCertificate | None:
        async with self._turn:
            found = await repository.held_by(self._session, self._holder, serial=serial)
        return as_held(found) if found is not None else None

    async def certificates(self, services: frozenset[str]) -> list[HeldCertificate]:
        async with self._turn:
            found = await repository.all_held_by(self._session, self._holder, services=services)
        return [as_held(c) for c in found]
