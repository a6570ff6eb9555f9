"""A file's type judged by its bytes, never its name or declared type."""

from __future__ import annotations

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
_PDF = b"%PDF-"
# PDF readers accept a header anywhere in the first KiB; a JPEG or PNG carrying one is a polyglot.
_POLYGLOT_WINDOW = 1024


def media_type_of(content: bytes) -> str | None:
    """`application/pdf`, `image/jpeg`, `image/png`, or None when the bytes are none of them (or several)."""
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
