"""Micro-benchmark of the certificate hot path: render, sign, inspect (one core, no service around it).

    python bench/micro_certificates.py [--iterations 200] [--font /usr/share/fonts/truetype/wqy/wqy-microhei.ttc]

Prints milliseconds per operation (median and p95 of single calls) and, for comparison, pyHanko's
defaults (no reserved size, SimpleSigner re-parsing the key, asn1crypto-built CMS), the built-in
(not embedded) CID font certificates used before issue 16, and signing with an RFC 3161 time stamp
from a TSA running in this process (tests/certificates/tsa_server.py).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from app.certificates.pdf_inspection import inspect_pdf
from app.certificates.rendering import BUILTIN_CID_FONT, CertificateDocument, CertificateRenderer
from app.certificates.signing import PdfSigner, ensure_dev_signing_material
from tests.certificates.tsa_server import running_tsa

WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def document(i: int) -> CertificateDocument:
    code = f"7KQM-3XPT-{i:04d}"
    return CertificateDocument(
        service="residence-permit",
        title="上海市居住证",
        holder_name="张三丰",
        holder_id_number="330106198803120150",
        facts=(("居住地址", f"上海市长宁区虹桥路{i % 999 + 1}号5号楼301室"),),
        body="兹证明持证人在上述地址居住，已办理居住登记满六个月，符合《上海市居住证管理办法》规定的条件，"
        "准予发放上海市居住证。",
        issued_on=date(2026, 1, 5),
        expires_on=date(2027, 1, 4),
        serial=f"JZZ-2026-{i:08d}",
        verification_code=code,
        verify_url=f"http://127.0.0.1:8000/verify/{code}",
        issuing_authority="上海市公安局",
    )


# CPU time of this process, not wall time: on a shared machine other processes' load would otherwise
# be counted as ours (--wall for wall-clock time, which includes waiting, e.g. on a TSA).
_clock = time.process_time


def measure(label: str, n: int, fn: Callable[[int], object]) -> float:
    fn(0)  # warm-up: imports, caches
    samples = []
    for i in range(n):
        start = _clock()
        fn(i)
        samples.append((_clock() - start) * 1000)
    median = statistics.median(samples)
    p95 = statistics.quantiles(samples, n=20)[-1]
    print(f"{label:<44} {median:7.2f} ms median  {p95:7.2f} ms p95  ({1000 / median:6.0f}/s)")
    return median


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--font", type=Path, default=None, help="also time this TrueType font (e.g. " + str(WQY) + ")")
    parser.add_argument("--wall", action="store_true", help="wall-clock time instead of CPU time")
    args = parser.parse_args()
    n = args.iterations
    if args.wall:
        global _clock
        _clock = time.perf_counter

    with tempfile.TemporaryDirectory() as tmp:
        key_file, cert_file = ensure_dev_signing_material(Path(tmp))
        signer = PdfSigner(key_file=key_file, cert_file=cert_file)
        renderer = CertificateRenderer()
        pdf = renderer.render(document(1))
        signed = signer.sign(pdf)
        print(f"sizes: rendered {len(pdf)} B, signed {len(signed)} B; {n} iterations, one thread")

        render_ms = measure("render (bundled Noto Serif SC, embedded)", n, lambda i: renderer.render(document(i)))
        cid = CertificateRenderer(font_file=BUILTIN_CID_FONT)
        measure("render (built-in CID font, not embedded)", n, lambda i: cid.render(document(i)))
        if args.font is not None:
            embedded = CertificateRenderer(font_file=args.font)
            measure(f"render (embedded subset of {args.font.name})", n, lambda i: embedded.render(document(i)))
        sign_ms = measure("sign (PAdES B-B, ECDSA P-256, template CMS)", n, lambda i: signer.sign(pdf))
        measure("render + sign", n, lambda i: signer.sign(renderer.render(document(i))))
        measure("render + sign (CID font, as before issue 16)", n, lambda i: signer.sign(cid.render(document(i))))
        with running_tsa() as tsa:
            stamping = PdfSigner(key_file=key_file, cert_file=cert_file, tsa_url=tsa.url)
            measure("sign with an RFC 3161 time stamp (local TSA)", max(20, n // 4), lambda i: stamping.sign(pdf))
        measure(
            "inspect_pdf (validate an uploaded copy)",
            n,
            lambda i: inspect_pdf(signed, trust_roots=signer.trust_roots),
        )

        # The naive way, for the ratio: pyHanko's SimpleSigner and defaults.
        naive = signers.SimpleSigner.load(str(key_file), str(cert_file))
        meta = signers.PdfSignatureMetadata(field_name="Sig", subfilter=fields.SigSeedSubFilter.PADES)

        def naive_sign(i: int) -> bytes:
            out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=naive)
            return out.getvalue()

        naive_ms = measure("sign, pyHanko defaults (naive)", max(20, n // 4), naive_sign)
        print(
            f"render {render_ms:.2f} ms + sign {sign_ms:.2f} ms = {render_ms + sign_ms:.2f} ms per certificate; "
            f"signing {naive_ms / sign_ms:.1f}x faster than the naive way"
        )


if __name__ == "__main__":
    main()
