"""Judge an uploaded PDF: is its signature intact, is it ours, which certificate record is it?

Synchronous and CPU-bound (~5 ms for one of our documents): run it in a worker thread or process.
pyHanko's synchronous validator calls `asyncio.run()` internally, like the signer.
Input is untrusted: anything that is not a well-formed, signed PDF yields `signature_intact=False`
rather than an exception.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeAlias

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from app.certificates.signing import refuse_running_loop

MAX_PDF_BYTES = 10 * 1024 * 1024
"""The same limit as uploads (docs/api.md#uploads): parsing cost grows with size, so bigger is refused."""

# Whatever the serial scheme, it is short and plain: never echo arbitrary metadata back to a caller.
_SERIAL_SHAPE = re.compile(r"^[A-Za-z0-9-]{1,40}$")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignatureReport:
    # A signature by one of the trust roots' own certificates (our key, or an earlier one trusted after
    # a rotation) covers the whole file and checks out. A flawless signature by any other key is not
    # intact *for us* (docs/api.md#certificates-fit-to-print): anyone can sign a PDF.
    signature_intact: bool
    signed_by_us: bool  # the signer certificate is (or chains to) one of the trust roots given
    serial: str | None  # from the PDF metadata (/Subject), if readable
    problem: str | None = None  # why not intact/ours, for logs: too_large, not_pdf, unsigned, ...

    @property
    def authentic(self) -> bool:
        """Only then may `serial` be relied on: the metadata is inside the byte range we signed."""
        return self.signature_intact and self.signed_by_us


TrustRoot: TypeAlias = asn1_x509.Certificate | x509.Certificate | bytes


def inspect_pdf(pdf: bytes, *, trust_roots: list[TrustRoot]) -> SignatureReport:
    """Never raises on bad input; raises RuntimeError if called on the event loop (a caller's bug,
    which must not pass for "signature not intact")."""
    refuse_running_loop("inspect_pdf")
    if len(pdf) > MAX_PDF_BYTES:
        return SignatureReport(False, False, None, "too_large")
    if b"%PDF-" not in pdf[:1024]:  # the header may follow up to 1 KiB of junk
        return SignatureReport(False, False, None, "not_pdf")
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_regular_signatures
    except Exception:  # noqa: BLE001 — malformed input in any of a hundred ways is the expected case
        return SignatureReport(False, False, None, "not_pdf")
    serial = _read_serial(reader)
    if not signatures:
        return SignatureReport(False, False, serial, "unsigned")
    if len(signatures) != 1:
        # Our documents carry exactly one signature; more means someone added to it.
        return SignatureReport(False, False, serial, "unexpected_signatures")
    roots = _as_asn1(trust_roots)
    try:
        status = validate_pdf_signature(
            signatures[0],
            # Our root given as trusted: no ERROR traceback from pyHanko for a self-signed certificate,
            # and no network fetching (allow_fetching defaults to False).
            signer_validation_context=ValidationContext(trust_roots=roots),
            # Whole-file coverage is required below, so there is no later revision to diff.
            skip_diff=True,
        )
    except Exception:
        logger.info("signature could not be validated", exc_info=True)
        return SignatureReport(False, False, serial, "invalid_signature")
    covers_all = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    ours = bool(status.trusted)
    intact = bool(status.intact and status.valid and covers_all and ours)
    problem = None
    if not covers_all:
        problem = "modified_after_signing"
    elif not (status.intact and status.valid):
        problem = "digest_mismatch"
    elif not ours:
        problem = "not_our_signer"
    return SignatureReport(intact, ours, serial, problem)


def _read_serial(reader: PdfFileReader) -> str | None:
    try:
        info = reader.trailer_view.get("/Info")
        subject = info.get_object().get("/Subject") if info is not None else None
    except Exception:  # noqa: BLE001
        return None
    if subject is None:
        return None
    value = str(subject).strip()
    return value if _SERIAL_SHAPE.match(value) else None


def _as_asn1(roots: Iterable[TrustRoot]) -> list[asn1_x509.Certificate]:
    converted = []
    for root in roots:
        if isinstance(root, x509.Certificate):
            converted.append(asn1_x509.Certificate.load(root.public_bytes(serialization.Encoding.DER)))
        elif isinstance(root, bytes):
            der = (
                x509.load_pem_x509_certificate(root).public_bytes(serialization.Encoding.DER)
                if b"-----BEGIN" in root
                else root
            )
            converted.append(asn1_x509.Certificate.load(der))
        else:
            converted.append(root)
    return converted
