"""Issuing a certificate: number it, render and sign its PDF off the event loop, keep the bytes forever."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalogue.base import Applicant, DocumentContent
from app.certificates import repository
from app.certificates.codes import display_code, new_verification_code, serial
from app.certificates.models import Certificate, CertificateStatus
from app.certificates.pdf_pool import PdfFactory
from app.certificates.rendering import CertificateDocument
from app.clock import SHANGHAI
from app.identity.id_number import mask
from app.storage import BlobStore, DatabaseStore

ISSUING_AUTHORITY = "上海市公安局"


class CertificateIssuer:
    def __init__(self, *, pdfs: PdfFactory, public_base_url: str, storage: BlobStore | None = None) -> None:
        self._storage = storage or DatabaseStore()
        self.pdfs = pdfs
        self._public_base_url = public_base_url.rstrip("/")

    def verify_url(self, code: str) -> str:
        return f"{self._public_base_url}/verify/{display_code(code)}"

    async def issue(
        self,
        *,
        session: AsyncSession,
        application_id: str,
        service_code: str,
        serial_prefix: str,
        expires_on: date,
        applicant: Applicant,
        content: DocumentContent,
        holder_id_hash: str,
        now: datetime,
        replaces: Certificate | None = None,
        current_key: str | None = None,
    ) -> Certificate:
        """Number, render, sign and add a certificate to the session, valid through `expires_on` (the
        service computes it). With `replaces` it is a re-issue (补发) of that certificate: the caller
        passes the same content and expiry; the serial, code and issue date are new. `current_key` marks
        it the newest of a family its holder has one of at a time (the caller clears the previous one)."""
        local_day = now.astimezone(SHANGHAI).date()
        number = await repository.next_number(session)  # inside the caller's transaction
        cert_serial = serial(serial_prefix, local_day.year, number)
        code = new_verification_code()
        doc = CertificateDocument(
            service=service_code,
            title=content.title,
            holder_name=applicant.name,
            # The holder's own proof (docs/api.md#certificates-fit-to-print): the full number, as on paper
            # certificates.
            holder_id_number=applicant.id_number,
            facts=content.facts,
            body=content.body,
            issued_on=local_day,
            expires_on=expires_on,
            serial=cert_serial,
            verification_code=display_code(code),
            verify_url=self.verify_url(code),
            issuing_authority=ISSUING_AUTHORITY,
            replaces=replaces.serial if replaces is not None else None,
        )
        pdf = await self.pdfs.produce(doc)
        # Stored before the record commits: a committed certificate always has its document.
        pdf_sha256, pdf_inline = await self._storage.save(pdf)
        certificate = Certificate(
            serial=cert_serial,
            application_id=application_id,
            service=service_code,
            verification_code=code,
            holder_name=applicant.name,
            holder_id_hash=holder_id_hash,
            holder_id_masked=mask(applicant.id_number),
            facts=[list(f) for f in content.facts],
            issued_at=now,
            # Valid through the last day: expiry at the end of that day, Shanghai time.
            expires_at=datetime.combine(expires_on, datetime.max.time(), SHANGHAI).replace(microsecond=0),
            status=CertificateStatus.issued,
            pdf_sha256=pdf_sha256,
            pdf_size=len(pdf),
            pdf=pdf_inline,
            replaces=replaces.serial if replaces is not None else None,
            current_key=current_key,
        )
        session.add(certificate)
        return certificate
