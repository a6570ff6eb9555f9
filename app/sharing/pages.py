"""The page a share link opens in a browser, in Chinese or English (Accept-Language), in the verification
page's look: the same base template, style sheet and Content-Security-Policy (no script, nothing loaded).

Only the fields the holder chose are passed to the template at all, so nothing else can leak onto the page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.catalogue.registry import SERVICES
from app.certificates.pages import Banner, PageLook, banner, display_date, pick
from app.i18n import Text

_WORDS: dict[str, Text] = {
    "site": Text("上海市城市服务 · 证明分享", "Shanghai City Services · Shared certificate"),
    "result": Text("证明状态", "Status"),
    "recipient": Text("分享对象", "Shared with"),
    "shared_until": Text("链接有效期至", "Link valid until"),
    "service": Text("证明类型", "Certificate"),
    "serial": Text("证明编号", "Serial number"),
    "holder_name": Text("持证人", "Holder"),
    "id_number_masked": Text("公民身份号码（脱敏）", "Identity number (partly hidden)"),
    "id_number": Text("公民身份号码", "Identity number"),
    "issued_at": Text("签发日期", "Issued on"),
    "expires_at": Text("有效期至", "Valid until"),
    "pdf": Text("下载证明 PDF", "Download the certificate PDF"),
    "note": Text(
        "本页仅显示持证人同意分享的信息，证明状态为实时查询结果。持证人可随时撤销本链接。",
        "This page shows only what the holder agreed to share; the status is live. The holder may revoke this "
        "link at any time.",
    ),
    "gone_word": Text("链接已失效", "Link no longer valid"),
    "gone_hint": Text("持证人已撤销该分享链接，或链接已过期。", "The holder revoked this link, or it has expired."),
    "missing_word": Text("未找到", "Not found"),
    "missing_hint": Text("没有与该链接对应的分享。", "No share has this link."),
    "busy_word": Text("请稍候", "Please wait"),
    "busy_hint": Text("请求过于频繁，请稍后再试。", "Too many requests from your address: try again shortly."),
}
_STATUS: dict[str, Banner] = {
    "valid": (
        "✓",
        Text("有效", "Valid"),
        Text("该证明真实有效，处于有效期内。", "The certificate is genuine and in force."),
    ),
    "revoked": (
        "✕",
        Text("已撤销", "Revoked"),
        Text("该证明已被签发机关撤销，不得再作为证明使用。", "The issuing office has revoked this certificate."),
    ),
    "expired": ("!", Text("已过期", "Expired"), Text("该证明已超过有效期。", "This certificate has expired.")),
    "superseded": (
        "↻",
        Text("已补发", "Replaced"),
        Text("该证明已由新的证明取代，不得再作为证明使用。", "A newer certificate has replaced this one."),
    ),
}


_LOOK = PageLook(_WORDS, Path(__file__).parent / "templates")


def _display(name: str, value: Any, language: str) -> Any:
    if name == "service":
        service = SERVICES.get(str(value))
        return pick(service.name, language) if service else value
    if name in ("issued_at", "expires_at"):
        return display_date(value, language)
    return value


def render_shared_page(
    *, status: str, recipient: str, shared_until: Any, fields: dict[str, Any], pdf_url: str | None, language: str
) -> str:
    rows = [(name, _display(name, value, language)) for name, value in fields.items() if name != "details"]
    return _LOOK.render(
        "shared.html",
        language,
        status=status,
        **banner(_STATUS[status], language),
        recipient=recipient,
        shared_until=display_date(shared_until, language),
        rows=rows,
        details=fields.get("details", {}),
        pdf_url=pdf_url,
    )


def render_unavailable_page(*, reason: str, language: str) -> str:
    """404 (no such link), 410 (revoked or expired) or 429, as a page for whoever opened the link."""
    return _LOOK.render("shared_unavailable.html", language, reason=reason)
