"""Re-issue (补发, CONTRACT 10.3): a fresh PDF of the same certificate, with a new serial and code.

The old certificate becomes `superseded` and points at the new one, so whoever verifies the lost copy
learns that it was replaced (and by which serial), while the holder's new copy verifies as valid.
Content and expiry are the old certificate's; only the serial, code and issue date are new.
"""

from __future__ import annotations

from datetime import datetime

from app.applications import repository as applications
from app.applications import workflow
from app.applications.errors import ConcurrentChange
from app.audit.context import RequestContext
from app.auth.principal import Principal
from app.certificates.errors import AlreadyRevoked, AlreadySuperseded, CertificateExpired, CertificateNotFound
from app.certificates.issuing import CertificateIssuer
from app.certificates.models import Certificate
from app.certificates.service import visible
from app.certificates.status import public_status
from app.clock import Clock
from app.db.uow import UnitOfWork
from app.identity.subjects import SubjectHasher


def refuse_unless_reissuable(certificate: Certificate, *, now: datetime) -> None:
    status = public_status(certificate, now=now)
    if status == "revoked":
        raise AlreadyRevoked()
    if status == "superseded":
        raise AlreadySuperseded(certificate.superseded_by)
    if status == "expired":
        raise CertificateExpired()


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
    session = work.session
    old = await visible(session=session, hasher=hasher, principal=principal, serial=serial, ctx=ctx)
    now = clock()
    refuse_unless_reissuable(old, now=now)
    application = await applications.get(session, old.application_id)
    if application is None:  # a certificate always has its application (foreign key); be explicit anyway
        raise CertificateNotFound()
    new = await workflow.issue(work=work, issuer=issuer, application=application, now=now, replaces=old)
    await work.commit(stale=ConcurrentChange)
    return new
