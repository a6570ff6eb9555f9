from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from app.certificates.pdf_inspection import MAX_PDF_BYTES, SignatureReport, inspect_pdf
from app.certificates.signing import PdfSigner, ensure_dev_signing_material


def _signed_range(pdf: bytes) -> tuple[int, int, int, int]:
    (sig,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    start1, len1, start2, len2 = (int(x) for x in sig.sig_object["/ByteRange"])
    return start1, len1, start2, len2


def _flip(pdf: bytes, offset: int) -> bytes:
    altered = bytearray(pdf)
    altered[offset] ^= 0x01
    return bytes(altered)


def test_our_signed_pdf_is_intact_ours_and_names_its_serial(
    signer: PdfSigner, signed_pdf: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    report = inspect_pdf(signed_pdf, trust_roots=signer.trust_roots)
    assert report == SignatureReport(True, True, "JZZ-2026-00012345", None)
    assert report.authentic
    # The trust root is given, so pyHanko has no untrusted self-signed certificate to complain about.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_trust_roots_may_be_given_as_pem_or_cryptography_objects(signer: PdfSigner, signed_pdf: bytes) -> None:
    assert inspect_pdf(signed_pdf, trust_roots=[signer.certificate_pem.encode()]).authentic
    assert inspect_pdf(signed_pdf, trust_roots=[signer.certificate]).authentic


@pytest.mark.parametrize("where", ["serial in metadata", "page content", "first byte", "after signature"])
def test_one_altered_byte_in_the_signed_range_breaks_it(signer: PdfSigner, signed_pdf: bytes, where: str) -> None:
    start1, len1, start2, len2 = _signed_range(signed_pdf)
    offset = {
        "serial in metadata": signed_pdf.index(b"JZZ-2026-00012345") + 10,
        "page content": len1 // 2,
        "first byte": start1 + 1,
        "after signature": start2 + len2 // 2,
    }[where]
    assert start1 <= offset < start1 + len1 or start2 <= offset < start2 + len2
    report = inspect_pdf(_flip(signed_pdf, offset), trust_roots=signer.trust_roots)
    assert not report.signature_intact
    assert not report.authentic


def test_an_altered_signature_value_breaks_it(signer: PdfSigner, signed_pdf: bytes) -> None:
    start1, len1, _, _ = _signed_range(signed_pdf)
    # /Contents is the hex string between the two ranges; change a digit well inside the CMS blob.
    hex_offset = start1 + len1 + 1 + 600
    altered = bytearray(signed_pdf)
    altered[hex_offset] = ord("0") if altered[hex_offset] != ord("0") else ord("1")
    assert not inspect_pdf(bytes(altered), trust_roots=signer.trust_roots).signature_intact


def test_anything_appended_after_signing_is_not_intact(signer: PdfSigner, signed_pdf: bytes) -> None:
    for tail in (b"\n%%EOF\n", b"\n% a comment\n"):
        assert not inspect_pdf(signed_pdf + tail, trust_roots=signer.trust_roots).signature_intact


def test_an_incremental_update_after_signing_is_not_intact(signer: PdfSigner, signed_pdf: bytes) -> None:
    # A well-formed later revision (here: a new /Subject naming another record) is still a change.
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_pdf))
    info = writer.trailer["/Info"].get_object()
    info["/Subject"] = generic.TextStringObject("JZZ-2026-99999999")
    writer.update_container(info)
    out = io.BytesIO()
    writer.write(out)
    report = inspect_pdf(out.getvalue(), trust_roots=signer.trust_roots)
    assert not report.signature_intact
    assert report.problem == "modified_after_signing"


def test_a_pdf_signed_with_another_key_is_not_intact(signer: PdfSigner, unsigned_pdf: bytes, tmp_path: Path) -> None:
    # Same common name, different key: a look-alike must not pass (docs/api.md#certificates-fit-to-print: intact only
    # for a signature by our key or a trusted earlier one).
    key_file, cert_file = ensure_dev_signing_material(tmp_path)
    impostor = PdfSigner(key_file=key_file, cert_file=cert_file)
    forged = impostor.sign(unsigned_pdf)
    assert inspect_pdf(forged, trust_roots=impostor.trust_roots).signature_intact  # a flawless signature...
    report = inspect_pdf(forged, trust_roots=signer.trust_roots)
    assert not report.signature_intact  # ...but not ours
    assert not report.signed_by_us
    assert not report.authentic
    assert report.problem == "not_our_signer"


def test_after_a_key_rotation_documents_signed_by_the_trusted_earlier_key_still_verify(
    signing_material: tuple[Path, Path], unsigned_pdf: bytes, tmp_path: Path
) -> None:
    old = PdfSigner(key_file=signing_material[0], cert_file=signing_material[1])
    signed_before = old.sign(unsigned_pdf)
    new_key, new_cert = ensure_dev_signing_material(tmp_path / "rotated")
    rotated = PdfSigner(key_file=new_key, cert_file=new_cert, trusted_certs_file=signing_material[1])
    not_trusting = PdfSigner(key_file=new_key, cert_file=new_cert)

    assert inspect_pdf(signed_before, trust_roots=rotated.trust_roots).authentic
    assert inspect_pdf(rotated.sign(unsigned_pdf), trust_roots=rotated.trust_roots).authentic
    assert not inspect_pdf(signed_before, trust_roots=not_trusting.trust_roots).signature_intact
    # The earlier key only verifies: new documents are signed by the configured key.
    assert rotated.certificate_asn1.dump() != old.certificate_asn1.dump()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage",
        b"\x00" * 1000,
        b"%PDF-1.7\n",
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF",
        bytes(range(256)) * 8,
    ],
    ids=["empty", "text", "zeros", "header only", "broken pdf", "binary"],
)
def test_garbage_is_not_intact_and_does_not_raise(signer: PdfSigner, data: bytes) -> None:
    report = inspect_pdf(data, trust_roots=signer.trust_roots)
    assert not report.signature_intact and not report.signed_by_us


def test_a_truncated_signed_pdf_is_not_intact(signer: PdfSigner, signed_pdf: bytes) -> None:
    for cut in (len(signed_pdf) // 3, len(signed_pdf) - 40):
        assert not inspect_pdf(signed_pdf[:cut], trust_roots=signer.trust_roots).signature_intact


def test_an_unsigned_pdf_is_not_intact_but_its_serial_is_read(signer: PdfSigner, unsigned_pdf: bytes) -> None:
    report = inspect_pdf(unsigned_pdf, trust_roots=signer.trust_roots)
    assert report == SignatureReport(False, False, "JZZ-2026-00012345", "unsigned")


def test_inputs_over_10_mib_are_refused_without_parsing(signer: PdfSigner, signed_pdf: bytes) -> None:
    huge = signed_pdf + b"\n" * (MAX_PDF_BYTES + 1 - len(signed_pdf))
    report = inspect_pdf(huge, trust_roots=signer.trust_roots)
    assert report.problem == "too_large" and not report.signature_intact


def test_inspect_refuses_the_event_loop(signer: PdfSigner, signed_pdf: bytes) -> None:
    async def on_loop() -> None:
        with pytest.raises(RuntimeError):
            inspect_pdf(signed_pdf, trust_roots=signer.trust_roots)

    asyncio.run(on_loop())
