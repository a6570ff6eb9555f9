"""The reference point for issuance: render and sign certificates in a straightforward loop.

One process per core, each, per document: `CertificateRenderer().render(doc)` (the service's own
renderer, the same embedded font and seal), then pyHanko's `PdfSigner(...).sign_pdf(..., bytes_reserved=...)`
with the signature's size reserved (so pyHanko signs once; with defaults it signs twice, a dry run to
size the signature) and the private key loaded once per process (`SimpleSigner.sign_raw` would parse it
again for every signature: cheap for ECDSA, ~28 ms for RSA-2048). The CMS is pyHanko's own (asn1crypto),
not the service's DER template. The key is the kind the service signs with in development: ECDSA P-256,
made by app.certificates.signing.ensure_dev_signing_material. This is what a competent engineer would
write in an afternoon; it is the floor the service's whole issuance flow is compared with (issue 20:
~117 documents/s on 2 processes, ~17 ms per document, on a quiet machine of this kind). The old default
loop (`SimpleSigner.load` + `signers.sign_pdf` with defaults, ~35-39/s) is `--defaults`.

Each process also reports its CPU time per document (`time.process_time`), which other processes' load
on a shared machine changes far less than the throughput.

    python bench/naive.py --procs 2 --duration 10 [--defaults]
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.certificates.rendering import CertificateDocument  # noqa: E402


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


# Hex characters of /Contents reserved for the CMS: 8192 = 4 KB, room for an ECDSA P-256 signature
# (~1.0 KB with its certificate) or RSA-2048 (~1.6 KB).
BYTES_RESERVED = 8192


def _signer(key_file: str, cert_file: str, *, defaults: bool):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from pyhanko.sign import signers
    from pyhanko.sign.general import get_pyca_cryptography_hash

    if defaults:
        return signers.SimpleSigner.load(key_file, cert_file)

    class KeyOnceSigner(signers.SimpleSigner):
        """pyHanko's SimpleSigner with the parsed private key kept (the only change)."""

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._pyca_key = serialization.load_der_private_key(self.signing_key.dump(), password=None)

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            hash_algo = get_pyca_cryptography_hash(digest_algorithm)
            if isinstance(self._pyca_key, ec.EllipticCurvePrivateKey):
                return self._pyca_key.sign(data, ec.ECDSA(hash_algo))
            if isinstance(self._pyca_key, rsa.RSAPrivateKey):
                return self._pyca_key.sign(data, padding.PKCS1v15(), hash_algo)
            return super().sign_raw(data, digest_algorithm)

    loaded = signers.SimpleSigner.load(key_file, cert_file)
    return KeyOnceSigner(
        signing_key=loaded.signing_key, signing_cert=loaded.signing_cert, cert_registry=loaded.cert_registry
    )


def _producer(key_file: str, cert_file: str, *, defaults: bool):
    """One document, rendered and signed the straightforward way; the function each loop calls."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from app.certificates.rendering import CertificateRenderer

    renderer = CertificateRenderer()
    signer = _signer(key_file, cert_file, defaults=defaults)
    meta = signers.PdfSignatureMetadata(
        field_name="Signature", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
    )
    pdf_signer = signers.PdfSigner(meta, signer)

    def one(i: int) -> bytes:
        pdf = renderer.render(document(i))
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        if defaults:
            signed = signers.sign_pdf(writer, meta, signer=signer)
        else:
            signed = pdf_signer.sign_pdf(writer, bytes_reserved=BYTES_RESERVED, output=io.BytesIO())
        return signed.getvalue()

    return one


def serve_stdin(key_file: str, cert_file: str, *, defaults: bool) -> None:
    """For bench/instructions.py: read a count per line, produce that many documents, answer "ok" (the
    caller zeroes and dumps callgrind's counters between the lines)."""
    one = _producer(key_file, cert_file, defaults=defaults)
    i = 0
    print("ready", flush=True)
    for line in sys.stdin:
        for _ in range(int(line)):
            one(i)
            i += 1
        print("ok", flush=True)


def _worker(
    key_file: str, cert_file: str, duration: float, warmup: float, max_docs: int, defaults: bool, out: mp.Queue
) -> None:
    one = _producer(key_file, cert_file, defaults=defaults)

    end_warm = time.perf_counter() + warmup
    i = 0
    while time.perf_counter() < end_warm:
        one(i)
        i += 1
    start = time.perf_counter()
    cpu0 = time.process_time()
    deadline = start + duration
    count = 0
    while time.perf_counter() < deadline and count < max_docs:
        one(i)
        i += 1
        count += 1
    out.put((count, time.perf_counter() - start, time.process_time() - cpu0))


def run_naive(
    procs: int, duration: float, *, warmup: float = 2.0, max_docs: int = 100_000, defaults: bool = False
) -> dict[str, object]:
    from app.certificates.signing import ensure_dev_signing_material

    with tempfile.TemporaryDirectory(prefix="naive-sign-") as tmp:
        key_file, cert_file = ensure_dev_signing_material(Path(tmp))
        ctx = mp.get_context("spawn")
        queue: mp.Queue = ctx.Queue()
        workers = [
            ctx.Process(
                target=_worker, args=(str(key_file), str(cert_file), duration, warmup, max_docs, defaults, queue)
            )
            for _ in range(procs)
        ]
        for w in workers:
            w.start()
        try:
            results = [queue.get(timeout=duration + warmup + 120) for _ in workers]
        finally:
            for w in workers:
                w.join(timeout=10)
                if w.is_alive():
                    w.kill()
    docs = sum(c for c, _, _ in results)
    per_proc = [c / t for c, t, _ in results]
    return {
        "variant": "pyHanko defaults (signs twice)" if defaults else "bytes_reserved, key loaded once",
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
    parser.add_argument("--defaults", action="store_true", help="the old reference: pyHanko defaults, signs twice")
    parser.add_argument("--stdin", nargs=2, metavar=("KEY", "CERT"), help="one process, counts read from stdin")
    args = parser.parse_args()
    if args.stdin:
        serve_stdin(*args.stdin, defaults=args.defaults)
    else:
        print(run_naive(args.procs, args.duration, defaults=args.defaults))
