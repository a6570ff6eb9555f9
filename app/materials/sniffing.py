"""A file's type judged by its bytes, never its name or declared type.

A file is accepted only when it is exactly one thing. Polyglots are refused (CONTRACT 10.2): a PDF or
image that is also HTML or script (a browser or a viewer that sniffs would run it), also a ZIP archive
(an archive smuggled past the check: appended, or under a PDF header), or an image that also carries a
PDF header.
"""

from __future__ import annotations

import io
import re
import zipfile

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
_PDF = b"%PDF-"
# PDF readers accept a header anywhere in the first KiB; a JPEG or PNG carrying one is a polyglot.
_POLYGLOT_WINDOW = 1024
# Markup a browser would render or run, wherever it sits in the file. Compressed image and PDF streams
# practically never contain these byte sequences by chance; an uncompressed one is what a polyglot uses.
_MARKUP = re.compile(
    rb"<\s*(?:!doctype\s+html|html|head|body|script|iframe|frame|object|embed|svg|math|img|meta|"
    rb"link|style|form|base|\?php)[\s>/]",
    re.IGNORECASE,
)
_ZIP_MARKERS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


def _is_zip(content: bytes) -> bool:
    """An archive by its end-of-central-directory record (what unzip tools read, wherever the data
    starts), or a local file header at the very start."""
    if content.startswith(_ZIP_MARKERS):
        return True
    try:
        return zipfile.is_zipfile(io.BytesIO(content))
    except Exception:  # a malformed would-be archive is still not something we accept as a proof
        return True


def is_polyglot(content: bytes) -> bool:
    return _MARKUP.search(content) is not None or _is_zip(content)


def _single_type(content: bytes) -> str | None:
    if content.startswith(_PDF):
        return "application/pdf" if b"%%EOF" in content[-2048:] else None
    if _PDF in content[:_POLYGLOT_WINDOW]:
        return None
    if content.startswith(_PNG):
        # A real PNG starts with its IHDR chunk and ends with IEND.
        ok = content[12:16] == b"IHDR" and content.rstrip(b"\x00")[-8:-4] == b"IEND"
        return "image/png" if ok else None
    if content.startswith(_JPEG):
        return "image/jpeg" if content.rstrip(b"\x00")[-2:] == b"\xff\xd9" else None
    return None


def media_type_of(content: bytes) -> str | None:
    """`application/pdf`, `image/jpeg`, `image/png`, or None when the bytes are none of them (or several)."""
    media_type = _single_type(content)
    if media_type is None or is_polyglot(content):
        return None
    return media_type
