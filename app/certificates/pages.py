"""The public verification pages (`GET /verify/{code}`, and the answer to its upload form), from Jinja2
templates.

Chinese by default, English when the reader's `Accept-Language` prefers it. Every page offers an
upload form that posts a PDF to `POST /v1/verify`, which answers a browser's form with a page too.
Autoescaping is on for everything: holder names are data that came from people. No free-text
revocation reason is ever passed in: the public sees a reason code's label only.

The pages run no script and load nothing: `PAGE_SECURITY_POLICY` allows their one inline style sheet
by its hash, form posts to this origin, and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.certificates.revocation import reason_label
from app.certificates.status import PUBLIC_STATUSES
from app.i18n import Text

VERIFY_STATUSES = PUBLIC_STATUSES
_SHANGHAI = timezone(timedelta(hours=8))
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

_TEMPLATES = Path(__file__).parent / "templates"
# Inserted verbatim by _base.html (`|safe`: it holds quotes that escaping would turn into entities, which a
# style sheet does not decode), so the bytes the browser hashes are exactly these.
PAGE_CSS = (_TEMPLATES / "verify.css").read_text(encoding="utf-8")
_CSS_HASH = base64.b64encode(hashlib.sha256(PAGE_CSS.encode("utf-8")).digest()).decode("ascii")
PAGE_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

Banner = tuple[str, Text, Text]  # what a page says first: a symbol, a word, a hint


def pick(text: Text, language: str) -> str:
    return text.en if language == "en" else text.zh


class PageLook:
    """Pages in the verification pages' look (the share link's too): their own templates first, then these
    (the base template, the style sheet), their words in the reader's language, and the style sheet inline.
    Built once at import: template compilation is cached in the environment, rendering is ~0.1 ms."""

    def __init__(self, words: dict[str, Text], *own_templates: Path) -> None:
        self._words = words
        self._env = Environment(
            loader=ChoiceLoader([FileSystemLoader(path) for path in (*own_templates, _TEMPLATES)]),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,  # a missing field is a bug to see in tests, not a blank on the page
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(self, template: str, language: str, **values: Any) -> str:
        return self._env.get_template(template).render(
            lang="en" if language == "en" else "zh-CN",
            t={key: pick(text, language) for key, text in self._words.items()},
            css=PAGE_CSS,
            **values,
        )


def banner(shown: Banner, language: str) -> dict[str, str]:
    mark, word, hint = shown
    return {"mark": mark, "word": pick(word, language), "hint": pick(hint, language)}


# Every word on the pages, in both languages. Status words: (symbol, word, hint).
_WORDS: dict[str, Text] = {
    "site": Text("上海市城市服务 · 电子证明核验", "Shanghai City Services · Certificate verification"),
    "title": Text("证明核验", "Certificate verification"),
    "service": Text("证明类型", "Certificate"),
    "result": Text("核验结果", "Result"),
    "serial": Text("证明编号", "Serial number"),
    "holder": Text("持证人", "Holder"),
    "id_number": Text("公民身份号码", "Identity number"),
    "issued_at": Text("签发日期", "Issued on"),
    "expires_at": Text("有效期至", "Valid until"),
    "revoked_at": Text("撤销日期", "Revoked on"),
    "revocation_reason": Text("撤销原因", "Reason for revocation"),
    "superseded_by": Text("补发后的证明编号", "Replaced by serial number"),
    "sha256": Text("文件摘要", "File digest"),
    "note": Text(
        "请核对纸质或电子证明上的证明编号与上方一致。个人信息已作脱敏处理。文件摘要可用于核对所持 PDF 文件是否与签发时完全一致。",
        "Check that the serial number on the paper or electronic certificate matches the one above. Personal "
        "details are partly hidden. The file digest tells whether a PDF you hold is exactly the one issued.",
    ),
    "upload_heading": Text("核验 PDF 文件", "Check a PDF file"),
    "upload_hint": Text(
        "上传所持的证明 PDF，检查其数字签名是否完好、是否与签发记录一致。",
        "Upload the certificate PDF you hold: we check that its digital signature is intact "
        "and that it is the document on record.",
    ),
    "upload_button": Text("上传并核验", "Upload and check"),
    "not_found_word": Text("未找到", "Not found"),
    "not_found_title": Text("未找到该证明", "No such certificate"),
    "not_found_hint": Text("没有与该核验码对应的证明。", "No certificate has this verification code."),
    "code": Text("核验码", "Verification code"),
    "not_found_note": Text(
        "请核对核验码是否输入正确（不区分大小写）。若核验码无误仍无法查到，该证明可能不是由本系统签发的，请勿采信，并向签发机关核实。",
        "Check the code as typed (letter case does not matter). If it is right and still not found, the "
        "certificate may not have been issued by this service: do not rely on it, and ask the issuing office.",
    ),
    "check_title": Text("PDF 文件核验结果", "PDF check"),
    "signature": Text("数字签名", "Digital signature"),
    "signature_intact": Text("完好：文件签发后未被改动", "Intact: the file is unchanged since it was signed"),
    "signature_broken": Text(
        "无效：文件已被改动，或并非本系统签发", "Not intact: the file was changed, or not signed by this service"
    ),
    "record": Text("签发记录", "Issuing record"),
    "on_record": Text("与签发的文件完全一致", "Exactly the file that was issued"),
    "not_on_record": Text("没有与该文件一致的签发记录", "No issued file matches this one"),
    "check_failed_word": Text("无法核验", "Not checked"),
    "check_note": Text(
        "核验的是所上传的这份文件本身。请核对证明上的证明编号与上方一致；撤销、过期或补发后的证明不得再作为证明使用。",
        "This checks the very file you uploaded. Check that the serial number on the certificate matches the one "
        "above; a revoked, expired or replaced certificate may no longer be relied on.",
    ),
    "busy_word": Text("请稍候", "Please wait"),
    "busy_title": Text("请求过于频繁", "Too many requests"),
    "busy_hint": Text("核验请求过于频繁，请稍后再试。", "Too many verification requests from your address."),
    "busy_note": Text("请在 {seconds} 秒后刷新本页。", "Reload this page in {seconds} seconds."),
}
_BANNERS: dict[str, Banner] = {
    "valid": (
        "✓",
        Text("有效", "Valid"),
        Text("本证明真实有效，处于有效期内。", "This certificate is genuine and in force."),
    ),
    "revoked": (
        "✕",
        Text("已撤销", "Revoked"),
        Text(
            "本证明已被签发机关撤销，不得再作为证明使用。",
            "The issuing office has revoked this certificate: it may no longer be relied on.",
        ),
    ),
    "expired": (
        "!",
        Text("已过期", "Expired"),
        Text(
            "本证明已超过有效期，不得再作为证明使用。", "This certificate has expired: it may no longer be relied on."
        ),
    ),
    "superseded": (
        "↻",
        Text("已补发", "Replaced"),
        Text(
            "本证明已由补发的新证明取代，不得再作为证明使用，请以新证明为准。",
            "A re-issued certificate has replaced this one: it may no longer be relied on; rely on the new one.",
        ),
    ),
}


# The upload's verdict when the file is not simply the one on record (else the record's status banner).
_CHECK_BANNERS: dict[str, Banner] = {
    "broken": (
        "✕",
        Text("签名无效", "Signature not intact"),
        Text(
            "该文件的数字签名无效：文件已被改动，或并非本系统签发。请勿采信。",
            "This file's digital signature is not intact: it was changed, or this service did not sign it. "
            "Do not rely on it.",
        ),
    ),
    "not_on_record": (
        "?",
        Text("无签发记录", "Not on record"),
        Text(
            "签名完好，但本系统没有签发过与之完全一致的文件。请向签发机关核实。",
            "The signature is intact, but this service never issued this exact file. Ask the issuing office.",
        ),
    ),
}


_LOOK = PageLook(_WORDS)


def render_verify_page(
    *,
    status: str,
    service_name: str,
    serial: str,
    holder_name_masked: str,
    id_number_masked: str,
    issued_at: Any,
    expires_at: Any,
    sha256: str,
    revoked_at: Any = None,
    revocation_reason_code: str | None = None,
    superseded_by: str | None = None,
    language: str = "zh",
) -> str:
    if status not in VERIFY_STATUSES:
        raise ValueError(f"unknown certificate status {status!r}")
    return _LOOK.render(
        "verify.html",
        language,
        status=status,
        **banner(_BANNERS[status], language),
        service_name=service_name,
        serial=serial,
        holder_name_masked=holder_name_masked,
        id_number_masked=id_number_masked,
        issued_at=display_date(issued_at, language),
        expires_at=display_date(expires_at, language),
        revoked_at=display_date(revoked_at, language) if revoked_at is not None else None,
        revocation_reason=reason_label(revocation_reason_code, language) if status == "revoked" else None,
        superseded_by=superseded_by if status == "superseded" else None,
        sha256=sha256,
    )


def render_pdf_check_page(
    *, signature_intact: bool, on_record: bool, serial: str | None, status: str | None, language: str = "zh"
) -> str:
    """What `POST /v1/verify` found, for whoever uploaded the PDF from the verification page's form."""
    if signature_intact and on_record and status in VERIFY_STATUSES:
        verdict, shown = status, _BANNERS[status]
    else:
        verdict = "broken" if not signature_intact else "not_on_record"
        shown = _CHECK_BANNERS[verdict]
    return _LOOK.render(
        "verify_pdf.html",
        language,
        verdict=verdict,
        **banner(shown, language),
        found={"signature_intact": signature_intact, "on_record": on_record, "serial": serial},
    )


def render_pdf_check_problem_page(*, problem: str, language: str = "zh") -> str:
    """The upload could not be checked (not a PDF upload, too large, too many checks): why, as a page."""
    return _LOOK.render(
        "verify_pdf.html",
        language,
        verdict="notfound",
        mark="!",
        word=pick(_WORDS["check_failed_word"], language),
        hint=problem,
        found=None,
    )


def display_date(value: Any, language: str = "zh") -> str:
    """Dates as a reader in Shanghai says them ("2026年1月5日", "5 January 2026"), from a date,
    datetime or ISO string.

    An aware datetime is taken to Shanghai time first, so an expiry at 23:59:59+08:00 stays that day.
    Anything unparseable is shown as given (escaped by the template).
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        value = (value.astimezone(_SHANGHAI) if value.tzinfo else value).date()
    if isinstance(value, date):
        if language == "en":
            return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"
        return f"{value.year}年{value.month}月{value.day}日"
    return str(value)


def render_not_found_page(code: str, *, language: str = "zh") -> str:
    # The code is echoed (escaped, and cut short) so the reader can spot a typo.
    return _LOOK.render("verify_not_found.html", language, code=code[:64])


def render_too_many_requests_page(*, retry_after: int, language: str = "zh") -> str:
    """A 429 as a page: whoever scanned the QR code has a browser, not a JSON client."""
    return _LOOK.render("verify_busy.html", language, retry_after=retry_after)
