"""Reading, downloading and publicly verifying certificates."""

from __future__ import annotations

import asyncio
import hashlib
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.audit.context import RequestContext
from app.auth.access import may_see_subject
from app.auth.principal import Principal
from app.certificates import repository
from app.certificates.codes import normalize_code
from app.certificates.errors import CertificateNotFound
from app.certificates.models import Certificate
from app.certificates.pdf_inspection import inspect_pdf
from app.certificates.schemas import PdfVerificationOut
from app.certificates.signing import PdfSigner
from app.certificates.status import public_status
from app.identity.subjects import SubjectHasher


def _about(
    ctx: RequestContext, certificate: Certificate | repository.VerificationView | repository.DownloadView
) -> None:
    ctx.about(resource_type="certificate", resource_id=certificate.serial, application_id=certificate.application_id)
    ctx.subject_hash = certificate.holder_id_hash
    ctx.subject_masked = certificate.holder_id_masked


async def visible(
    *, session: AsyncSession, hasher: SubjectHasher, principal: Principal, serial: str, ctx: RequestContext
) -> Certificate:
    return _shown_to(await repository.by_serial(session, serial), hasher=hasher, principal=principal, ctx=ctx)


async def downloadable(
    *, connection: AsyncConnection, hasher: SubjectHasher, principal: Principal, serial: str, ctx: RequestContext
) -> repository.DownloadView:
    """As `visible`, for the download: one statement on an AUTOCOMMIT connection, no mapped object."""
    found = await repository.download_by_serial(connection, serial)
    return _shown_to(found, hasher=hasher, principal=principal, ctx=ctx)


_Found = TypeVar("_Found", Certificate, repository.DownloadView)


def _shown_to(found: _Found | None, *, hasher: SubjectHasher, principal: Principal, ctx: RequestContext) -> _Found:
    """What was read, if this caller may see it; someone else's answers the same 404 as none."""
    if found is None or not may_see_subject(principal, found.holder_id_hash, hasher):
        raise CertificateNotFound()
    _about(ctx, found)
    return found


async def by_code(connection: AsyncConnection, code: str, *, ctx: RequestContext) -> repository.VerificationView:
    normalized = normalize_code(code)
    certificate = await repository.verification_by_code(connection, normalized) if normalized else None
    if certificate is None:
        raise CertificateNotFound()
    _about(ctx, certificate)
    return certificate


async def verify_pdf(
    *, session: AsyncSession, signer: PdfSigner, pdf: bytes, ctx: RequestContext
) -> PdfVerificationOut:
    report = await asyncio.to_thread(inspect_pdf, pdf, trust_roots=signer.trust_roots)
    # On record means these exact bytes were issued; a valid signature on other bytes (a leaked key)
    # must not borrow a real certificate's status.
    record = await repository.by_sha256(session, hashlib.sha256(pdf).hexdigest())
    if record is not None:
        _about(ctx, record)
    return PdfVerificationOut(
        signature_intact=report.signature_intact,
        on_record=record is not None,
        serial=record.serial if record else (report.serial if report.authentic else None),
        status=public_status(record) if record else None,
    )
