"""The reference point for issuance: render and sign certificates the naive way, in a loop.

One process per core, each: `CertificateRenderer().render(doc)` (the service's own renderer) then
pyHanko's plain `signers.SimpleSigner.load(key, cert)` (loaded once per process) and
`signers.sign_pdf(...)` with defaults (no reserved size, so pyHanko signs twice to size the
signature; CMS built by asn1crypto). The key is the same kind the service signs with in development
(ECDSA P-256, made by app.certificates.signing.ensure_dev_signing_material).

    python bench/naive.py --procs 2 --duration 10
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


def _worker(key_file: str, cert_file: str, duration: float, warmup: float, max_docs: int, out: mp.Queue) -> None:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from app.certificates.rendering import CertificateRenderer

    renderer = CertificateRenderer()
    signer = signers.SimpleSigner.load(key_file, cert_file)
    meta = signers.PdfSignatureMetadata(field_name="Signature", subfilter=fields.SigSeedSubFilter.PADES)

    def one(i: int) -> int:
        pdf = renderer.render(document(i))
        signed = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer)
        return len(signed.getvalue())

    end_warm = time.perf_counter() + warmup
    i = 0
    while time.perf_counter() < end_warm:
        one(i)
        i += 1
    start = time.perf_counter()
    deadline = start + duration
    count = 0
    while time.perf_counter() < deadline and count < max_docs:
        one(i)
        i += 1
        count += 1
    out.put((count, time.perf_counter() - start))


def run_naive(procs: int, duration: float, *, warmup: float = 2.0, max_docs: int = 100_000) -> dict[str, float]:
    from app.certificates.signing import ensure_dev_signing_material

    with tempfile.TemporaryDirectory(prefix="naive-sign-") as tmp:
        key_file, cert_file = ensure_dev_signing_material(Path(tmp))
        ctx = mp.get_context("spawn")
        queue: mp.Queue = ctx.Queue()
        workers = [
            ctx.Process(target=_worker, args=(str(key_file), str(cert_file), duration, warmup, max_docs, queue))
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
    docs = sum(c for c, _ in results)
    per_proc = [c / t for c, t in results]
    return {
        "processes": procs,
        "documents": docs,
        "throughput_per_s": round(sum(per_proc), 2),
        "ms_per_document_per_process": round(1000 * procs / max(1e-9, sum(per_proc)), 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--procs", type=int, default=mp.cpu_count())
    parser.add_argument("--duration", type=float, default=10)
    args = parser.parse_args()
    print(run_naive(args.procs, args.duration))
