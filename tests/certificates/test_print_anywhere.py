"""A certificate looks the same on any machine: rendered by poppler with no font available to it at
all, each kind still shows its Chinese text and the red seal. The PNGs are kept as test artifacts
(ARTIFACTS_DIR, default ./artifacts). Also the archival parts (output intent, XMP), and that the document
claims no PDF/A conformance, which no validator here could confirm (docs/deployment.md)."""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import subprocess
from pathlib import Path

import pypdf
import pytest
from PIL import Image

from app.certificates.pdfa import srgb_icc_profile
from app.certificates.rendering import BUILTIN_CID_FONT, PAGE_HEIGHT, PAGE_WIDTH, CertificateRenderer
from app.certificates.signing import PdfSigner
from tests.certificates.cert_builders import SERVICES, make_document

ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", Path(__file__).resolve().parents[2] / "artifacts"))
PDFTOPPM = shutil.which("pdftoppm")
DPI = 72  # one pixel per point: PDF coordinates map straight onto the image
KINDS = [*SERVICES, "reissued"]


@pytest.fixture(scope="module")
def no_fonts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment whose fontconfig knows no font directory at all."""
    folder = tmp_path_factory.mktemp("fontconfig")
    config = folder / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
        f"<fontconfig><cachedir>{folder / 'cache'}</cachedir></fontconfig>\n"
    )
    env = {**os.environ, "FONTCONFIG_FILE": str(config), "FONTCONFIG_PATH": str(folder)}
    if shutil.which("fc-list"):
        listed = subprocess.run(["fc-list"], env=env, capture_output=True, text=True, check=False).stdout
        assert listed.strip() == "", "the font-free configuration still finds fonts"
    return env


def _document(kind: str):  # type: ignore[no-untyped-def]
    if kind == "reissued":
        return dataclasses.replace(
            make_document("residence-permit"), serial="JZZ-2026-00012346", replaces="JZZ-2026-00012345"
        )
    return make_document(kind)


def _render_png(pdf: bytes, env: dict[str, str], tmp_path: Path, name: str) -> tuple[Image.Image, str]:
    (tmp_path / f"{name}.pdf").write_bytes(pdf)
    done = subprocess.run(
        [PDFTOPPM, "-r", str(DPI), "-png", "-singlefile", f"{name}.pdf", name],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return Image.open(tmp_path / f"{name}.png").convert("RGB"), done.stderr


def _ink(image: Image.Image, box: tuple[float, float, float, float], *, red: bool = False) -> int:
    """Pixels of ink (dark, or seal red) inside a box given in PDF points from the bottom left."""
    x0, y0, x1, y1 = box
    crop = image.crop((int(x0), int(PAGE_HEIGHT - y1), int(x1), int(PAGE_HEIGHT - y0)))
    data = crop.tobytes()
    pixels = zip(data[0::3], data[1::3], data[2::3], strict=True)
    if red:
        return sum(1 for r, g, b in pixels if r > 150 and g < 110 and b < 110)
    return sum(1 for r, g, b in pixels if r + g + b < 300)


@pytest.mark.skipif(PDFTOPPM is None, reason="poppler-utils (pdftoppm) not installed")
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_renders_its_chinese_text_and_seal_with_no_font_installed(
    renderer: CertificateRenderer, signer: PdfSigner, no_fonts: dict[str, str], tmp_path: Path, kind: str
) -> None:
    pdf = signer.sign(renderer.render(_document(kind)))
    image, stderr = _render_png(pdf, no_fonts, tmp_path, kind)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    image.save(ARTIFACTS / f"certificate-{kind}-no-system-fonts.png")

    assert abs(image.size[0] - PAGE_WIDTH) <= 1 and abs(image.size[1] - PAGE_HEIGHT) <= 1
    assert "font" not in stderr.lower(), stderr  # poppler needed no substitute
    facts_column = (190, 450, 515, 680)  # the holder's name and full id number, in black
    seal = (390, 130, 515, 255)
    assert _ink(image, facts_column) > 600
    assert _ink(image, seal, red=True) > 1500

    # The same page in the non-embedded CID font, under the same font-free configuration, loses its
    # Chinese text: that is what the embedded font prevents.
    bare, _ = _render_png(
        CertificateRenderer(font_file=BUILTIN_CID_FONT).render(_document(kind)), no_fonts, tmp_path, f"{kind}-cid"
    )
    assert _ink(bare, facts_column) < _ink(image, facts_column) / 2


def test_the_pdf_carries_the_archival_parts_and_claims_no_pdfa_conformance(
    renderer: CertificateRenderer, signer: PdfSigner
) -> None:
    pdf = signer.sign(renderer.render(make_document()))
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    root = reader.trailer["/Root"]
    (intent,) = [i.get_object() for i in root["/OutputIntents"]]
    assert intent["/S"] == "/GTS_PDFA1"
    profile = intent["/DestOutputProfile"].get_object()
    assert profile["/N"] == 3 and profile.get_data() == srgb_icc_profile()
    icc = srgb_icc_profile()
    assert int.from_bytes(icc[:4], "big") == len(icc) and icc[36:40] == b"acsp" and icc[8] == 2  # ICC v2
    # littleCMS reads the profile, and it is sRGB: colours map to lcms's own sRGB unchanged.
    from PIL import ImageCms

    ours = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    assert ImageCms.getProfileDescription(ours).strip() == "sRGB IEC61966-2.1"
    to_srgb = ImageCms.buildTransform(ours, ImageCms.createProfile("sRGB"), "RGB", "RGB")
    for colour in ((200, 30, 30), (0, 0, 0), (255, 255, 255), (90, 160, 220)):
        mapped = ImageCms.applyTransform(Image.new("RGB", (1, 1), colour), to_srgb).getpixel((0, 0))
        assert all(abs(a - b) <= 2 for a, b in zip(mapped, colour, strict=True)), (colour, mapped)
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    # A conformance claim is made only where a validator has passed the document; none runs here.
    assert "pdfaid" not in xmp and "http://www.aiim.org/pdfa/ns/id/" not in xmp
    assert b"pdfaid" not in pdf
    info = reader.metadata
    assert info is not None and info.producer is not None and info.producer in xmp  # kept equal after signing
    assert info.title in xmp and "/ID" in reader.trailer and not reader.is_encrypted
    for ref in reader.pages[0]["/Resources"]["/Font"].values():
        descriptor = ref.get_object()["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor
