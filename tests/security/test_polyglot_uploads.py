"""A file that is also another type is refused with 415, as docs/security.md says (issue 13, item 10;
CONTRACT 10.2): a PDF that is also HTML, a PDF that is also a ZIP archive, a JPEG or PNG carrying markup."""

from __future__ import annotations

import io
import zipfile

import pytest

from app.materials.sniffing import media_type_of
from tests.builders import PDF_PROOF, ZHANG_WEI

PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
JPEG_MIN = b"\xff\xd8\xff\xe0" + b"\x00" * 32 + b"\xff\xd9"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    return buffer.getvalue()


POLYGLOTS = {
    "pdf that is also html": PDF_PROOF.replace(
        b"1 0 obj", b"<html><body><script>alert(1)</script></body></html>\n1 0 obj"
    ),
    "pdf with a doctype": b"%PDF-1.4\n<!DOCTYPE html>\n" + PDF_PROOF[9:],
    "pdf that is also zip (appended)": PDF_PROOF + _zip() + b"\n%%EOF\n",
    "pdf that is also zip (embedded)": PDF_PROOF[:-6] + _zip() + b"\n%%EOF\n",
    "jpeg with a script": JPEG_MIN[:-2] + b"<script>alert(document.cookie)</script>" + b"\xff\xd9",
    "jpeg with svg": JPEG_MIN[:-2] + b"<svg onload=alert(1)>" + b"\xff\xd9",
    "jpeg with php": JPEG_MIN[:-2] + b"<?php system($_GET['c']); ?>" + b"\xff\xd9",
    "png with an iframe": PNG_1PX[:-12] + b"<iframe src=x>" + PNG_1PX[-12:],
    "jpeg that is also zip": JPEG_MIN[:-2] + _zip() + b"\xff\xd9",
}


@pytest.mark.parametrize("name", list(POLYGLOTS))
async def test_polyglots_are_415(client, tokens, name):
    response = await client.post(
        "/v1/materials",
        headers=tokens.citizen(*ZHANG_WEI[:2]),
        files={"file": ("proof.pdf", POLYGLOTS[name], "application/pdf")},
    )
    assert response.status_code == 415, response.text
    assert response.json()["code"] == "UNSUPPORTED_MATERIAL_TYPE"


@pytest.mark.parametrize(
    "content,expected", [(PDF_PROOF, "application/pdf"), (PNG_1PX, "image/png"), (JPEG_MIN, "image/jpeg")]
)
def test_honest_files_are_still_accepted(content, expected):
    assert media_type_of(content) == expected


def test_pdf_dictionaries_and_hex_strings_are_not_markup():
    pdf = b"%PDF-1.7\n1 0 obj <</Type /Catalog /Pages 2 0 R /ID [<a1 b2> <c3d4>]>> endobj\ntrailer<<>>\n%%EOF\n"
    assert media_type_of(pdf) == "application/pdf"
