from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import shutil
import stat
import subprocess
from pathlib import Path

import pypdf
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import pdf_cms
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from app.certificates.cms_signer import CachedKeySigner
from app.certificates.pdf_inspection import inspect_pdf
from app.certificates.rendering import CertificateRenderer
from app.certificates.signing import (
    DEV_COMMON_NAME,
    PdfSigner,
    _to_asn1,
    ensure_dev_signing_material,
    verify_bytes,
)
from tests.certificates.cert_builders import make_document

# -- development material -----------------------------------------------------------------------


def test_dev_material_is_made_once_with_a_private_key_file(tmp_path: Path) -> None:
    key_path, cert_path = ensure_dev_signing_material(tmp_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    first = (key_path.read_bytes(), cert_path.read_bytes())
    assert ensure_dev_signing_material(tmp_path) == (key_path, cert_path)
    assert (key_path.read_bytes(), cert_path.read_bytes()) == first
    cert = x509.load_pem_x509_certificate(first[1])
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == DEV_COMMON_NAME
    key = serialization.load_pem_private_key(first[0], password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"


def test_a_certificate_that_does_not_match_the_key_is_refused(
    tmp_path: Path, signing_material: tuple[Path, Path]
) -> None:
    other_key, _ = ensure_dev_signing_material(tmp_path)
    with pytest.raises(ValueError, match="does not match"):
        PdfSigner(key_file=other_key, cert_file=signing_material[1])


# -- PDF signatures -----------------------------------------------------------------------------


def test_signed_pdf_validates_with_pyhanko_as_intact_whole_file_and_signed_by_our_certificate(
    signer: PdfSigner, signed_pdf: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    reader = PdfFileReader(io.BytesIO(signed_pdf))
    (sig,) = reader.embedded_signatures
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=signer.trust_roots))
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.bottom_line
    assert status.signing_cert.dump() == signer.certificate_asn1.dump()
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_signing_appends_an_incremental_update_and_keeps_the_text(unsigned_pdf: bytes, signed_pdf: bytes) -> None:
    assert signed_pdf.startswith(unsigned_pdf)  # the rendered bytes are untouched, the signature follows
    text = pypdf.PdfReader(io.BytesIO(signed_pdf)).pages[0].extract_text()
    assert make_document().title in text and make_document().serial in text


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils not installed")
def test_pdfsig_accepts_the_signature(signed_pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed_pdf)
    out = subprocess.run(["pdfsig", str(path)], check=False, capture_output=True, text=True).stdout
    assert "Signature is Valid." in out
    assert "Total document signed" in out
    assert "ETSI.CAdES.detached" in out
    assert DEV_COMMON_NAME in out


def test_the_key_is_loaded_once_and_each_document_signed_once(
    signing_material: tuple[Path, Path], unsigned_pdf: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Spy (not mock) on the function pyHanko's SimpleSigner uses to re-parse the key per signature.
    parses = []
    real_load = pdf_cms.serialization.load_der_private_key

    def counting_load(*args: object, **kwargs: object) -> object:
        parses.append(1)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(pdf_cms.serialization, "load_der_private_key", counting_load)
    key_file, cert_file = signing_material
    signer = PdfSigner(key_file=key_file, cert_file=cert_file)
    raw_signatures = []
    real_sign_raw = signer._signer.sign_raw
    monkeypatch.setattr(signer._signer, "sign_raw", lambda *a: raw_signatures.append(1) or real_sign_raw(*a))

    for _ in range(2):
        inspect = inspect_pdf(signer.sign(unsigned_pdf), trust_roots=signer.trust_roots)
        assert inspect.signature_intact and inspect.signed_by_us
    assert signer.key_loads == 1
    assert parses == []
    assert len(raw_signatures) == 2  # bytes_reserved is set: no dry-run signature to size the field


def test_sign_refuses_to_run_on_the_event_loop(signer: PdfSigner, unsigned_pdf: bytes) -> None:
    async def on_loop() -> None:
        with pytest.raises(RuntimeError, match="to_thread"):
            signer.sign(unsigned_pdf)

    asyncio.run(on_loop())


async def test_sign_works_from_a_worker_thread_while_a_loop_runs(signer: PdfSigner, unsigned_pdf: bytes) -> None:
    signed = await asyncio.to_thread(signer.sign, unsigned_pdf)
    report = await asyncio.to_thread(inspect_pdf, signed, trust_roots=signer.trust_roots)
    assert report.signature_intact


def test_one_signer_serves_several_threads(signer: PdfSigner, renderer: CertificateRenderer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tests.certificates.cert_builders import SERVICES

    pdfs = [renderer.render(make_document(service)) for service in SERVICES] * 4
    with ThreadPoolExecutor(max_workers=4) as pool:
        signed = list(pool.map(signer.sign, pdfs))
    for original, result in zip(pdfs, signed, strict=True):
        assert result.startswith(original)
        assert inspect_pdf(result, trust_roots=signer.trust_roots).authentic


# -- RSA, a certificate chain, and the CMS template -------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _rsa_chain(tmp_path: Path) -> tuple[Path, Path, rsa.RSAPrivateKey, x509.Certificate]:
    """A CA and a leaf it issued, in one PEM file (leaf first), with an RSA-2048 leaf key."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("test CA"))
        .issuer_name(_name("test CA"))
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("test signer"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key_path, cert_path = tmp_path / "key.pem", tmp_path / "chain.pem"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path, key, ca


def test_rsa_key_with_a_chain_file_signs_and_validates(tmp_path: Path, unsigned_pdf: bytes) -> None:
    key_path, cert_path, _, ca = _rsa_chain(tmp_path)
    signer = PdfSigner(key_file=key_path, cert_file=cert_path)
    signed = signer.sign(unsigned_pdf)
    report = inspect_pdf(signed, trust_roots=signer.trust_roots)
    assert report.signature_intact and report.signed_by_us
    # Trusting the CA instead validates too: the chain is embedded in the signature.
    assert inspect_pdf(signed, trust_roots=[ca]).signed_by_us


def test_template_cms_is_byte_identical_to_pyhankos_own(tmp_path: Path) -> None:
    # RSA PKCS#1 v1.5 is deterministic, so the two constructions can be compared byte for byte.
    _key_path, cert_path, key, _ = _rsa_chain(tmp_path)
    chain = [_to_asn1(c) for c in x509.load_pem_x509_certificates(cert_path.read_bytes())]
    fast = CachedKeySigner(key=key, chain=chain)
    reference = CachedKeySigner(key=key, chain=chain, fast_cms=False)
    digest = hashlib.sha256(b"document").digest()
    attrs = PdfCMSSignedAttributes(signing_time=dt.datetime.now(dt.UTC))

    async def both() -> tuple[object, object]:
        a = await fast.async_sign(digest, "sha256", use_pades=True, signed_attr_settings=attrs)
        b = await reference.async_sign(digest, "sha256", use_pades=True, signed_attr_settings=attrs)
        return a, b

    ours, theirs = asyncio.run(both())
    assert isinstance(ours, bytes)
    assert ours == theirs.dump()  # type: ignore[attr-defined]


def test_the_pyhanko_path_without_the_template_also_validates(
    signing_material: tuple[Path, Path], unsigned_pdf: bytes
) -> None:
    signer = PdfSigner(key_file=signing_material[0], cert_file=signing_material[1], fast_cms=False)
    report = inspect_pdf(signer.sign(unsigned_pdf), trust_roots=signer.trust_roots)
    assert report.signature_intact and report.signed_by_us


@pytest.mark.skipif(not Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc").is_file(), reason="no wqy font")
def test_an_embedded_font_document_signs_and_validates(signer: PdfSigner) -> None:
    pdf = CertificateRenderer(font_file=Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")).render(make_document())
    assert inspect_pdf(signer.sign(pdf), trust_roots=signer.trust_roots).authentic


# -- raw signatures for audit checkpoints -------------------------------------------------------------


def test_sign_bytes_verifies_with_the_certificate_alone(signer: PdfSigner) -> None:
    data = b"checkpoint 1042 " + bytes(32)
    signature = signer.sign_bytes(data)
    assert signer.verify_bytes(data, signature)
    cert = x509.load_pem_x509_certificate(signer.certificate_pem.encode())
    assert verify_bytes(cert, data, signature)
    assert not verify_bytes(cert, data + b"x", signature)
    assert not verify_bytes(cert, data, b"\x30\x06\x02\x01\x01\x02\x01\x01")


def test_rsa_sign_bytes_round_trips(tmp_path: Path) -> None:
    key_path, cert_path, _, _ = _rsa_chain(tmp_path)
    signer = PdfSigner(key_file=key_path, cert_file=cert_path)
    assert signer.verify_bytes(b"abc", signer.sign_bytes(b"abc"))
    assert not signer.verify_bytes(b"abd", signer.sign_bytes(b"abc"))
