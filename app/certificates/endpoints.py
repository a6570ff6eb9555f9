from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import HTMLResponse

from app.api.deps import (
    BEARER_REQUIRED,
    READERS,
    CollaboratorsDep,
    ContextDep,
    PublicReading,
    Reading,
    UnitOfWorkDep,
    audit_action,
    public_read_as,
    public_reading,
    read_as,
    reading,
)
from app.api.direct import DirectRoute
from app.api.json_answer import json_answer
from app.api.public_pages import html_page, problem_page, wants_a_page
from app.api.uploads import MULTIPART_FILE_BODY, MalformedUpload, MaterialTooLarge, NotMultipart, read_file_part
from app.auth.principal import Role
from app.auth.separation import StaffIdentityRequired
from app.catalogue.registry import SERVICES
from app.certificates import service
from app.certificates.errors import CertificateNotFound
from app.certificates.pages import (
    render_not_found_page,
    render_pdf_check_page,
    render_pdf_check_problem_page,
    render_too_many_requests_page,
    render_verify_page,
)
from app.certificates.presenter import certificate_out, reason_code_of
from app.certificates.repository import VerificationView
from app.certificates.schemas import CertificateOut, PdfVerificationOut, VerificationOut
from app.certificates.status import public_status
from app.errors import (
    UPLOAD_ERRORS,
    AppError,
    Forbidden,
    TooManyRequests,
    Unauthenticated,
    problem_responses,
)
from app.i18n import language_var, localize
from app.identity.names import mask_name

router = APIRouter(prefix="/v1", responses=problem_responses(Unauthenticated, Forbidden, StaffIdentityRequired))
public_router = APIRouter(prefix="/v1", tags=["public"])
# The hottest routes, as `router` (the download of the PDF) and `public_router` (verify by code) but served as
# the app's own routes ahead of every included router (app/main.py), and called without FastAPI's parameter
# solving (app.api.direct).
served_first = APIRouter(prefix=router.prefix, responses=router.responses, route_class=DirectRoute)
public_served_first = APIRouter(prefix=public_router.prefix, tags=list(public_router.tags), route_class=DirectRoute)
page_router = APIRouter(tags=["public"])


@router.get(
    "/certificates/{serial}",
    operation_id="get_certificate",
    summary="A certificate's record",
    tags=["citizen", "window", "audit"],
    response_model=CertificateOut,
    responses=problem_responses(CertificateNotFound),
)
async def get_certificate(
    serial: str, read: Annotated[Reading, reading("certificate.read", *READERS)]
) -> CertificateOut:
    async with read.session() as session:
        certificate = await service.visible(
            session=session, hasher=read.collaborators.hasher, principal=read.principal, serial=serial, ctx=read.ctx
        )
    return certificate_out(read.collaborators.issuer, certificate, read.principal)


@served_first.get(
    "/certificates/{serial}/pdf",
    operation_id="download_certificate_pdf",
    summary="Download the signed PDF, byte for byte as issued",
    tags=["citizen", "window"],
    response_class=Response,
    responses={
        200: {
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The signed PDF",
        },
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
        **problem_responses(CertificateNotFound),
    },
    openapi_extra=BEARER_REQUIRED,
)
async def download_certificate_pdf(
    serial: str, request: Request, if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None
) -> Response:
    # The last step of a citizen's issuance: as the application read, no dependency (`read_as`).
    read = await read_as(request, "certificate.download", Role.clerk, Role.citizen)
    collaborators = read.collaborators
    async with read.connect() as connection:
        certificate = await service.downloadable(
            connection=connection, hasher=collaborators.hasher, principal=read.principal, serial=serial, ctx=read.ctx
        )
    etag = f'"{certificate.pdf_sha256}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-store"}
    if if_none_match and etag in [t.strip().removeprefix("W/") for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    title = SERVICES[certificate.service].name.zh
    ascii_name = f"{certificate.serial}.pdf"
    headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(f'{title}-{certificate.serial}.pdf')}"
    )
    pdf = await collaborators.storage.load(sha256=certificate.pdf_sha256, inline=certificate.pdf)
    return Response(pdf, media_type="application/pdf", headers=headers)


def _verification(certificate: VerificationView) -> VerificationOut:
    return VerificationOut(
        status=public_status(certificate),
        service=certificate.service,
        serial=certificate.serial,
        holder_name_masked=mask_name(certificate.holder_name),
        id_number_masked=certificate.holder_id_masked,
        issued_at=certificate.issued_at,
        expires_at=certificate.expires_at,
        sha256=certificate.pdf_sha256,
        revoked_at=certificate.revoked_at,
        revocation_reason_code=reason_code_of(certificate),
        superseded_by=certificate.superseded_by,
    )


Verifying = Annotated[PublicReading, public_reading("certificate.verify")]


async def _by_code(read: PublicReading, code: str) -> VerificationView:
    """The certificate a verification code names: one Core statement on an AUTOCOMMIT connection, no
    session (the JSON answer and the page alike)."""
    async with read.connect() as connection:
        return await service.by_code(connection, code, ctx=read.ctx)


@public_served_first.get(
    "/verify/{code}",
    operation_id="verify_by_code",
    summary="Verify a certificate by its code",
    description="The code as printed (any case, dashes optional). Personal data only masked.",
    response_model=VerificationOut,
    responses=problem_responses(CertificateNotFound, TooManyRequests),
)
async def verify_by_code(code: str, request: Request) -> Response:
    # A hot public read: no dependency (app.api.deps, `public_read_as`), the answer serialised once;
    # `response_model` above stays for the OpenAPI document.
    read = await public_read_as(request, "certificate.verify")
    await read.collaborators.limiter.check_address("verify", read.ctx.client_addr)
    body = _verification(await _by_code(read, code))
    return json_answer(body)


@public_router.post(
    "/verify",
    operation_id="verify_pdf",
    dependencies=[audit_action("certificate.verify_pdf")],
    summary="Verify an uploaded certificate PDF",
    description="Multipart field `file`: is the signature intact, is the document on record, and its status. "
    "A browser posting the verification page's form (its `Accept` names `text/html` and not JSON) is answered "
    "with an HTML page in its language instead, errors included.",
    response_model=PdfVerificationOut,
    responses={
        **problem_responses(MaterialTooLarge, NotMultipart, MalformedUpload, TooManyRequests, *UPLOAD_ERRORS),
        200: {"description": "The verdict (JSON; an HTML page for a browser's form)", "content": {"text/html": {}}},
    },
    openapi_extra=MULTIPART_FILE_BODY,
)
async def verify_pdf(
    request: Request, collaborators: CollaboratorsDep, work: UnitOfWorkDep, ctx: ContextDep
) -> PdfVerificationOut | HTMLResponse:
    if not wants_a_page(request.headers.get("accept")):
        return await _verify_upload(request, collaborators, work, ctx)
    # The public's only way to check a PDF they were handed is the page's form: answer it with a page.
    language = language_var.get()
    try:
        result = await _verify_upload(request, collaborators, work, ctx)
    except AppError as exc:
        page = render_pdf_check_problem_page(problem=localize(exc.title), language=language)
        return problem_page(exc, page, language=language)
    page = render_pdf_check_page(
        signature_intact=result.signature_intact,
        on_record=result.on_record,
        serial=result.serial,
        status=result.status,
        language=language,
    )
    return html_page(page, language=language)


async def _verify_upload(
    request: Request, collaborators: CollaboratorsDep, work: UnitOfWorkDep, ctx: ContextDep
) -> PdfVerificationOut:
    await collaborators.limiter.check_address("verify", ctx.client_addr)
    upload = await read_file_part(request)
    return await service.verify_pdf(
        session=work.session, signer=collaborators.issuer.pdfs.signer, pdf=upload.content, ctx=ctx
    )


@page_router.get(
    "/verify/{code}",
    operation_id="verify_page",
    summary="The verification page the QR code opens (HTML; Chinese, or English by Accept-Language)",
    response_class=HTMLResponse,
    responses={
        404: {"description": "Unknown code (an HTML page)", "content": {"text/html": {}}},
        429: {
            "description": "Too many verifications from this address (an HTML page, with Retry-After)",
            "content": {"text/html": {}},
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        },
    },
)
async def verify_page(code: str, read: Verifying) -> HTMLResponse:
    language = language_var.get()
    try:
        await read.collaborators.limiter.check_address("verify", read.ctx.client_addr)
    except TooManyRequests as exc:
        # Whoever scanned the QR code has a browser: a page, not a problem document.
        retry_after = int(exc.headers.get("Retry-After", "60"))
        page = render_too_many_requests_page(retry_after=retry_after, language=language)
        return problem_page(exc, page, language=language)
    try:
        certificate = await _by_code(read, code)
    except CertificateNotFound:
        return html_page(render_not_found_page(code[:40], language=language), language=language, status_code=404)
    v = _verification(certificate)
    name = SERVICES[certificate.service].name
    html = render_verify_page(
        language=language,
        status=v.status,
        service_name=name.en if language == "en" else name.zh,
        serial=v.serial,
        holder_name_masked=v.holder_name_masked,
        id_number_masked=v.id_number_masked,
        issued_at=v.issued_at,
        expires_at=v.expires_at,
        sha256=v.sha256,
        revoked_at=v.revoked_at,
        revocation_reason_code=v.revocation_reason_code,
        superseded_by=v.superseded_by,
    )
    return html_page(html, language=language)
