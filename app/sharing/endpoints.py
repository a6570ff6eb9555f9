"""Shares of a certificate (the holder's) and the links they give (anyone holding one): docs/sharing.md."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from app.api.deps import (
    Citizen,
    CollaboratorsDep,
    ContextDep,
    UnitOfWorkDep,
    audit_action,
    known_query_params_only,
)
from app.api.pagination import Cursor, Limit
from app.api.public_pages import html_page, problem_page, wants_a_page
from app.api.query_params import UnknownParameter
from app.catalogue.registry import SERVICES
from app.certificates.errors import CertificateNotFound, CertificateNotInForce
from app.clock import utc_now
from app.cursor import cut_page, decode_cursor
from app.errors import (
    JSON_BODY_ERRORS,
    AppError,
    ConcurrentChange,
    Forbidden,
    TooManyRequests,
    Unauthenticated,
    problem_responses,
)
from app.i18n import language_var
from app.sharing import service
from app.sharing.errors import PdfNotShared, ShareGone, ShareNotFound
from app.sharing.models import Share
from app.sharing.pages import render_shared_page, render_unavailable_page
from app.sharing.schemas import ShareCreatedOut, SharedCertificateOut, ShareIn, ShareOut, SharePage
from app.sharing.service import SharedView

router = APIRouter(prefix="/v1", tags=["citizen"], responses=problem_responses(Unauthenticated, Forbidden))
shared_router = APIRouter(prefix="/v1", tags=["public"])


def share_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/v1/shared/{token}"


def _out(share: Share) -> ShareOut:
    return ShareOut(
        id=share.id,
        recipient=share.recipient,
        fields=list(share.fields),
        notify=share.notify,
        state=service.state_of(share, now=utc_now()),
        created_at=share.created_at,
        expires_at=share.expires_at,
        revoked_at=share.revoked_at,
        uses=share.uses,
        last_used_at=share.last_used_at,
    )


@router.post(
    "/certificates/{serial}/shares",
    operation_id="create_share",
    dependencies=[audit_action("share.create")],
    summary="Share a certificate with a named recipient",
    description="Answers the link (`url`) once: only its hash is kept. The recipient sees the live status and the "
    "chosen `fields` (default all); the PDF only when every field is shared.",
    status_code=201,
    response_model=ShareCreatedOut,
    responses=problem_responses(CertificateNotFound, CertificateNotInForce, ConcurrentChange, *JSON_BODY_ERRORS),
)
async def create_share(
    serial: str,
    body: ShareIn,
    principal: Citizen,
    collaborators: CollaboratorsDep,
    work: UnitOfWorkDep,
    ctx: ContextDep,
) -> ShareCreatedOut:
    share, token = await service.create(
        work=work,
        hasher=collaborators.hasher,
        clock=utc_now,
        ctx=ctx,
        principal=principal,
        serial=serial,
        recipient=body.recipient,
        expires_in_days=body.expires_in_days,
        fields=body.fields,
        notify=body.notify,
    )
    return ShareCreatedOut(
        id=share.id,
        url=share_url(str(collaborators.settings.public_base_url), token),
        expires_at=share.expires_at,
        recipient=share.recipient,
        fields=list(share.fields),
        notify=share.notify,
    )


@router.get(
    "/certificates/{serial}/shares",
    operation_id="list_shares",
    dependencies=[known_query_params_only, audit_action("share.list")],
    summary="My shares of this certificate, with their uses",
    response_model=SharePage,
    responses=problem_responses(CertificateNotFound, UnknownParameter),
)
async def list_shares(
    serial: str,
    principal: Citizen,
    collaborators: CollaboratorsDep,
    work: UnitOfWorkDep,
    ctx: ContextDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> SharePage:
    after = decode_cursor(cursor, kinds=(datetime, str)) if cursor else None
    rows = await service.of_certificate(
        session=work.session,
        hasher=collaborators.hasher,
        ctx=ctx,
        principal=principal,
        serial=serial,
        after=(after[0], after[1]) if after else None,
        limit=limit,
    )
    shown, next_cursor = cut_page(rows, limit, lambda s: (s.created_at, s.id))
    return SharePage(items=[_out(s) for s in shown], next_cursor=next_cursor)


@router.delete(
    "/certificates/{serial}/shares/{share_id}",
    operation_id="revoke_share",
    dependencies=[audit_action("share.revoke")],
    summary="Revoke a share: its link answers 410 from now on",
    status_code=204,
    response_class=Response,
    responses=problem_responses(CertificateNotFound, ShareNotFound, ConcurrentChange),
)
async def revoke_share(
    serial: str,
    share_id: str,
    principal: Citizen,
    collaborators: CollaboratorsDep,
    work: UnitOfWorkDep,
    ctx: ContextDep,
) -> Response:
    await service.revoke(
        work=work,
        hasher=collaborators.hasher,
        clock=utc_now,
        ctx=ctx,
        principal=principal,
        serial=serial,
        share_id=share_id[:64],
    )
    return Response(status_code=204)


_PAGE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "JSON; an HTML page (Chinese, or English by Accept-Language) for a browser",
        "content": {"text/html": {}},
    },
}


@shared_router.get(
    "/shared/{token}",
    operation_id="open_share",
    dependencies=[audit_action("share.use")],
    summary="Open a share link: the live status and the fields the holder chose",
    description="Rate-limited per client address (`RATE_LIMIT_SHARES`). A browser (its `Accept` prefers "
    "`text/html`) gets a page in its language; 404 for an unknown link, 410 once revoked or expired.",
    response_model=SharedCertificateOut,
    responses={**problem_responses(ShareNotFound, ShareGone, TooManyRequests), **_PAGE_RESPONSES},
)
async def open_share(
    token: str, request: Request, collaborators: CollaboratorsDep, work: UnitOfWorkDep, ctx: ContextDep
) -> SharedCertificateOut | HTMLResponse:
    page = wants_a_page(request.headers.get("accept"))
    try:
        view = await _use(token, collaborators, work, ctx)
    except (ShareNotFound, ShareGone, TooManyRequests) as exc:
        if not page:
            raise
        return _unavailable_page(exc)
    pdf_url = share_url(str(collaborators.settings.public_base_url), token) + "/pdf" if view.pdf_shared else None
    body = SharedCertificateOut(
        status=view.status,  # type: ignore[arg-type]  # public_status returns exactly these four
        recipient=view.share.recipient,
        shared_until=view.share.expires_at,
        fields=view.fields,
        pdf_url=pdf_url,
    )
    if not page:
        return body
    language = language_var.get()
    html = render_shared_page(
        status=view.status,
        recipient=view.share.recipient,
        shared_until=view.share.expires_at,
        fields=view.fields,
        pdf_url=pdf_url,
        language=language,
    )
    return html_page(html, language=language, headers={"Referrer-Policy": "no-referrer"})


async def _use(
    token: str, collaborators: CollaboratorsDep, work: UnitOfWorkDep, ctx: ContextDep, *, pdf: bool = False
) -> SharedView:
    """A link's use, limited per client address (`RATE_LIMIT_SHARES`) before the link is looked up."""
    await collaborators.limiter.check_address("shares", ctx.client_addr)
    return await service.use(work=work, clock=utc_now, ctx=ctx, token=token, pdf=pdf)


def _unavailable_page(exc: AppError) -> HTMLResponse:
    language = language_var.get()
    reason = {ShareNotFound: "missing", ShareGone: "gone"}.get(type(exc), "busy")
    return problem_page(exc, render_unavailable_page(reason=reason, language=language), language=language)


@shared_router.get(
    "/shared/{token}/pdf",
    operation_id="open_share_pdf",
    dependencies=[audit_action("share.use_pdf")],
    summary="The certificate's signed PDF, when the holder shared every field",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}, "description": "PDF"},
        **problem_responses(ShareNotFound, ShareGone, PdfNotShared, TooManyRequests),
    },
)
async def open_share_pdf(token: str, collaborators: CollaboratorsDep, work: UnitOfWorkDep, ctx: ContextDep) -> Response:
    view = await _use(token, collaborators, work, ctx, pdf=True)
    certificate = view.certificate
    pdf = await collaborators.storage.load(sha256=certificate.pdf_sha256, inline=certificate.pdf)
    title = SERVICES[certificate.service].name.en.replace(" ", "-")
    headers = {
        "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="{title}-{certificate.serial}.pdf"',
        "X-Content-Type-Options": "nosniff",
    }
    return Response(pdf, media_type="application/pdf", headers=headers)
