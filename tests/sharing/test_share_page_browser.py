"""A share link opened as its recipient would: headless Chromium against a running service, in Chinese and in
English. Screenshots are kept as test artifacts (ARTIFACTS_DIR, default ./artifacts)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.builders import ZHANG_WEI
from tests.certificates.test_verify_page_browser import ARTIFACTS, CHROMIUM, FLAGS
from tests.servers import issue_residence_permit, running_service


def _chromium(tmp_path: Path, language: str, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    flags = [f for f in FLAGS if not f.startswith(("--lang=", "--accept-lang="))]
    return subprocess.run(
        [CHROMIUM, *flags, f"--lang={language}", f"--accept-lang={language}", f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=90,
    )


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_a_share_link_opens_a_page_with_only_the_shared_fields_in_zh_and_en(tmp_path):
    with running_service(tmp_path / "data") as base:
        auth, application = issue_residence_permit(base, tmp_path / "data")
        serial = application["certificate"]["serial"]
        share = httpx.post(
            f"{base}/v1/certificates/{serial}/shares",
            headers=auth,
            json={
                "recipient": "上海某科技有限公司",
                "expires_in_days": 7,
                "fields": ["holder_name", "id_number_masked"],
            },
        ).json()
        url = share["url"]
        assert url.startswith(f"{base}/v1/shared/")

        zh = _chromium(tmp_path, "zh-CN", "--dump-dom", url)
        en = _chromium(tmp_path, "en-US", "--dump-dom", url)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        screenshot = ARTIFACTS / "share-page-zh.png"
        shot = _chromium(tmp_path, "zh-CN", f"--screenshot={screenshot}", "--window-size=412,915", url)

        httpx.delete(f"{base}/v1/certificates/{serial}/shares/{share['id']}", headers=auth)
        gone = _chromium(tmp_path, "zh-CN", "--dump-dom", url)
        uses = httpx.get(f"{base}/v1/certificates/{serial}/shares", headers=auth).json()["items"][0]["uses"]

    assert zh.returncode == 0, zh.stderr[-2000:]
    assert "有效" in zh.stdout and ZHANG_WEI[1] in zh.stdout and "3301**********0150" in zh.stdout
    assert "上海某科技有限公司" in zh.stdout
    # Not shared, so nowhere on the page: the full id number, the serial, the address.
    for withheld in (ZHANG_WEI[0], serial, "虹桥路"):
        assert withheld not in zh.stdout and withheld not in en.stdout
    assert "Valid" in en.stdout and "Shared with" in en.stdout
    assert shot.returncode == 0 and screenshot.exists() and screenshot.stat().st_size > 5_000
    assert "链接已失效" in gone.stdout
    assert uses == 3  # the two page loads and the screenshot; the revoked one is not counted
