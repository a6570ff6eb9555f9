"""Shares: the holder makes, lists and revokes them; anyone with a link uses it.

A link's token is 256 random bits (`secrets.token_urlsafe(32)`), shown once in the creation's answer and
stored only as its SHA-256. A use shows the live status of the certificate and only the fields the holder
chose; it is counted, lands in the holder's data-access list as `share_use` with the recipient's name, and,
if the holder asked, becomes a notification. A revoked or expired link answers 410 and counts nothing.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.applications import repository as applications
from app.audit.context import RequestContext
from app.auth.principal import Principal
from app.certificates import repository as certificates
from app.certificates.fields import FIELDS, certificate_fields, refuse_unless_valid
from app.certificates.models import Certificate
from app.certificates.service import visible
from app.certificates.status import public_status
from app.clock import Clock
from app.db.uow import UnitOfWork
from app.errors import ConcurrentChange
from app.identity.subjects import SubjectHasher
from app.notifications import outbox
from app.notifications.outbox import Announcement
from app.sharing import repository
from app.sharing.errors import PdfNotShared, ShareGone, ShareNotFound
from app.sharing.models import Share

TOKEN_BYTES = 32  # 256 bits of entropy; the contract asks for at least 128
SHARE_USED = "share.used"  # the notification's type
ShareState = Literal["active", "revoked", "expired"]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def state_of(share: Share, *, now: datetime) -> ShareState:
    if share.revoked_at is not None:
        return "revoked"
    return "expired" if now >= share.expires_at else "active"


async def create(
    *,
    work: UnitOfWork,
    hasher: SubjectHasher,
    clock: Clock,
    ctx: RequestContext,
    principal: Principal,
    serial: str,
    recipient: str,
    expires_in_days: int,
    fields: Sequence[str] | None,
    notify: bool,
) -> tuple[Share, str]:
    """The new share and its token (the only time the token exists outside the recipient's link)."""
    certificate = await visible(session=work.session, hasher=hasher, principal=principal, serial=serial, ctx=ctx)
    now = clock()
    refuse_unless_valid(certificate, now=now)
    chosen = set(FIELDS if fields is None else fields)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    share = Share(
        id=str(uuid.uuid4()),
        certificate_serial=certificate.serial,
        token_sha256=token_hash(token),
        recipient=recipient,
        fields=[f for f in FIELDS if f in chosen],  # in the one canonical order
        notify=notify,
        owner_sub=principal.sub,
        owner_id_hash=certificate.holder_id_hash,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days),
        uses=0,
    )
    work.session.add(share)
    ctx.details["share_id"] = share.id
    await work.commit(stale=ConcurrentChange)
    return share, token


async def of_certificate(
    *,
    session: AsyncSession,
    hasher: SubjectHasher,
    ctx: RequestContext,
    principal: Principal,
    serial: str,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Share]:
    certificate = await visible(session=session, hasher=hasher, principal=principal, serial=serial, ctx=ctx)
    return await repository.page_of_certificate(session, certificate.serial, after=after, limit=limit)


async def revoke(
    *,
    work: UnitOfWork,
    hasher: SubjectHasher,
    clock: Clock,
    ctx: RequestContext,
    principal: Principal,
    serial: str,
    share_id: str,
) -> None:
    """Revoked from now on; revoking again changes nothing (the first revocation's time stays)."""
    certificate = await visible(session=work.session, hasher=hasher, principal=principal, serial=serial, ctx=ctx)
    share = await repository.of_certificate(work.session, certificate.serial, share_id)
    if share is None:
        raise ShareNotFound()
    ctx.details["share_id"] = share.id
    if share.revoked_at is None:
        share.revoked_at = clock()
    await work.commit(stale=ConcurrentChange)


@dataclass(frozen=True)
class SharedView:
    """What a recipient sees: the live status, the chosen fields, and whether the PDF is theirs to fetch."""

    share: Share
    certificate: Certificate
    status: str
    fields: dict[str, Any]

    @property
    def pdf_shared(self) -> bool:
        return set(self.share.fields) >= set(FIELDS)


async def use(*, work: UnitOfWork, clock: Clock, ctx: RequestContext, token: str, pdf: bool = False) -> SharedView:
    """One use of a link: checked, counted and recorded in one transaction."""
    session = work.session
    share = await repository.by_token_hash(session, token_hash(token)) if len(token) <= 128 else None
    if share is None:
        raise ShareNotFound()
    now = clock()
    if state_of(share, now=now) != "active":
        raise ShareGone()
    certificate = await certificates.by_serial(session, share.certificate_serial, with_pdf=pdf)
    assert certificate is not None  # a share always has its certificate (foreign key)
    view = SharedView(
        share=share,
        certificate=certificate,
        status=public_status(certificate, now=now),
        fields=await _chosen_fields(session, certificate, share.fields),
    )
    if pdf and not view.pdf_shared:
        raise PdfNotShared()
    # Whose data this was, and for whom: the holder's data-access list shows it as share_use.
    ctx.about(resource_type="certificate", resource_id=certificate.serial, application_id=certificate.application_id)
    ctx.subject_hash, ctx.subject_masked = certificate.holder_id_hash, certificate.holder_id_masked
    ctx.details.update({"share_id": share.id, "recipient": share.recipient})
    await repository.count_use(session, share.id, at=now)
    if share.notify:
        outbox.add(session, _used_event(share, certificate, view.status, at=now))
    await work.commit(stale=ConcurrentChange)
    return view


async def _chosen_fields(session: AsyncSession, certificate: Certificate, chosen: list[str]) -> dict[str, Any]:
    # The full id number is read from the application only when the holder shared it.
    id_number = ""
    if "id_number" in chosen:
        application = await applications.get(session, certificate.application_id)
        id_number = application.applicant_id_number if application else ""
    every = certificate_fields(certificate, id_number=id_number)
    return {name: every[name] for name in FIELDS if name in chosen}


def _used_event(share: Share, certificate: Certificate, status: str, *, at: datetime) -> Announcement:
    """`share.used` to the holder who asked to be told: which certificate; the recipient is in their shares."""
    return Announcement(
        type=SHARE_USED,
        occurred_at=at,
        status=status,
        subject=share.owner_sub,
        subject_hash=share.owner_id_hash,
        application_id=certificate.application_id,
        service=certificate.service,
        certificate_serial=certificate.serial,
    )
