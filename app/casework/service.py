"""Revoking a certificate issued in error, and re-issuing (补发) a lost or damaged one.

A re-issue is a fresh PDF of the same certificate with a new serial and code: the old certificate becomes
`superseded` and points at the new one, so whoever verifies the lost copy learns that it was replaced (and
by which serial), while the holder's new copy verifies as valid. Content and expiry are the old
certificate's; only the serial, code and issue date are new."""

from __future__ import annotations

from app.applications import repository as applications
from app.applications import workflow
from app.applications.announcements import tell_certificate_changed
from app.applications.models import Application
from app.audit.context import RequestContext
from app.auth.principal import Principal
from app.auth.separation import ensure_not_own_case
from app.certificates import lifecycle
from app.certificates.errors import CertificateNotFound
from app.certificates.issuing import CertificateIssuer
from app.certificates.models import Certificate
from app.certificates.revocation import ReasonCode
from app.certificates.service import visible
from app.clock import Clock
from app.db.uow import UnitOfWork
from app.errors import ConcurrentChange
from app.identity.subjects import SubjectHasher


async def _case_of(work: UnitOfWork, certificate: Certificate) -> Application:
    case = await applications.get(work.session, certificate.application_id)
    if case is None:  # a certificate always has its application (foreign key); be explicit anyway
        raise CertificateNotFound()
    return case


async def revoke(
    *,
    work: UnitOfWork,
    hasher: SubjectHasher,
    clock: Clock,
    ctx: RequestContext,
    principal: Principal,
    serial: str,
    reason: str,
    reason_code: ReasonCode = ReasonCode.OTHER,
) -> Certificate:
    certificate = await visible(session=work.session, hasher=hasher, principal=principal, serial=serial, ctx=ctx)
    case = await _case_of(work, certificate)
    ensure_not_own_case(principal, case, hasher=hasher)
    at = clock()
    lifecycle.mark_revoked(
        certificate, at=at, by=f"{principal.sub}@{principal.station_id}", reason=reason, reason_code=reason_code
    )
    tell_certificate_changed(work.session, certificate, case, "revoked", at=at)
    await work.commit(stale=ConcurrentChange)
    return certificate


async def reissue(
    *,
    work: UnitOfWork,
    hasher: SubjectHasher,
    issuer: CertificateIssuer,
    clock: Clock,
    ctx: RequestContext,
    principal: Principal,
    serial: str,
) -> Certificate:
    old = await visible(session=work.session, hasher=hasher, principal=principal, serial=serial, ctx=ctx)
    now = clock()
    lifecycle.refuse_unless_reissuable(old, now=now)
    application = await _case_of(work, old)
    new = await workflow.issue(work=work, issuer=issuer, application=application, now=now, replaces=old)
    await work.commit(stale=ConcurrentChange)
    return new
