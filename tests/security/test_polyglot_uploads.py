"""Uploads are judged by structure (issue 13, item 10; issue 27; docs/api.md#uploads), not by a list of bad
strings: a file that is also another type is 415 (a PDF that is also a ZIP, one with bytes inserted
outside its objects, an image carrying a PDF header); a PDF that would act (JavaScript, a launch action,
an embedded file) is 415; an image is decoded and re-encoded, so whatever markup it carried, in any tag
or encoding, never reaches storage. The markup denylist this replaced let `<audio onerror>`,
`<svg:svg onload>` and UTF-16 `<script>` through, and knew nothing of PDF actions."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from app.materials.sniffing import media_type_of
from tests.builders import (
    PDF_PROOF,
    ZHANG_WEI,
    file,
    jpeg_image,
    pdf_document,
    png_image,
    residence_permit,
)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    return buffer.getvalue()


JPEG, PNG = jpeg_image(), png_image()

POLYGLOTS = {
    "pdf that is also html": PDF_PROOF.replace(
        b"1 0 obj", b"<html><body><script>alert(1)</script></body></html>\n1 0 obj"
    ),
    "pdf with a doctype": b"%PDF-1.4\n<!DOCTYPE html>\n" + PDF_PROOF[9:],
    "pdf with audio markup between objects": PDF_PROOF.replace(
        b"endobj\n2 0 obj", b"endobj\n<audio src=x onerror=alert(1)>\n2 0 obj"
    ),
    "pdf with html after its end": PDF_PROOF + b"<svg:svg onload=alert(1)>",
    "pdf that is also zip (appended)": PDF_PROOF + _zip() + b"\n%%EOF\n",
    "pdf that is also zip (embedded)": PDF_PROOF[:-6] + _zip() + b"\n%%EOF\n",
    "jpeg that is also zip": JPEG[:-2] + _zip() + b"\xff\xd9",
    "jpeg with a pdf header": JPEG[:20] + b"%PDF-1.4 polyglot" + JPEG[20:],
    "png that is also zip": PNG + _zip(),
    "not a jpeg at all": b"\xff\xd8\xff\xe0" + b"\x00" * 32 + b"\xff\xd9",
}

ACTIVE_PDFS = {
    "OpenAction JavaScript": pdf_document(catalog=b"/OpenAction<</S/JavaScript/JS(app.alert(1))>>"),
    "OpenAction JavaScript by reference": pdf_document(
        catalog=b"/OpenAction 5 0 R", extra_objects=(b"<<>>", b"<</S/JavaScript/JS 6 0 R>>", b"(app.alert(1))")
    ),
    "Launch action": pdf_document(catalog=b"/OpenAction<</S/Launch/F(cmd.exe)>>"),
    "JavaScript name tree": pdf_document(
        catalog=b"/Names<</JavaScript<</Names[(x) 4 0 R]>>>>", extra_objects=(b"<</S/JavaScript/JS(1)>>",)
    ),
    "page additional action": pdf_document(catalog=b"/AA<</WC<</S/JavaScript/JS(this.exportDataObject())>>>>"),
    "embedded file": pdf_document(
        catalog=b"/Names<</EmbeddedFiles<</Names[(a.html) 4 0 R]>>>>",
        extra_objects=(
            b"<</Type/Filespec/F(a.html)/EF<</F 5 0 R>>>>",
            b"<</Type/EmbeddedFile/Length 5>>stream\nhello\nendstream",
        ),
    ),
    "XFA form": pdf_document(catalog=b"/AcroForm<</Fields[]/XFA 4 0 R>>", extra_objects=(b"(<xdp/>)",)),
}

# Markup an image may carry where a viewer never looks: in a comment, a text chunk, after its end.
MARKUP = (b"<audio src=x onerror=alert(1)>", b"<svg:svg onload=alert(1)>", "<script>alert(1)</script>".encode("utf-16"))
MARKED_IMAGES = {
    "jpeg comment with audio": (jpeg_image(comment=MARKUP[0]), "image/jpeg"),
    "jpeg comment with svg:svg": (jpeg_image(comment=MARKUP[1]), "image/jpeg"),
    "png text chunk with utf-16 script": (png_image(chunks=((b"tEXt", b"Comment\x00" + MARKUP[2]),)), "image/png"),
    "jpeg with markup after its end": (JPEG + MARKUP[1], "image/jpeg"),
}


async def _upload(client, tokens, content: bytes):
    return await client.post(
        "/v1/materials",
        headers=tokens.citizen(*ZHANG_WEI[:2]),
        files={"file": ("proof.pdf", content, "application/pdf")},
    )


@pytest.mark.parametrize("name", list(POLYGLOTS))
async def test_polyglots_are_415(client, tokens, name):
    response = await _upload(client, tokens, POLYGLOTS[name])
    assert response.status_code == 415, response.text
    assert response.json()["code"] == "UNSUPPORTED_MATERIAL_TYPE"


@pytest.mark.parametrize("name", list(ACTIVE_PDFS))
async def test_pdfs_that_would_act_are_415(client, tokens, name):
    response = await _upload(client, tokens, ACTIVE_PDFS[name])
    assert response.status_code == 415, response.text
    assert response.json()["code"] == "UNSUPPORTED_MATERIAL_TYPE"


@pytest.mark.parametrize("name", list(MARKED_IMAGES))
async def test_markup_in_an_image_never_reaches_storage(client, tokens, name):
    content, media_type = MARKED_IMAGES[name]
    citizen = tokens.citizen(*ZHANG_WEI[:2])
    uploaded = await _upload(client, tokens, content)
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["media_type"] == media_type
    application = (await file(client, citizen, residence_permit(ZHANG_WEI[2], [uploaded.json()["id"]]))).json()
    stored = await client.get(
        f"/v1/applications/{application['id']}/materials/{uploaded.json()['id']}", headers=citizen
    )
    assert stored.status_code == 200
    for markup in MARKUP:
        assert markup not in stored.content
    assert b"onerror" not in stored.content and b"onload" not in stored.content
    Image.open(io.BytesIO(stored.content)).load()  # still the image, pixels intact


@pytest.mark.parametrize("content,expected", [(PDF_PROOF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg")])
def test_honest_files_are_still_accepted(content, expected):
    assert media_type_of(content) == expected


def test_pdf_dictionaries_and_hex_strings_are_not_markup():
    pdf = pdf_document(catalog=b"/ID[<a1b2> <c3d4>]/Lang(<zh-CN>)")
    assert media_type_of(pdf) == "application/pdf"


def test_an_image_that_decodes_to_a_pixel_bomb_is_refused():
    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buffer, format="PNG")  # ~12 KB on disk, 100 megapixels
    assert media_type_of(buffer.getvalue()) is None
