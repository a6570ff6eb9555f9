"""Reading, downloading, revoking and publicly verifying certificates."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.api.context import RequestContext
from app.applications import repository as applications
from app.applications.models import Application
from app.audit.recorder import commit
from app.auth.access import may_see_subject
from app.auth.principal import Principal
from app.auth.separation import ensure_not_own_case
from app.certificates import repository
from app.certificates.codes import normalize_code
from app.certificates.errors import AlreadyRevoked, AlreadySuperseded, CertificateNotFound
from app.certificates.models import Certificate
from app.certificates.pdf_inspection import inspect_pdf
from app.certificates.revocation import ReasonCode
from app.certificates.schemas import PdfVerificationOut
from app.certificates.status import public_status
from app.notifications.outbox import emit
from app.runtime import Runtime


def _about(ctx: RequestContext, certificate: Certificate) -> None:
    ctx.about(resource_type="certificate", resource_id=certificate.serial, application_id=certificate.application_id)
    ctx.subject_hash = certificate.holder_id_hash
    ctx.subject_masked = certificate.holder_id_masked


async def visible(
    runtime: Runtime, session: AsyncSession, principal: Principal, serial: str, *, ctx: RequestContext,
    with_pdf: bool = False,
) -> Certificate:
    certificate = await repository.by_serial(session, serial, with_pdf=with_pdf)
    if certificate is None or not may_see_subject(principal, certificate.holder_id_hash, runtime.audit.hasher):
        raise CertificateNotFound()
    _about(ctx, certificate)
    return certificate


async def revoke(
    runtime: Runtime, session: AsyncSession, *, ctx: RequestContext, principal: Principal, serial: str, reason: str,
    reason_code: ReasonCode = ReasonCode.OTHER,
) -> Certificate:
    certificate = await visible(runtime, session, principal, serial, ctx=ctx)
    ctx.action = "certificate.revoke"
    case = await applications.get(session, certificate.application_id)
    if case is not None:
        ensure_not_own_case(principal, case, hasher=runtime.audit.hasher)
    if certificate.status == "revoked":
        raise AlreadyRevoked()
    if certificate.status == "superseded":
        raise AlreadySuperseded(certificate.superseded_by)
    certificate.status = "revoked"
    certificate.revoked_at = datetime.now(UTC)
    certificate.revocation_reason_code = reason_code.value
    certificate.revoked_reason = reason
    certificate.revoked_by = f"{principal.sub}@{principal.station_id}"
    application = await session.get(Application, certificate.application_id)
    assert application is not None
    emit(session, certificate=certificate, application=application, change="revoked", at=certificate.revoked_at)
    runtime.audit.record_request(session, ctx, status=200)
    await commit(session)
    return certificate


async def by_code(session: AsyncSession, code: str, *, ctx: RequestContext) -> Certificate:
    normalized = normalize_code(code)
    certificate = await repository.by_code(session, normalized) if normalized else None
    if certificate is None:
        raise CertificateNotFound()
    _about(ctx, certificate)
    ctx.action = "certificate.verify"
    return certificate


async def verify_pdf(runtime: Runtime, session: AsyncSession, pdf: bytes, *, ctx: RequestContext) -> PdfVerificationOut:
    signer = runtime.issuer.pdfs.signer
    report = await asyncio.to_thread(inspect_pdf, pdf, trust_roots=signer.trust_roots)
    # On record means these exact bytes were issued; a valid signature on other bytes (a leaked key)
    # must not borrow a real certificate's status.
    record = await repository.by_sha256(session, hashlib.sha256(pdf).hexdigest())
    ctx.action = "certificate.verify_pdf"
    if record is not None:
        _about(ctx, record)
    return PdfVerificationOut(
        signature_intact=report.signature_intact,
        on_record=record is not None,
        serial=record.serial if record else (report.serial if report.authentic else None),
        status=public_status(record) if record else None,  # type: ignore[arg-type]
    )
