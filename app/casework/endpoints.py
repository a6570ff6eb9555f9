"""Revoke and re-issue: the certificate routes that change the case around the certificate."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import Clerk, CollaboratorsDep, ContextDep, Downloader, UnitOfWorkDep, audit_action
from app.auth.principal import Role
from app.auth.separation import SeparationOfDuties, StaffIdentityRequired
from app.casework import service
from app.certificates.errors import AlreadyRevoked, AlreadySuperseded, CertificateExpired, CertificateNotFound
from app.certificates.presenter import certificate_out
from app.certificates.schemas import CertificateOut, RevokeIn
from app.clock import utc_now
from app.errors import (
    JSON_BODY_ERRORS,
    ConcurrentChange,
    Forbidden,
    TooManyRequests,
    Unauthenticated,
    problem_responses,
)

router = APIRouter(prefix="/v1", responses=problem_responses(Unauthenticated, Forbidden, StaffIdentityRequired))


@router.post(
    "/certificates/{serial}/revoke",
    operation_id="revoke_certificate",
    dependencies=[audit_action("certificate.revoke")],
    summary="Revoke a certificate issued in error",
    description="`reason_code` (default `OTHER`) is public: verification shows it and the date. `reason` is the "
    "clerk's own words, kept for staff and never shown publicly.",
    tags=["window"],
    response_model=CertificateOut,
    responses=problem_responses(
        CertificateNotFound, AlreadyRevoked, AlreadySuperseded, SeparationOfDuties, ConcurrentChange, *JSON_BODY_ERRORS
    ),
)
async def revoke_certificate(
    serial: str, body: RevokeIn, principal: Clerk, collaborators: CollaboratorsDep, work: UnitOfWorkDep, ctx: ContextDep
) -> CertificateOut:
    certificate = await service.revoke(
        work=work,
        hasher=collaborators.hasher,
        clock=utc_now,
        ctx=ctx,
        principal=principal,
        serial=serial,
        reason=body.reason,
        reason_code=body.reason_code,
    )
    return certificate_out(collaborators.issuer, certificate, principal)


@router.post(
    "/certificates/{serial}/reissue",
    operation_id="reissue_certificate",
    dependencies=[audit_action("certificate.reissue")],
    summary="Re-issue (补发) a certificate: same content, new serial and verification code",
    description="For a lost or damaged copy. The old certificate becomes `superseded` and verification names the "
    "new serial. No body. Answers the new certificate's record. A citizen may re-issue `RATE_LIMIT_REISSUE` "
    "(default 3 a day) times (429 with `Retry-After`).",
    tags=["citizen", "window"],
    status_code=201,
    response_model=CertificateOut,
    responses=problem_responses(
        CertificateNotFound, AlreadyRevoked, AlreadySuperseded, CertificateExpired, TooManyRequests
    ),
)
async def reissue_certificate(
    serial: str,
    principal: Downloader,
    collaborators: CollaboratorsDep,
    work: UnitOfWorkDep,
    ctx: ContextDep,
    response: Response,
) -> CertificateOut:
    if principal.role is Role.citizen and principal.id_number:
        # Each re-issue signs, stores and announces a PDF: a person (not an account) gets a few a day.
        await collaborators.limiter.check("reissue", collaborators.hasher.hash(principal.id_number))
    certificate = await service.reissue(
        work=work,
        hasher=collaborators.hasher,
        issuer=collaborators.issuer,
        clock=utc_now,
        ctx=ctx,
        principal=principal,
        serial=serial,
    )
    response.headers["Location"] = f"/v1/certificates/{certificate.serial}"
    return certificate_out(collaborators.issuer, certificate, principal)
