"""PAdES signatures on certificate PDFs, and raw signatures for audit checkpoints.

Everything here is synchronous and CPU-bound. `PdfSigner.sign` drives pyHanko's synchronous API,
which calls `asyncio.run()` internally: call it from a worker thread (`asyncio.to_thread`, a
`ThreadPoolExecutor`) or a worker process, never from a coroutine on the event loop — it would
raise there, and it would block the loop for the ~10 ms it computes even if it did not.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import io
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps.api import TimeStamper

from app.certificates.cms_signer import CachedKeySigner, SigningKey
from app.certificates.timestamping import HttpxTimeStamper

DEV_COMMON_NAME = "cityservices development signing"
DEV_KEY_FILENAME = "dev-signing-key.pem"
DEV_CERT_FILENAME = "dev-signing-cert.pem"
DEFAULT_REASON = "本证明由签发机关以数字签名签发"
SIGNATURE_FIELD = "CityservicesSignature"

# Room for an RFC 3161 token in the signature's /Contents, counted in hex digits: a token carries the
# TSA's signed TSTInfo and usually its certificate chain (2-5 KB); 12 KB leaves room for a long chain.
_TIMESTAMP_RESERVE = 2 * 12 * 1024
TSA_TIMEOUT_SECONDS = 5
TSA_RETRY_AFTER_SECONDS = 60  # after a failure, sign without asking the TSA for this long

logger = logging.getLogger("cityservices.certificates.signing")


# -- development key material ---------------------------------------------------------------------


def ensure_dev_signing_material(data_dir: Path) -> tuple[Path, Path]:
    """Make an ECDSA P-256 key and a self-signed certificate in `data_dir` once; return their paths.

    Development only (production configures SIGNING_KEY_FILE/SIGNING_CERT_FILE). Several workers may
    start at once, so creation happens under a file lock and each file appears atomically.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = data_dir / DEV_KEY_FILENAME, data_dir / DEV_CERT_FILENAME
    if key_path.is_file() and cert_path.is_file():
        return key_path, cert_path
    with _exclusive_lock(data_dir / ".dev-signing.lock"):
        if not (key_path.is_file() and cert_path.is_file()):
            key = ec.generate_private_key(ec.SECP256R1())
            key_pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            cert_pem = _self_signed_certificate(key).public_bytes(serialization.Encoding.PEM)
            _write_atomically(key_path, key_pem, mode=0o600)
            _write_atomically(cert_path, cert_pem, mode=0o644)
    return key_path, cert_path


def _self_signed_certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, DEV_COMMON_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cityservices (development)"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # pyHanko's validator requires non-repudiation (content commitment) on document signers.
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


@contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _write_atomically(path: Path, data: bytes, *, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # Created with its final mode: a private key must never exist world-readable, even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)  # the umask may have narrowed it; make it exact
    os.replace(tmp, path)


# -- loading --------------------------------------------------------------------------------------


def load_private_key(key_file: Path) -> SigningKey:
    """Parse a PEM (or DER) private key. Costly for RSA (~28 ms validity check): call once, keep it."""
    data = Path(key_file).read_bytes()
    if b"-----BEGIN" in data:
        key = serialization.load_pem_private_key(data, password=None)
    else:
        key = serialization.load_der_private_key(data, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise TypeError("signing key must be ECDSA or RSA")
    return key


def load_certificate_chain(cert_file: Path) -> list[x509.Certificate]:
    """The signing certificate first, then any intermediates/root in the file, in file order."""
    data = Path(cert_file).read_bytes()
    certs = x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data else [x509.load_der_x509_certificate(data)]
    if not certs:
        raise ValueError(f"no certificate in {cert_file}")
    return certs


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


# -- the signer -----------------------------------------------------------------------------------


class PdfSigner:
    """Signs certificate PDFs (PAdES B-B) and raw data with one configured key; build once, reuse.

    Thread-safe for concurrent `sign` calls: it keeps no per-signature state.
    """

    def __init__(
        self,
        *,
        key_file: Path,
        cert_file: Path,
        fast_cms: bool = True,
        trusted_certs_file: Path | None = None,
        tsa_url: str | None = None,
        timestamper: TimeStamper | None = None,
    ) -> None:
        self.key_loads = 0  # observable so tests (and a curious operator) can see the key is loaded once
        # Earlier signing certificates (SIGNING_TRUSTED_CERTS): documents they signed before a key
        # rotation still verify as ours. They only verify; they never sign.
        earlier = load_certificate_chain(trusted_certs_file) if trusted_certs_file else []
        self._earlier = [_to_asn1(c) for c in earlier]
        self._earlier_x509 = earlier
        self._timestamper: TimeStamper | None = timestamper or (
            HttpxTimeStamper(tsa_url, timeout_s=TSA_TIMEOUT_SECONDS) if tsa_url else None
        )
        self.timestamp_failures = 0
        self._tsa_down_until = 0.0
        self._key = self._load_key(Path(key_file))
        chain = load_certificate_chain(Path(cert_file))
        self._certificate = chain[0]
        if _public_der(self._certificate.public_key()) != _public_der(self._key.public_key()):
            raise ValueError(f"{cert_file}: the first certificate does not match the signing key")
        self._chain_asn1 = [_to_asn1(c) for c in chain]
        self._signer = CachedKeySigner(key=self._key, chain=self._chain_asn1, fast_cms=fast_cms)
        # Reserving the signature's size up front stops pyHanko from signing a dummy first to measure
        # it. Counted in hex digits. Tight, because every validator reads the reserved hex string
        # byte by byte: the template knows its exact size bar the signature's, which is bounded.
        template = self._signer.template
        if template is not None:
            largest = template.content_info(
                template.signed_attributes(bytes(32)), bytes(_max_signature_size(self._key))
            )
            self._bytes_reserved = 2 * (len(largest) + 64)
        else:
            self._bytes_reserved = 2 * (sum(len(c.dump()) for c in self._chain_asn1) + 2048)
        if self._timestamper is not None:
            self._bytes_reserved += _TIMESTAMP_RESERVE

    def _load_key(self, key_file: Path) -> SigningKey:
        self.key_loads += 1
        return load_private_key(key_file)

    # -- identity ---------------------------------------------------------------------------------

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def certificate_asn1(self) -> asn1_x509.Certificate:
        return self._chain_asn1[0]

    @property
    def certificate_pem(self) -> str:
        return self._certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def trust_roots(self) -> list[asn1_x509.Certificate]:
        """What `inspect_pdf` should trust: exactly our signing certificate, and the earlier ones.

        Trusting the certificate itself, not its issuing CA, means "signed by us" cannot be satisfied
        by someone else holding a certificate from the same CA. After a key rotation the old
        certificates (SIGNING_TRUSTED_CERTS) are here too, so earlier documents still verify.
        """
        return [self._chain_asn1[0], *self._earlier]

    @property
    def timestamps(self) -> bool:
        return self._timestamper is not None

    # -- PDFs -------------------------------------------------------------------------------------

    def sign(self, pdf: bytes, *, reason: str = DEFAULT_REASON, location: str = "上海") -> bytes:
        """Return `pdf` with a PAdES B-B signature covering the whole file appended.

        Synchronous; call from a worker thread or process, not on the event loop (see module doc).
        """
        refuse_running_loop("PdfSigner.sign")
        meta = signers.PdfSignatureMetadata(
            field_name=SIGNATURE_FIELD,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason,
            location=location,
        )
        if self._timestamper is not None and time.monotonic() >= self._tsa_down_until:
            try:
                return self._sign(pdf, meta, self._timestamper)
            except Exception:  # noqa: BLE001 — any TSA failure: network, HTTP status, a malformed token
                # Degrade, don't stop (an unreachable TSA must not stop issuing): the signature is then
                # PAdES B-B, its time the signer's claim only. Logged and counted for the operator, and
                # the TSA left alone for a minute so that a hanging one does not cost every document
                # its timeout.
                self.timestamp_failures += 1
                self._tsa_down_until = time.monotonic() + TSA_RETRY_AFTER_SECONDS
                logger.error(
                    "time-stamp authority failed; signing without time stamps for %d s",
                    TSA_RETRY_AFTER_SECONDS,
                    exc_info=True,
                )
        return self._sign(pdf, meta, None)

    def _sign(self, pdf: bytes, meta: signers.PdfSignatureMetadata, timestamper: TimeStamper | None) -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        out = signers.PdfSigner(meta, self._signer, timestamper=timestamper).sign_pdf(
            writer, bytes_reserved=self._bytes_reserved, output=io.BytesIO()
        )
        return bytes(out.getvalue())

    # -- raw signatures (audit checkpoints) -------------------------------------------------------

    def sign_bytes(self, data: bytes) -> bytes:
        """ECDSA (DER-encoded) or RSA PKCS#1 v1.5 signature over SHA-256 of `data`."""
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(hashes.SHA256()))
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def verify_bytes(self, data: bytes, signature: bytes) -> bool:
        # After a key rotation, what the earlier keys signed (the request log's checkpoints) still verifies.
        return any(verify_bytes(c, data, signature) for c in (self._certificate, *self._earlier_x509))


def verify_bytes(certificate: x509.Certificate, data: bytes, signature: bytes) -> bool:
    """Check a `PdfSigner.sign_bytes` signature with the certificate alone (no private key needed)."""
    public_key = certificate.public_key()
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _max_signature_size(key: SigningKey) -> int:
    """Upper bound of a DER signature's length: ECDSA's (r, s) grow by a byte when the top bit is set."""
    n = (key.key_size + 7) // 8
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return 2 * (n + 3) + 4
    return n


def _public_der(public_key: object) -> bytes:
    der: bytes = public_key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der


def refuse_running_loop(what: str) -> None:
    """Raise if called on a thread running an event loop (pyHanko's sync API would fail there anyway).

    A clear programming error beats the alternatives: asyncio.run's own RuntimeError, which a broad
    `except` could mistake for a bad signature, or a loop blocked for the duration of the work.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"{what} is CPU-bound and synchronous: run it with asyncio.to_thread or in an executor, not on the event loop"
    )
