"""The public HTML pages (a certificate's verification, a PDF checked by the page's form, a shared
certificate): whether a caller wants a page rather than JSON, and the headers every such page carries."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi.responses import HTMLResponse

from app.certificates.pages import PAGE_SECURITY_POLICY
from app.errors import AppError


def wants_a_page(accept: str | None) -> bool:
    """A browser's form post (Accept: text/html,…,*/*;q=0.8), not an API caller (*/* or application/json)."""
    offered: dict[str, float] = {}
    for part in (accept or "").split(","):
        media_type, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        offered[media_type.lower()] = quality
    html, json_ = offered.get("text/html", 0.0), offered.get("application/json", 0.0)
    return html > 0 and html > json_


def page_headers(language: str) -> dict[str, str]:
    """Every public HTML page: never cached (statuses change), its language, and a strict CSP."""
    return {
        "Cache-Control": "no-store",
        "Content-Language": "en" if language == "en" else "zh-CN",
        "Vary": "Accept-Language",
        "Content-Security-Policy": PAGE_SECURITY_POLICY,
    }


def html_page(
    html: str, *, language: str, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> HTMLResponse:
    return HTMLResponse(html, status_code=status_code, headers={**(headers or {}), **page_headers(language)})


def problem_page(exc: AppError, html: str, *, language: str) -> HTMLResponse:
    """A refusal shown to a browser as a page, with the problem's status and headers (Retry-After)."""
    return html_page(html, language=language, status_code=exc.status, headers=exc.headers)
