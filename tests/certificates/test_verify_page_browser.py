"""The QR code's page opened as a person would: headless Chromium against a running service.
The screenshot is kept as a test artifact (ARTIFACTS_DIR, default ./artifacts)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.builders import PDF_PROOF, ZHANG_WEI
from tests.servers import mint, running_service

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", Path(__file__).resolve().parents[2] / "artifacts"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    # A phone set to Chinese: the page follows Accept-Language (English on request, 10.6).
    "--lang=zh-CN",
    "--accept-lang=zh-CN",
]


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=90
    )


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_qr_link_opens_a_page_that_states_the_status(tmp_path):
    with running_service(tmp_path / "data") as base:
        auth = {
            "Authorization": "Bearer "
            + mint(tmp_path / "data", "--role", "citizen", "--id-number", ZHANG_WEI[0], "--name", ZHANG_WEI[1])
        }
        material = httpx.post(f"{base}/v1/materials", headers=auth, files={"file": ("p.pdf", PDF_PROOF)}).json()["id"]
        application = httpx.post(
            f"{base}/v1/applications",
            headers=auth,
            timeout=30,
            json={"service": "residence-permit", "details": {"address": ZHANG_WEI[2], "material_ids": [material]}},
        ).json()
        certificate = httpx.get(f"{base}/v1/certificates/{application['certificate']['serial']}", headers=auth).json()
        url = certificate["verify_url"]
        assert url.startswith(f"{base}/verify/")

        dom = _chromium(tmp_path, "--dump-dom", url)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        screenshot = ARTIFACTS / "verify-page-valid.png"
        shot = _chromium(tmp_path, f"--screenshot={screenshot}", "--window-size=412,915", url)

    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "有效" in dom.stdout and certificate["serial"] in dom.stdout
    assert ZHANG_WEI[0] not in dom.stdout and "3301**********0150" in dom.stdout
    assert shot.returncode == 0 and screenshot.exists() and screenshot.stat().st_size > 5_000
