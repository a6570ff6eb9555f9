"""Signatures that keep: RFC 3161 time stamps (TSA_URL), key rotation (SIGNING_TRUSTED_CERTS), and
standard validators (poppler's pdfsig, pyHanko's validator) accepting re-issued and pre-rotation PDFs."""

from __future__ import annotations

import asyncio
import io
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from app.certificates.pdf_inspection import inspect_pdf
from app.certificates.signing import DEV_CERT_FILENAME, PdfSigner, ensure_dev_signing_material
from app.main import create_app
from tests.builders import LI_NA, ZHANG_WEI, file_residence_permit
from tests.certificates.tsa_server import running_tsa

PDFSIG = shutil.which("pdfsig")


def _pyhanko_status(pdf: bytes, *, trust: list, tsa_trust: list | None = None):  # type: ignore[no-untyped-def]
    (signature,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    return validate_pdf_signature(
        signature,
        signer_validation_context=ValidationContext(trust_roots=trust),
        ts_validation_context=ValidationContext(trust_roots=tsa_trust) if tsa_trust else None,
    )


def _pdfsig(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / f"doc-{len(list(tmp_path.iterdir()))}.pdf"
    path.write_bytes(pdf)
    return subprocess.run([PDFSIG, str(path)], capture_output=True, text=True, check=False).stdout


def test_with_a_tsa_each_signature_carries_an_rfc3161_time_stamp(
    signing_material: tuple[Path, Path], unsigned_pdf: bytes, signer: PdfSigner
) -> None:
    with running_tsa() as tsa:
        stamping = PdfSigner(key_file=signing_material[0], cert_file=signing_material[1], tsa_url=tsa.url)
        signed = stamping.sign(unsigned_pdf)
        assert len(tsa.requests) == 1
        rounds = 10
        started = time.perf_counter()
        for _ in range(rounds):
            stamping.sign(unsigned_pdf)
        stamped_ms = (time.perf_counter() - started) * 1000 / rounds
    started = time.perf_counter()
    for _ in range(rounds):
        signer.sign(unsigned_pdf)
    plain_ms = (time.perf_counter() - started) * 1000 / rounds
    print(f"\nsigning with a time stamp: {stamped_ms:.1f} ms/document, without: {plain_ms:.1f} ms")

    status = _pyhanko_status(signed, trust=signer.trust_roots, tsa_trust=[tsa.certificate])
    assert status.intact and status.valid and status.trusted
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact and status.timestamp_validity.valid
    assert status.timestamp_validity.trusted  # chains to the TSA we ran
    assert inspect_pdf(signed, trust_roots=signer.trust_roots).authentic
    assert stamping.timestamp_failures == 0


def test_an_unreachable_tsa_degrades_to_a_signature_without_time_stamp(
    signing_material: tuple[Path, Path], unsigned_pdf: bytes, signer: PdfSigner
) -> None:
    with running_tsa() as tsa:
        dead_url = tsa.url  # the server stops when the block ends: nothing listens on this port afterwards
    stamping = PdfSigner(key_file=signing_material[0], cert_file=signing_material[1], tsa_url=dead_url)
    signed = stamping.sign(unsigned_pdf)
    assert stamping.timestamp_failures == 1
    stamping.sign(unsigned_pdf)
    assert stamping.timestamp_failures == 1  # the next documents do not wait on the TSA again at once
    assert inspect_pdf(signed, trust_roots=signer.trust_roots).authentic
    assert _pyhanko_status(signed, trust=signer.trust_roots).timestamp_validity is None


async def _issue_and_download(
    client: httpx.AsyncClient, headers: dict[str, str], address: str = ZHANG_WEI[2]
) -> tuple[dict, bytes]:
    application = (await file_residence_permit(client, headers, address)).json()
    assert application["status"] == "issued", application
    serial = application["certificate"]["serial"]
    pdf = (await client.get(f"/v1/certificates/{serial}/pdf", headers=headers)).content
    return application["certificate"], pdf


async def test_the_service_time_stamps_certificates_when_tsa_url_is_set(settings, collaborators, tokens) -> None:
    with running_tsa() as tsa:
        app = create_app(settings.model_copy(update={"tsa_url": tsa.url}), start_worker=False)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                _, pdf = await _issue_and_download(client, tokens.citizen(*ZHANG_WEI[:2]))
                verdict = (await client.post("/v1/verify", files={"file": ("c.pdf", pdf)})).json()
        assert tsa.requests, "the service never asked the TSA"
    status = await asyncio.to_thread(
        _pyhanko_status, pdf, trust=collaborators.issuer.pdfs.signer.trust_roots, tsa_trust=[tsa.certificate]
    )
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted
    assert verdict["signature_intact"] is True and verdict["on_record"] is True


async def test_after_a_key_rotation_earlier_pdfs_verify_and_other_keys_do_not(
    settings, collaborators, client, tokens, tmp_path: Path
) -> None:
    headers = tokens.citizen(*ZHANG_WEI[:2])
    certificate, before_rotation = await _issue_and_download(client, headers)
    old_cert = settings.data_dir / DEV_CERT_FILENAME
    new_key, new_cert = ensure_dev_signing_material(tmp_path / "new")
    stranger_key, stranger_cert = ensure_dev_signing_material(tmp_path / "stranger")
    # The same document as first rendered (before its signature's incremental update), signed by a stranger.
    unsigned = before_rotation[: before_rotation.index(b"%%EOF") + 5] + b"\n"
    forged = await asyncio.to_thread(PdfSigner(key_file=stranger_key, cert_file=stranger_cert).sign, unsigned)

    def rotated(trusted: Path | None):  # type: ignore[no-untyped-def]
        return create_app(
            settings.model_copy(
                update={"signing_key_file": new_key, "signing_cert_file": new_cert, "signing_trusted_certs": trusted}
            ),
            start_worker=False,
        )

    verdicts = {}
    for label, app in (("trusting", rotated(old_cert)), ("forgetting", rotated(None))):
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
                verdicts[label] = (await c.post("/v1/verify", files={"file": ("c.pdf", before_rotation)})).json()
                verdicts[f"{label}-forged"] = (await c.post("/v1/verify", files={"file": ("c.pdf", forged)})).json()
                if label == "trusting":  # and new documents are signed by the new key
                    # Another person: 张伟 already holds a valid permit (CERTIFICATE_STILL_VALID).
                    _, after = await _issue_and_download(c, tokens.citizen(*LI_NA[:2]), LI_NA[2])
                    verdicts["new"] = (await c.post("/v1/verify", files={"file": ("c.pdf", after)})).json()
    assert verdicts["trusting"] == {
        "signature_intact": True,
        "on_record": True,
        "serial": certificate["serial"],
        "status": "valid",
    }
    assert verdicts["forgetting"]["signature_intact"] is False and verdicts["forgetting"]["on_record"] is True
    assert verdicts["trusting-forged"]["signature_intact"] is False
    assert verdicts["forgetting-forged"]["signature_intact"] is False
    assert verdicts["new"]["signature_intact"] is True and verdicts["new"]["on_record"] is True


@pytest.mark.skipif(PDFSIG is None, reason="poppler-utils (pdfsig) not installed")
async def test_pdfsig_and_pyhanko_accept_a_reissued_and_a_pre_rotation_certificate(
    settings, client, tokens, tmp_path: Path
) -> None:
    headers = tokens.citizen(*ZHANG_WEI[:2])
    certificate, original = await _issue_and_download(client, headers)
    reissued = (await client.post(f"/v1/certificates/{certificate['serial']}/reissue", headers=headers)).json()
    reissued_pdf = (await client.get(f"/v1/certificates/{reissued['serial']}/pdf", headers=headers)).content
    # Validated as the service does after a rotation: a new key, the one that signed these trusted as earlier.
    new_key, new_cert = ensure_dev_signing_material(tmp_path / "new")
    rotated = PdfSigner(key_file=new_key, cert_file=new_cert, trusted_certs_file=settings.data_dir / DEV_CERT_FILENAME)
    trust = rotated.trust_roots
    for pdf in (reissued_pdf, original):
        report = await asyncio.to_thread(_pdfsig, pdf, tmp_path)
        assert "Signature Validation: Signature is Valid." in report, report
        assert "Total document signed" in report, report
        status = await asyncio.to_thread(_pyhanko_status, pdf, trust=trust)
        assert status.intact and status.valid and status.trusted and status.bottom_line
