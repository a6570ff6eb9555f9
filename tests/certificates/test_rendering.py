from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pypdf
import pytest

from app.certificates.rendering import CertificateRenderer, format_date_zh
from tests.certificates.cert_builders import SERVICES, WQY_FONT, make_document


def _pypdf_text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


def _pdftotext(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def _expected_strings(service: str) -> list[str]:
    doc = make_document(service)
    return [
        doc.title,
        doc.holder_name,
        doc.holder_id_number,
        doc.serial,
        doc.verification_code,
        doc.issuing_authority,
        format_date_zh(doc.issued_on),
        format_date_zh(doc.expires_on),
        *(value for _, value in doc.facts),
        *(label for label, _ in doc.facts),
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_each_document_is_one_a4_page_whose_chinese_text_pypdf_extracts(
    renderer: CertificateRenderer, service: str
) -> None:
    pdf = renderer.render(make_document(service))
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    text = _pypdf_text(pdf)
    for expected in _expected_strings(service):
        assert expected in text, expected


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
@pytest.mark.parametrize("service", SERVICES)
def test_pdftotext_extracts_the_chinese_text(
    renderer: CertificateRenderer, service: str, tmp_path: Path
) -> None:
    text = _pdftotext(renderer.render(make_document(service)), tmp_path)
    for expected in _expected_strings(service):
        assert expected in text, expected


def test_serial_is_in_the_metadata(renderer: CertificateRenderer) -> None:
    doc = make_document()
    meta = pypdf.PdfReader(io.BytesIO(renderer.render(doc))).metadata
    assert meta is not None
    assert meta.subject == doc.serial
    assert meta.title == doc.title


def _fonts(pdf: bytes) -> dict[str, bool]:
    """Each font the page uses, and whether its program is embedded."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    found = {}
    for ref in reader.pages[0]["/Resources"]["/Font"].values():
        font = ref.get_object()
        for descendant in font.get("/DescendantFonts", [font]):
            descriptor = descendant.get_object().get("/FontDescriptor")
            embedded = descriptor is not None and any(
                key in descriptor.get_object() for key in ("/FontFile", "/FontFile2", "/FontFile3"))
            found[str(font["/BaseFont"])] = embedded
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_by_default_every_font_is_embedded_with_nothing_installed(renderer: CertificateRenderer, service: str) -> None:
    pdf = renderer.render(make_document(service))
    fonts = _fonts(pdf)
    assert fonts and all(fonts.values()), fonts
    assert all("NotoSerifSC" in name for name in fonts), fonts  # the bundled font, no standard-14 one
    assert b"/Helvetica" not in pdf and b"/Courier" not in pdf


def test_the_bundled_font_has_uncommon_name_characters_and_its_licence() -> None:
    from reportlab.pdfbase.ttfonts import TTFontFile

    from app.certificates.rendering import BUNDLED_FONT

    covered = TTFontFile(str(BUNDLED_FONT)).charToGlyph
    for ch in "张伟李娜王芳沈国强欧阳司马堃喆玥珺昇，。：（）《》0123456789ABCDEFGHJKMNPQRSTVWXYZ-:/.":
        assert ord(ch) in covered, ch
    assert "SIL Open Font License" in (BUNDLED_FONT.parent / "OFL.txt").read_text()


def test_builtin_cid_font_on_request_is_not_embedded() -> None:
    from app.certificates.rendering import BUILTIN_CID_FONT

    pdf = CertificateRenderer(font_file=BUILTIN_CID_FONT).render(make_document())
    assert b"/STSong-Light" in pdf
    assert b"/FontFile2" not in pdf


@pytest.mark.skipif(not WQY_FONT.is_file(), reason="fonts-wqy-microhei not installed")
def test_a_truetype_font_file_is_embedded_as_a_subset_and_text_still_extracts() -> None:
    renderer = CertificateRenderer(font_file=WQY_FONT)
    doc = make_document("household-registration-certificate")
    pdf = renderer.render(doc)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    embedded = []
    for ref in fonts.values():
        font = ref.get_object()
        for descendant in font.get("/DescendantFonts", [font]):
            descriptor = descendant.get_object().get("/FontDescriptor")
            if descriptor is not None and "/FontFile2" in descriptor.get_object():
                embedded.append(str(font["/BaseFont"]))
    assert embedded, "no /FontFile2 stream: the CJK font was not embedded"
    text = _pypdf_text(pdf)
    assert doc.title in text and doc.holder_name in text and doc.serial in text


def test_a_missing_font_file_fails_at_construction(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        CertificateRenderer(font_file=tmp_path / "missing.ttf")


def test_fonts_are_registered_once_per_process() -> None:
    assert CertificateRenderer().font_name == CertificateRenderer().font_name


def test_long_values_wrap_within_the_column(renderer: CertificateRenderer) -> None:
    width = 200.0
    lines = renderer._wrap("上海市浦东新区张江高科技园区碧波路690号1号楼2单元1203室（临时居住）。", 13, width)
    assert len(lines) > 1
    assert all(renderer._width(line.rstrip("。"), 13) <= width for line in lines)
    assert not any(
        line.startswith(("，", "。", "）")) for line in lines
    )  # no line opens with closing punctuation


@pytest.mark.skipif(
    shutil.which("zbarimg") is None or shutil.which("pdftoppm") is None,
    reason="zbar-tools / poppler-utils not installed",
)
def test_the_qr_code_scans_to_the_verification_url(renderer: CertificateRenderer, tmp_path: Path) -> None:
    doc = make_document("no-criminal-record-certificate")
    (tmp_path / "doc.pdf").write_bytes(renderer.render(doc))
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", "doc.pdf", "page"], cwd=tmp_path, check=True
    )
    scanned = subprocess.run(
        ["zbarimg", "-q", "--raw", "page.png"], check=False, cwd=tmp_path, capture_output=True, text=True
    )
    assert scanned.stdout.strip() == doc.verify_url


@pytest.mark.parametrize(
    "font",
    [None, pytest.param(WQY_FONT, marks=pytest.mark.skipif(not WQY_FONT.is_file(), reason="no wqy font"))],
    ids=["cid", "ttf"],
)
def test_one_renderer_serves_several_threads(font: Path | None) -> None:
    # The service shares one renderer across a thread pool; reportlab's TrueType subsetting is not
    # thread-safe on its own (it failed about one run in three here before renders took turns).
    from concurrent.futures import ThreadPoolExecutor

    renderer = CertificateRenderer(font_file=font)
    names = ("李四", "王五六", "欧阳娜娜", "司马相如")
    docs = [make_document(service, holder_name=name) for service in SERVICES for name in names] * 4

    with ThreadPoolExecutor(max_workers=4) as pool:
        pdfs = list(pool.map(renderer.render, docs))
    for doc, pdf in zip(docs, pdfs, strict=True):
        text = _pypdf_text(pdf)
        assert doc.holder_name in text and doc.serial in text and doc.title in text


def test_a_long_body_shrinks_instead_of_running_into_the_footer(renderer: CertificateRenderer) -> None:
    import dataclasses

    from app.certificates.rendering import _BODY_FLOOR

    sentence = "兹证明持证人在上海市长宁区虹桥路1号5号楼301室居住，已办理居住登记满六个月。"
    doc = dataclasses.replace(make_document(), body=sentence * 9 + "\n特此证明。")
    page = pypdf.PdfReader(io.BytesIO(renderer.render(doc))).pages[0]
    body_baselines: list[float] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        if "兹证明" in text or "特此证明" in text or "六个月" in text:
            body_baselines.append(tm[5] * cm[3] + cm[5])

    page.extract_text(visitor_text=visit)
    assert body_baselines
    assert min(body_baselines) >= _BODY_FLOOR - 0.5
