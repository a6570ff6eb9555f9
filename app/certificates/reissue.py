"""Re-issue (补发, CONTRACT 10.3): a fresh PDF of the same certificate, with a new serial and code.

The old certificate becomes `superseded` and points at the new one, so whoever verifies the lost copy
learns that it was replaced (and by which serial), while the holder's new copy verifies as valid.
Content and expiry are the old certificate's; only the serial, code and issue date are new.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.api.context import RequestContext
from app.applications import repository as applications
from app.applications import workflow
from app.audit.recorder import commit
from app.auth.principal import Principal
from app.certificates.errors import AlreadyRevoked, AlreadySuperseded, CertificateExpired, CertificateNotFound
from app.certificates.models import Certificate
from app.certificates.service import visible
from app.certificates.status import public_status
from app.certificates.supersession import supersede
from app.runtime import Runtime


def refuse_unless_reissuable(certificate: Certificate, *, now: datetime) -> None:
    status = public_status(certificate, now=now)
    if status == "revoked":
        raise AlreadyRevoked()
    if status == "superseded":
        raise AlreadySuperseded(certificate.superseded_by)
    if status == "expired":
        raise CertificateExpired()


async def reissue(
    runtime: Runtime, session: AsyncSession, *, ctx: RequestContext, principal: Principal, serial: str
) -> Certificate:
    old = await visible(runtime, session, principal, serial, ctx=ctx)
    ctx.action = "certificate.reissue"
    now = datetime.now(UTC)
    refuse_unless_reissuable(old, now=now)
    application = await applications.get(session, old.application_id)
    if application is None:  # a certificate always has its application (foreign key); be explicit anyway
        raise CertificateNotFound()
    new = await workflow.issue(runtime, session, application, now=now, replaces=old)
    supersede(session, old, new, application=application, at=now)
    runtime.audit.record_request(session, ctx, status=201)
    await commit(session)
    return new
