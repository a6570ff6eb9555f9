"""`cityservices demo` on a fresh machine: it starts its own service and leaves eight signed PDFs with
readable Chinese text, one per service, named in summary.json."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pypdf
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from rich.console import Console

from demo.walkthrough import free_port, run, settings_env_names

ROOT = Path(__file__).resolve().parents[2]
TITLES = {
    "residence-permit": "上海市居住证",
    "no-criminal-record-certificate": "无犯罪记录证明",
    "household-registration-certificate": "户籍证明",
    "residence-registration": "居住登记凭证",
    "residence-permit-renewal": "上海市居住证",
    "residence-permit-address-change": "上海市居住证",
    "kinship-certificate": "亲属关系证明",
    "temporary-identity-certificate": "临时身份证明",
}


def _cityservices() -> list[str]:
    script = Path(sys.executable).with_name("cityservices")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    work = tmp_path_factory.mktemp("demo")
    out = work / "demo-output"
    env = {key: value for key, value in os.environ.items() if key.upper() not in settings_env_names()}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    # Nothing answers at this --base-url (a free port), so the demo starts its own service; the
    # default 127.0.0.1:8000 might be someone's running service on this machine.
    result = subprocess.run(
        [*_cityservices(), "demo", "--base-url", f"http://127.0.0.1:{free_port()}", "--out", str(out)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    return result, out


def test_demo_exits_zero_and_tells_each_step(demo_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, _ = demo_run
    assert result.returncode == 0, result.stdout + result.stderr
    for told in (
        "张伟",
        "沈国强",
        "李娜",
        "王芳",
        "沈浩",
        "NO_HOUSING_RECORD",
        "WINDOW_ONLY_SERVICE",
        "marks him arrived",
        "superseded by",
        "chain intact",
        "/verify/",
        "/v1/shared/",
        "wallet credential (SD-JWT VC",
    ):
        assert told in result.stdout, told


def test_demo_leaves_a_wallet_credential_that_verifies(demo_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, out = demo_run
    assert result.returncode == 0, result.stdout + result.stderr
    [credential] = out.glob("credential-*.sd-jwt")
    issuer_jwt, *disclosures, last = credential.read_text().strip().split("~")
    assert issuer_jwt.count(".") == 2 and len(disclosures) == 8 and last == ""


def test_demo_leaves_one_signed_pdf_per_service_with_readable_chinese_titles(
    demo_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, out = demo_run
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert len(summary) == 8 and len(list(out.glob("*.pdf"))) == 8
    serials = [entry["serial"] for entry in summary]
    # The permit, renewed, then moved: each replaced by the next.
    chain = [e for e in summary if e["service"].startswith("residence-permit")]
    assert [e["superseded_by"] for e in chain] == [chain[1]["serial"], chain[2]["serial"], None]
    assert all(e["superseded_by"] is None for e in summary if e not in chain) and len(set(serials)) == 8
    by_service = {}
    for entry in summary:
        by_service.setdefault(entry["service"], entry)
        assert entry["verification_url"].rsplit("/", 1)[-1] == entry["verification_code"]
    assert set(by_service) == set(TITLES)
    for service, entry in by_service.items():
        pdf = out / entry["file"]
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF-") and b"/ByteRange" in data
        signatures = PdfFileReader(pdf.open("rb"), strict=False).embedded_signatures
        assert len(signatures) == 1
        # The temporary service's certificate is gone with it: trust the embedded one, so this checks
        # that the signature is intact and covers the whole file.
        status = validate_pdf_signature(signatures[0], ValidationContext(trust_roots=[signatures[0].signer_cert]))
        assert status.intact and status.valid
        assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        text = pypdf.PdfReader(pdf).pages[0].extract_text()
        assert TITLES[service] in text
        assert entry["serial"] in text


def test_against_a_running_service_without_its_keys_the_demo_says_which_option_to_pass(tmp_path: Path) -> None:
    class Healthy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Healthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        console = Console(record=True, width=200)
        status = run(
            base_url=f"http://127.0.0.1:{server.server_address[1]}",
            out_dir=tmp_path / "out",
            data_dir=tmp_path / "not-the-service-data-dir",
            console=console,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert status == 1
    told = console.export_text()
    assert "holds no development keys" in told and "--data-dir" in told
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="poppler-utils (pdffonts) not installed")
def test_every_font_of_every_pdf_the_demo_leaves_is_embedded(
    demo_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, out = demo_run
    assert result.returncode == 0, result.stdout + result.stderr
    pdfs = sorted(out.rglob("*.pdf"))
    assert pdfs
    for pdf in pdfs:
        listing = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
        rows = listing.splitlines()[2:]  # after the header and its rule
        assert rows, f"{pdf.name}: no fonts listed"
        for row in rows:
            # columns: name, type, encoding, emb, sub, uni, object ID; the name has no spaces
            emb = row.split()[-5]
            assert emb == "yes", f"{pdf.name}: {row}"
