"""A file's type judged by its structure, never its name, its declared type, or a list of bad strings.

A file is accepted only when it is exactly one thing, parsed as such:

- a PDF is opened by qpdf (pikepdf) and must need no repair (bytes inserted outside its objects, a
  broken cross-reference table: what a polyglot's second body leaves behind), must end at its `%%EOF`,
  and must carry nothing active: no JavaScript (`/JS`, a `/JavaScript` action or name tree, an
  `/OpenAction` running one), no `/Launch`, `/ImportData`, `/SubmitForm` or `/GoToE` action, no embedded
  files (`/EmbeddedFiles`, `/EF`), no `/RichMedia` or XFA form. It is kept as uploaded (a signed lease
  keeps its signature);
- a PNG or JPEG is decoded whole by Pillow (at most MAX_PIXELS) and re-encoded: only its pixels are
  kept. Whatever else the file carried (comments, text chunks, EXIF with its GPS position, markup in any
  encoding, data after its end) is not stored;
- a file that is also a ZIP archive (its end-of-central-directory record, wherever the data starts), or
  an image that carries a PDF header where readers look for one, is neither (docs/api.md#uploads): refused.

The earlier check searched the bytes for markup (`<script`, `<svg`, …); each encoding and each tag it
did not list (`<audio onerror>`, `<svg:svg onload>`, UTF-16) went through.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Any

import pikepdf
from PIL import Image, ImageOps

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
_PDF = b"%PDF-"
# PDF readers accept a header anywhere in the first KiB; a JPEG or PNG carrying one is a polyglot.
_POLYGLOT_WINDOW = 1024
_ZIP_MARKERS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
MAX_PIXELS = 50_000_000  # a 10 MiB file may not decode into gigabytes (a pixel bomb)
_MAX_DEPTH = 64
# qpdf's word when the cross-reference table does not hold (it then rebuilds it by scanning); lesser
# repairs (a page without /Resources) are common in honest files and tolerated.
_DAMAGED = "file is damaged"

# Names that make a PDF act rather than show: as a key anywhere, or as an action's type (`/S`).
_ACTIVE_KEYS = frozenset({"/JS", "/JavaScript", "/EmbeddedFiles", "/EF", "/RichMedia", "/XFA"})
_ACTIVE_ACTIONS = frozenset(
    {"/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/GoToE", "/RichMediaExecute", "/Rendition"}
)


@dataclass(frozen=True)
class Accepted:
    media_type: str
    content: bytes  # what is stored: a PDF as uploaded, an image re-encoded


def _is_zip(content: bytes) -> bool:
    """An archive by its end-of-central-directory record (what unzip tools read, wherever the data
    starts), or a local file header at the very start."""
    if content.startswith(_ZIP_MARKERS):
        return True
    try:
        return zipfile.is_zipfile(io.BytesIO(content))
    except Exception:  # a malformed would-be archive is still not something we accept as a proof
        return True


def _acts(obj: Any, depth: int = 0) -> bool:
    """Whether this object, or anything directly inside it, makes the PDF act. Indirect objects it refers
    to are visited on their own (every object of the file is), so no reference is followed here."""
    if depth > _MAX_DEPTH:
        return True
    if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
        for key in obj.keys():
            if key in _ACTIVE_KEYS:
                return True
            value = obj.get(key)
            if key == "/S" and isinstance(value, pikepdf.Name) and str(value) in _ACTIVE_ACTIONS:
                return True
            if key == "/Type" and isinstance(value, pikepdf.Name) and str(value) == "/EmbeddedFile":
                return True
            if isinstance(value, pikepdf.Object) and not value.is_indirect and _acts(value, depth + 1):
                return True
    elif isinstance(obj, pikepdf.Array):
        return any(isinstance(item, pikepdf.Object) and not item.is_indirect and _acts(item, depth + 1) for item in obj)
    return False


def _pdf(content: bytes) -> Accepted | None:
    if not content.rstrip(b"\r\n\t \x00").endswith(b"%%EOF"):
        return None  # something after the PDF's end: another file's body, or markup
    try:
        with pikepdf.open(io.BytesIO(content)) as pdf:
            if any(_DAMAGED in warning for warning in pdf.get_warnings()):
                return None  # qpdf had to rebuild its cross-references: bytes inserted outside objects
            if _acts(pdf.trailer) or any(_acts(obj) for obj in pdf.objects):
                return None
    except Exception:  # anything qpdf cannot open is not a PDF we keep
        return None
    return Accepted("application/pdf", content)


def _image(content: bytes, fmt: str) -> Accepted | None:
    try:
        with Image.open(io.BytesIO(content), formats=[fmt]) as image:
            if image.width * image.height > MAX_PIXELS:
                return None
            image.load()  # decodes every pixel: a truncated or corrupt image fails here
            pixels = ImageOps.exif_transpose(image)  # the orientation EXIF gave, before EXIF is dropped
            if pixels.mode == "P" and "transparency" in pixels.info:
                pixels = pixels.convert("RGBA")
            pixels.info = {}  # Pillow writes a comment or an ICC profile it finds here: nothing but pixels
            out = io.BytesIO()
            if fmt == "PNG":
                pixels.save(out, format="PNG")
            else:
                pixels.save(out, format="JPEG", quality=90)
    except Exception:  # Pillow's errors are many (OSError, SyntaxError, DecompressionBombError, ...)
        return None
    return Accepted("image/png" if fmt == "PNG" else "image/jpeg", out.getvalue())


def accept(content: bytes) -> Accepted | None:
    """The file as it will be stored, with its media type, or None when it is not exactly one PDF, JPEG or
    PNG. CPU work (a full decode and re-encode for images): run it off the event loop."""
    if _is_zip(content):
        return None
    if content.startswith(_PDF):
        return _pdf(content)
    if _PDF in content[:_POLYGLOT_WINDOW]:
        return None
    if content.startswith(_PNG):
        return _image(content, "PNG")
    if content.startswith(_JPEG):
        return _image(content, "JPEG")
    return None


def media_type_of(content: bytes) -> str | None:
    """`application/pdf`, `image/jpeg`, `image/png`, or None when the bytes are none of them (or several)."""
    accepted = accept(content)
    return accepted.media_type if accepted else None
