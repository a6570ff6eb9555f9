"""The reference point for issuance: render and sign certificates in a straightforward loop.

Per document: `CertificateRenderer().render(doc)` (the service's own renderer: the same embedded font and
seal), then pyHanko's `PdfSigner(...).sign_pdf(..., bytes_reserved=...)` with the signature's size
reserved (with defaults pyHanko signs twice, a dry run to size the signature) and the private key parsed
once per process (`SimpleSigner.sign_raw` parses it again for every signature). The CMS is pyHanko's own
(asn1crypto), not the service's DER template. The key is the kind the service signs with in development
(ECDSA P-256, app.certificates.signing.ensure_dev_signing_material). What a competent engineer would
write in an afternoon; one process per core, each reporting its CPU time per document, which other load
on a shared machine moves far less than throughput.

    python bench/naive.py --procs 2 --duration 10
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.certificates.rendering import CertificateDocument  # noqa: E402

# Hex characters of /Contents reserved for the CMS: 8192 = 4 KB, room for ECDSA P-256 (~1.0 KB with its
# certificate) or RSA-2048 (~1.6 KB).
BYTES_RESERVED = 8192


def document(i: int) -> CertificateDocument:
    code = f"7KQM-3XPT-{i % 10000:04d}"
    issued = date.today()
    return CertificateDocument(
        service="residence-permit",
        title="上海市居住证",
        holder_name="张三丰",
        holder_id_number="330106198803120150",
        facts=(("居住地址", f"上海市长宁区虹桥路{i % 999 + 1}号5号楼301室"),),
        body="持证人张三丰（公民身份号码 3301**********123X）在上海市居住，经公安机关核验居住登记与房屋信息，"
        "符合《上海市居住证管理办法》规定，准予发放居住证。",
        issued_on=issued,
        expires_on=issued + timedelta(days=364),
        serial=f"JZZ-2026-{i:08d}",
        verification_code=code,
        verify_url=f"http://127.0.0.1:8000/verify/{code}",
        issuing_authority="上海市公安局",
    )


def _signer(key_file: str, cert_file: str) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from pyhanko.sign import signers
    from pyhanko.sign.general import get_pyca_cryptography_hash

    class KeyOnceSigner(signers.SimpleSigner):
        """pyHanko's SimpleSigner with the parsed private key kept (the only change)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pyca_key = serialization.load_der_private_key(self.signing_key.dump(), password=None)

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            hash_algo = get_pyca_cryptography_hash(digest_algorithm)
            if isinstance(self._pyca_key, ec.EllipticCurvePrivateKey):
                return self._pyca_key.sign(data, ec.ECDSA(hash_algo))
            if isinstance(self._pyca_key, rsa.RSAPrivateKey):
                return self._pyca_key.sign(data, padding.PKCS1v15(), hash_algo)
            return bytes(super().sign_raw(data, digest_algorithm))

    loaded = signers.SimpleSigner.load(key_file, cert_file)
    return KeyOnceSigner(
        signing_key=loaded.signing_key, signing_cert=loaded.signing_cert, cert_registry=loaded.cert_registry
    )


def producer(key_file: str, cert_file: str) -> Callable[[int], bytes]:
    """One document, rendered and signed the straightforward way: the function each loop calls."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from app.certificates.rendering import CertificateRenderer

    renderer = CertificateRenderer()
    meta = signers.PdfSignatureMetadata(
        field_name="Signature", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
    )
    pdf_signer = signers.PdfSigner(meta, _signer(key_file, cert_file))

    def one(i: int) -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(renderer.render(document(i))))
        return bytes(pdf_signer.sign_pdf(writer, bytes_reserved=BYTES_RESERVED, output=io.BytesIO()).getvalue())

    return one


def serve_stdin(key_file: str, cert_file: str) -> None:
    """For bench/instructions.py: read a count per line, produce that many documents, answer "ok" (the
    caller zeroes and dumps callgrind's counters between the lines)."""
    one = producer(key_file, cert_file)
    i = 0
    print("ready", flush=True)
    for line in sys.stdin:
        for _ in range(int(line)):
            one(i)
            i += 1
        print("ok", flush=True)


def _worker(key_file: str, cert_file: str, duration: float, warmup: float, max_docs: int, out: Any) -> None:
    one = producer(key_file, cert_file)
    end_warm = time.perf_counter() + warmup
    i = 0
    while time.perf_counter() < end_warm:
        one(i)
        i += 1
    start, cpu0 = time.perf_counter(), time.process_time()
    count = 0
    while time.perf_counter() < start + duration and count < max_docs:
        one(i)
        i += 1
        count += 1
    out.put((count, time.perf_counter() - start, time.process_time() - cpu0))


def run_naive(procs: int, duration: float, *, warmup: float = 2.0, max_docs: int = 100_000) -> dict[str, object]:
    from app.certificates.signing import ensure_dev_signing_material

    with tempfile.TemporaryDirectory(prefix="naive-sign-") as tmp:
        key_file, cert_file = ensure_dev_signing_material(Path(tmp))
        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        args = (str(key_file), str(cert_file), duration, warmup, max_docs, queue)
        workers = [ctx.Process(target=_worker, args=args) for _ in range(procs)]
        for w in workers:
            w.start()
        try:
            results: list[tuple[int, float, float]] = [queue.get(timeout=duration + warmup + 120) for _ in workers]
        finally:
            for w in workers:
                w.join(timeout=10)
                if w.is_alive():
                    w.kill()
    docs = sum(c for c, _, _ in results)
    per_proc = [c / t for c, t, _ in results]
    return {
        "processes": procs,
        "documents": docs,
        "throughput_per_s": round(sum(per_proc), 2),
        "ms_per_document_per_process": round(1000 * procs / max(1e-9, sum(per_proc)), 2),
        "cpu_ms_per_document": round(1000 * sum(cpu for _, _, cpu in results) / max(1, docs), 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--procs", type=int, default=mp.cpu_count())
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--stdin", nargs=2, metavar=("KEY", "CERT"), help="one process, counts read from stdin")
    args = parser.parse_args()
    if args.stdin:
        serve_stdin(*args.stdin)
    else:
        print(run_naive(args.procs, args.duration))
