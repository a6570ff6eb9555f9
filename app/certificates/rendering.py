"""Certificate PDFs: one A4 page in Chinese, pure data -> bytes.

CPU-bound and synchronous: callers run `CertificateRenderer.render` in a worker thread or process,
never on the event loop. A renderer is built once (font registered and parsed, character widths
cached) and reused for every document; it holds no per-document state, so one instance may serve
many threads (renders with one font are serialised: see `_render_locks`).

Every glyph on the page comes from one embedded font, subset per document by reportlab: by default
the Noto Serif SC subset bundled in `fonts/` (scripts/build_certificate_font.py made it; OFL-1.1), or
CERT_FONT_FILE. No standard-14 font (Courier, Helvetica) is used, since those are never embedded, and
the page carries an sRGB output intent and XMP metadata (pdfa.py; no PDF/A claim, see there). The seal of the issuing
office is drawn as vector paths and text. Measured in bench/README.md.
"""

from __future__ import annotations

import hashlib
import io
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from pyhanko.pdf_utils.metadata.model import VENDOR as PYHANKO_VENDOR
from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from app.certificates.marks import draw_qr, draw_seal
from app.certificates.pdfa import attach_pdfa_parts, xmp_packet

# Streams Flate-compressed only, not also ASCII85-armoured: 25% smaller and skips a pure-Python
# encoding pass per document. Process-wide, but certificates are this process's only reportlab user.
rl_config.useA85 = 0

BUILTIN_CID_FONT = "STSong-Light"
"""Adobe-GB1 font every PDF viewer knows; not embedded, so glyph shapes depend on the viewer. Kept for
tests and comparison only: certificates use BUNDLED_FONT."""

BUNDLED_FONT = Path(__file__).parent / "fonts" / "NotoSerifSC-Certificates.ttf"
"""Noto Serif SC Regular (SIL OFL 1.1, licence beside it), TrueType outlines, GBK repertoire."""
# pyHanko, signing, sets the XMP producer to its own name and appends that name to the information
# dictionary's unless already there; starting from exactly its name keeps the two equal, as PDF/A
# requires of every entry the two share.
PRODUCER = PYHANKO_VENDOR

PAGE_WIDTH, PAGE_HEIGHT = A4
_MARGIN_X = 80.0
_CONTENT_WIDTH = PAGE_WIDTH - 2 * _MARGIN_X
_LABEL_WIDTH = 112.0

# Official red for rules and frame; black for everything that must print on a mono printer.
_RED = (0.68, 0.07, 0.07)
_GREY = (0.35, 0.35, 0.35)

# Chinese line breaking (禁则): these never begin a line.
_NO_LINE_START = set("，。、；：？！）》」』】〕,.;:?!)")
_BODY_SIZES = ((14.0, 25.0), (12.0, 20.0), (10.5, 16.0), (9.0, 13.0))  # (font size, leading), tried in turn
_BODY_FLOOR = 240.0  # lowest baseline above the footer (QR code, authority, date)


@dataclass(frozen=True)
class CertificateDocument:
    # "residence-permit" | "no-criminal-record-certificate" | "household-registration-certificate"
    service: str
    title: str  # e.g. "上海市居住证"
    holder_name: str
    holder_id_number: str  # in full: the document is the holder's own proof (docs/api.md#certificates-fit-to-print)
    facts: tuple[tuple[str, str], ...]  # (label zh, value), service-specific
    body: str  # the certifying sentence(s)
    issued_on: date
    expires_on: date
    serial: str  # e.g. "JZZ-2026-00012345"
    verification_code: str  # e.g. "7KQM-3XPT-9HWD"
    verify_url: str  # PUBLIC_BASE_URL/verify/{code}
    issuing_authority: str  # e.g. "上海市公安局"
    replaces: str | None = None  # a re-issue (补发): the serial of the certificate it replaces


def format_date_zh(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


_font_lock = threading.Lock()
_registered: dict[str, str] = {}  # font file (or builtin name) -> reportlab font name
# reportlab's TTFont keeps one read position in the font file and per-document subset state in the
# font object, so two threads rendering with one font corrupt each other's subsets (seen as a
# KeyError in makeSubset). Renders sharing a font take turns; under the GIL that costs little, and
# real parallelism comes from worker processes anyway.
_render_locks: dict[str, threading.Lock] = {}


def register_font(font_file: Path | str | None) -> str:
    """Register a font once per process (reportlab's registry is global) and return its name.

    None means the bundled font; BUILTIN_CID_FONT the non-embedded CID font (comparisons only).
    Parsing a CJK TrueType font costs tens of milliseconds, so it must not happen per document.
    """
    if font_file is None:
        font_file = BUNDLED_FONT
    key = str(font_file)
    with _font_lock:
        name = _registered.get(key)
        if name is not None:
            return name
        if key == BUILTIN_CID_FONT:
            pdfmetrics.registerFont(UnicodeCIDFont(BUILTIN_CID_FONT))
            name = BUILTIN_CID_FONT
        else:
            path = Path(font_file)
            if not path.is_file():
                raise FileNotFoundError(f"certificate font file not found: {path}")
            name = "CertFont-" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:10]
            # TTC collections hold several faces; the first is the regular one (wqy-microhei, Noto CJK).
            font = TTFont(name, str(path), subfontIndex=0)
            _cache_tables(font)
            pdfmetrics.registerFont(font)
        _registered[key] = name
        _render_locks[name] = threading.Lock()
        return name


def _cache_tables(font: TTFont) -> None:
    """reportlab's subsetter slices each table it needs out of the font file for every document: for
    a CJK font that is a copy of its multi-megabyte `glyf` table per certificate (measured: half the
    render time). The tables never change, so slice each once."""
    face = font.face
    slice_table = face.get_table
    tables: dict[str, bytes] = {}

    def get_table(tag: str) -> bytes:
        table = tables.get(tag)
        if table is None:
            table = tables[tag] = slice_table(tag)
        return table

    face.get_table = get_table


class CertificateRenderer:
    """Renders `CertificateDocument`s; build one per process and reuse it."""

    def __init__(self, *, font_file: Path | str | None = None) -> None:
        self.font_name = register_font(font_file)
        self._lock = _render_locks[self.font_name]
        self.embeds_font = self.font_name != BUILTIN_CID_FONT
        self._char_widths: dict[tuple[str, float], float] = {}

    # -- public ---------------------------------------------------------------------------------------

    def render(self, doc: CertificateDocument) -> bytes:
        with self._lock:
            return self._render(doc)

    def _render(self, doc: CertificateDocument) -> bytes:
        buf = io.BytesIO()
        # initialFontName: otherwise reportlab declares Helvetica (never embedded) on every page.
        canvas = Canvas(buf, pagesize=A4, pageCompression=1, lang="zh-CN", initialFontName=self.font_name)
        self._set_metadata(canvas, doc)
        self._draw_frame(canvas)
        y = self._draw_heading(canvas, doc)
        y = self._draw_facts(canvas, doc, y - 28)
        self._draw_body(canvas, doc.body, y - 26)
        self._draw_footer(canvas, doc)
        # Last, so that it lies over the authority's name and date as a stamp does.
        draw_seal(canvas, self, doc.issuing_authority, centre=(PAGE_WIDTH - _MARGIN_X - 62, 192))
        canvas.showPage()
        canvas.save()
        return buf.getvalue()

    # -- parts ----------------------------------------------------------------------------------------

    def _set_metadata(self, canvas: Canvas, doc: CertificateDocument) -> None:
        # /Subject carries the serial so an uploaded copy can be traced back to its record
        # (pdf_inspection._read_serial); it is inside the signed byte range once signed.
        canvas.setTitle(doc.title)
        canvas.setSubject(doc.serial)
        canvas.setAuthor(doc.issuing_authority)
        canvas.setCreator("cityservices")
        canvas.setKeywords(f"serial:{doc.serial} service:{doc.service}")
        canvas.setProducer(PRODUCER)
        canvas.setViewerPreference("DisplayDocTitle", "true")
        if self.embeds_font:  # the archival parts, only where every font is embedded (not with the CID font)
            stamp = canvas._doc._timeStamp
            year, month, day, hour, minute, second = stamp.YMDhms
            offset = timezone(timedelta(hours=stamp.dhh, minutes=stamp.dmm))
            created = datetime(year, month, day, hour, minute, second, tzinfo=offset)
            attach_pdfa_parts(
                canvas,
                xmp=xmp_packet(
                    title=doc.title,
                    author=doc.issuing_authority,
                    subject=doc.serial,
                    keywords=f"serial:{doc.serial} service:{doc.service}",
                    creator_tool="cityservices",
                    producer=PRODUCER,
                    created=created,
                ),
            )

    def _draw_frame(self, canvas: Canvas) -> None:
        canvas.setStrokeColorRGB(*_RED)
        canvas.setLineWidth(2.2)
        canvas.rect(30, 30, PAGE_WIDTH - 60, PAGE_HEIGHT - 60, stroke=1, fill=0)
        canvas.setLineWidth(0.6)
        canvas.rect(36, 36, PAGE_WIDTH - 72, PAGE_HEIGHT - 72, stroke=1, fill=0)

    def _draw_heading(self, canvas: Canvas, doc: CertificateDocument) -> float:
        font = self.font_name
        canvas.setFillColorRGB(*_GREY)
        canvas.setFont(font, 12)
        canvas.drawCentredString(PAGE_WIDTH / 2, 768, doc.issuing_authority)

        # Title: spaced characters, stroked as well as filled to look bold (CJK fonts here have no bold).
        canvas.setFillColorRGB(*_RED)
        canvas.setStrokeColorRGB(*_RED)
        canvas.setLineWidth(0.7)
        size = 30.0
        spacing = 10.0 if len(doc.title) <= 6 else 2.0
        width = self._width(doc.title, size) + spacing * (len(doc.title) - 1)
        text = canvas.beginText(PAGE_WIDTH / 2 - width / 2, 722)
        text.setFont(font, size)
        text.setCharSpace(spacing)
        text.setTextRenderMode(2)
        text.textOut(doc.title)
        # Tc and Tr are text *state*: they outlive this text object unless reset here.
        text.setCharSpace(0)
        text.setTextRenderMode(0)
        canvas.drawText(text)

        canvas.setFillColorRGB(0, 0, 0)
        canvas.setFont(font, 11)
        canvas.drawRightString(PAGE_WIDTH - _MARGIN_X, 690, f"编号：{doc.serial}")
        if doc.replaces:
            canvas.setFillColorRGB(*_RED)
            canvas.drawString(_MARGIN_X, 690, f"补发（原编号 {doc.replaces} 作废）")
            canvas.setFillColorRGB(0, 0, 0)
        canvas.setStrokeColorRGB(*_RED)
        canvas.setLineWidth(1.2)
        canvas.line(_MARGIN_X, 680, PAGE_WIDTH - _MARGIN_X, 680)
        return 680.0

    def _draw_facts(self, canvas: Canvas, doc: CertificateDocument, top: float) -> float:
        rows: list[tuple[str, str]] = [
            ("姓名", doc.holder_name),
            ("公民身份号码", doc.holder_id_number),
            *doc.facts,
            ("签发日期", format_date_zh(doc.issued_on)),
            ("有效期至", format_date_zh(doc.expires_on)),
        ]
        font, size, leading = self.font_name, 13.0, 19.0
        value_x = _MARGIN_X + _LABEL_WIDTH
        value_width = _CONTENT_WIDTH - _LABEL_WIDTH - 8
        canvas.setStrokeColorRGB(0.6, 0.6, 0.6)
        canvas.setLineWidth(0.5)
        y = top
        canvas.line(_MARGIN_X, y, PAGE_WIDTH - _MARGIN_X, y)
        for label, value in rows:
            lines = self._wrap(value, size, value_width) or [""]
            height = 12 + leading * len(lines)
            baseline = y - 6 - size
            canvas.setFillColorRGB(*_GREY)
            canvas.setFont(font, size)
            canvas.drawString(_MARGIN_X + 6, baseline, label)
            canvas.setFillColorRGB(0, 0, 0)
            for i, line in enumerate(lines):
                canvas.drawString(value_x, baseline - i * leading, line)
            y -= height
            canvas.line(_MARGIN_X, y, PAGE_WIDTH - _MARGIN_X, y)
        canvas.line(value_x - 8, top, value_x - 8, y)
        return y

    def _draw_body(self, canvas: Canvas, body: str, top: float) -> None:
        # Bodies are a sentence or two; a longer one steps down in size rather than run into the
        # QR code and the authority's name below it.
        for size, leading in _BODY_SIZES:
            indent = self._width("　　", size)  # two full-width spaces: the Chinese paragraph indent
            placed = [
                (i == 0, line)
                for paragraph in (body.splitlines() or [""])
                for i, line in enumerate(self._wrap(paragraph, size, _CONTENT_WIDTH, first_indent=indent))
            ]
            if top - size - leading * (len(placed) - 1) >= _BODY_FLOOR:
                break
        canvas.setFillColorRGB(0, 0, 0)
        canvas.setFont(self.font_name, size)
        y = top - size
        for first, line in placed:
            canvas.drawString(_MARGIN_X + (indent if first else 0), y, line)
            y -= leading

    def _draw_footer(self, canvas: Canvas, doc: CertificateDocument) -> None:
        font = self.font_name
        qr_size, qr_x, qr_y = 96.0, _MARGIN_X, 128.0
        draw_qr(canvas, doc.verify_url, x=qr_x, y=qr_y, size=qr_size)
        canvas.setFillColorRGB(0, 0, 0)
        canvas.setFont(font, 10)
        canvas.drawString(qr_x, qr_y - 16, "扫码核验真伪")
        canvas.setFont(font, 11)
        canvas.drawString(qr_x + qr_size + 14, qr_y + qr_size - 14, "核验码")
        # The embedded font's Latin, not Courier: a standard-14 font is never embedded. The code's
        # alphabet has no 0/O or 1/I/L, so a proportional face reads unambiguously; spacing helps typing.
        code = canvas.beginText(qr_x + qr_size + 14, qr_y + qr_size - 36)
        code.setFont(font, 16)
        code.setCharSpace(1.5)
        code.textOut(doc.verification_code)
        code.setCharSpace(0)
        canvas.drawText(code)

        right = PAGE_WIDTH - _MARGIN_X
        canvas.setFont(font, 15)
        canvas.drawRightString(right, 200, doc.issuing_authority)
        canvas.setFont(font, 13)
        canvas.drawRightString(right, 176, format_date_zh(doc.issued_on))

        canvas.setFillColorRGB(*_GREY)
        canvas.setFont(font, 8.5)
        note = "本证明为电子证明，载有数字签名。可扫描二维码或访问以下地址核验其真伪与状态："
        canvas.drawString(_MARGIN_X, 78, note)
        canvas.setFont(font, 8.5)
        canvas.drawString(_MARGIN_X, 66, doc.verify_url)

    # -- text measurement -----------------------------------------------------------------------------

    def _width(self, text: str, size: float) -> float:
        return sum(self._char_width(ch, size) for ch in text)

    def _char_width(self, ch: str, size: float) -> float:
        # Per-character widths are cached: CJK wrapping measures every character of every line.
        key = (ch, size)
        width = self._char_widths.get(key)
        if width is None:
            width = pdfmetrics.stringWidth(ch, self.font_name, size)
            self._char_widths[key] = width
        return width

    def _wrap(self, text: str, size: float, width: float, *, first_indent: float = 0.0) -> list[str]:
        """Break Chinese text anywhere between characters, honouring the no-line-start rule."""
        lines: list[str] = []
        current: list[str] = []
        used, limit = 0.0, width - first_indent
        for ch in text:
            w = self._char_width(ch, size)
            if current and used + w > limit and ch not in _NO_LINE_START:
                lines.append("".join(current))
                current, used, limit = [], 0.0, width
            current.append(ch)
            used += w
        if current:
            lines.append("".join(current))
        return lines
