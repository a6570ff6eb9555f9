"""Issuing a certificate: number it, render and sign its PDF off the event loop, keep the bytes forever."""

from __future__ import annotations

import asyncio
import hashlib
from concurrent.futures import Executor
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.certificates.codes import display_code, new_verification_code, serial
from app.certificates.models import Certificate, CertificateNumber
from app.certificates.rendering import CertificateDocument, CertificateRenderer
from app.certificates.signing import PdfSigner
from app.clock import SHANGHAI
from app.identity.id_number import mask
from app.services.base import Applicant, DocumentContent
from app.services.calendar import add_months

ISSUING_AUTHORITY = "上海市公安局"


class PdfFactory:
    """Renders and signs one document; CPU work, so it runs in an executor."""

    def __init__(self, *, font_file: Path | None, key_file: Path, cert_file: Path, executor: Executor) -> None:
        self.renderer = CertificateRenderer(font_file=font_file)
        self.signer = PdfSigner(key_file=key_file, cert_file=cert_file)
        self._executor = executor

    def _produce(self, doc: CertificateDocument) -> bytes:
        return self.signer.sign(self.renderer.render(doc), reason=f"{doc.title} {doc.serial}")

    async def produce(self, doc: CertificateDocument) -> bytes:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._produce, doc)


class CertificateIssuer:
    def __init__(self, *, engine: AsyncEngine, pdfs: PdfFactory, public_base_url: str) -> None:
        self._engine = engine
        self.pdfs = pdfs
        self._public_base_url = public_base_url.rstrip("/")

    async def _next_number(self) -> int:
        # Its own short transaction: the number is taken even if the issuing transaction rolls back
        # (a gap, never a duplicate).
        async with self._engine.begin() as conn:
            result = await conn.execute(
                insert(CertificateNumber).values(created_at=datetime.now(SHANGHAI)).returning(CertificateNumber.id)
            )
            return int(result.scalar_one())

    def verify_url(self, code: str) -> str:
        return f"{self._public_base_url}/verify/{display_code(code)}"

    async def issue(
        self,
        session: AsyncSession,
        *,
        application_id: str,
        service_code: str,
        serial_prefix: str,
        validity_months: int,
        applicant: Applicant,
        content: DocumentContent,
        holder_id_hash: str,
        now: datetime,
    ) -> Certificate:
        local_day = now.astimezone(SHANGHAI).date()
        expires_on = add_months(local_day, validity_months)
        number = await self._next_number()
        cert_serial = serial(serial_prefix, local_day.year, number)
        code = new_verification_code()
        doc = CertificateDocument(
            service=service_code,
            title=content.title,
            holder_name=applicant.name,
            holder_id_number_masked=mask(applicant.id_number),
            facts=content.facts,
            body=content.body,
            issued_on=local_day,
            expires_on=expires_on,
            serial=cert_serial,
            verification_code=display_code(code),
            verify_url=self.verify_url(code),
            issuing_authority=ISSUING_AUTHORITY,
        )
        pdf = await self.pdfs.produce(doc)
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
            status="issued",
            pdf_sha256=hashlib.sha256(pdf).hexdigest(),
            pdf_size=len(pdf),
            pdf=pdf,
        )
        session.add(certificate)
        return certificate
