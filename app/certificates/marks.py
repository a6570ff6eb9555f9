"""The marks drawn on a certificate beside its text: the issuing office's seal and the verification QR code,
as vector paths (no images), so that they print sharp at any size."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import segno
from reportlab.pdfgen.canvas import Canvas

if TYPE_CHECKING:
    from app.certificates.rendering import CertificateRenderer

_SEAL_RED = (0.85, 0.1, 0.1)  # brighter than the frame's red, as stamp ink is
_QR_MASK = 4

_SEAL_RADIUS = 58.0


def draw_seal(
    canvas: Canvas,
    renderer: CertificateRenderer,
    authority: str,
    *,
    centre: tuple[float, float],
    radius: float = _SEAL_RADIUS,
) -> None:
    """The issuing office's round seal, as vector paths and text in seal red: a double ring, a
    five-pointed star, the authority's name along the upper arc and "证明专用章" below the star.

    Stroked outlines and glyphs only, no filled disc, so the black text it lies on stays legible.
    """
    cx, cy = centre
    canvas.saveState()
    canvas.setStrokeColorRGB(*_SEAL_RED)
    canvas.setFillColorRGB(*_SEAL_RED)
    canvas.setLineWidth(3.0)
    canvas.circle(cx, cy, radius, stroke=1, fill=0)
    canvas.setLineWidth(0.8)
    canvas.circle(cx, cy, radius - 4.5, stroke=1, fill=0)
    _draw_star(canvas, cx, cy, radius * 0.27)
    _draw_arc_text(canvas, renderer, authority, cx, cy, radius - 17.0, size=radius * 0.27)
    canvas.setFont(renderer.font_name, radius * 0.17)
    canvas.drawCentredString(cx, cy - radius * 0.55, "证明专用章")
    canvas.restoreState()


def _draw_star(canvas: Canvas, cx: float, cy: float, r: float) -> None:
    path = canvas.beginPath()
    for i in range(10):
        angle = math.pi / 2 + i * math.pi / 5
        radius = r if i % 2 == 0 else r * 0.382
        x, y = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
        path.moveTo(x, y) if i == 0 else path.lineTo(x, y)
    path.close()
    canvas.drawPath(path, stroke=0, fill=1)


def _draw_arc_text(
    canvas: Canvas, renderer: CertificateRenderer, text: str, cx: float, cy: float, r: float, *, size: float
) -> None:
    """Characters upright toward the centre, spread over the upper arc (wider for longer names)."""
    if not text:
        return
    span = math.radians(min(250.0, 40.0 + 26.0 * len(text)))
    step = span / max(len(text) - 1, 1)
    start = math.pi / 2 + span / 2
    canvas.setFont(renderer.font_name, size)
    for i, ch in enumerate(text):
        angle = start - i * step if len(text) > 1 else math.pi / 2
        canvas.saveState()
        canvas.translate(cx + r * math.cos(angle), cy + r * math.sin(angle))
        canvas.rotate(math.degrees(angle) - 90)
        canvas.drawCentredString(0, -size * 0.8, ch)
        canvas.restoreState()


def draw_qr(canvas: Canvas, data: str, *, x: float, y: float, size: float) -> None:
    """Draw a QR code from segno's module matrix as filled rectangles, one per horizontal run.

    Why not reportlab's QrCodeWidget: a page with it took ~24 ms, against ~7 ms (docs/scaling.md). Why raw operators:
    in module units (a `cm` transform scales them) every coordinate is a small integer, so no per-rectangle
    float formatting. Why a fixed mask: choosing the "best" of 8 masks is most of segno's time and
    any mask is valid for decoders; the tests decode the result with zbarimg when it is installed.
    """
    qr = segno.make(data, error="m", micro=False, mask=_QR_MASK)
    matrix = qr.matrix
    border = 2  # quiet zone in modules; the page around it is white anyway
    count = len(matrix) + 2 * border
    module = size / count
    ops = [f"q 0 g {module:.5f} 0 0 {module:.5f} {x:.3f} {y:.3f} cm"]
    for row_index, row in enumerate(matrix):
        bottom = count - border - row_index - 1
        col, n = 0, len(row)
        while col < n:
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                ops.append(f"{start + border} {bottom} {col - start} 1 re")
            else:
                col += 1
    ops.append("f Q")
    canvas.addLiteral("\n".join(ops))
