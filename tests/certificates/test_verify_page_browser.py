"""The QR code's page opened as a person would: headless Chromium against a running service.
The screenshot is kept as a test artifact (ARTIFACTS_DIR, default ./artifacts)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.builders import ZHANG_WEI
from tests.servers import free_port, issue_residence_permit, running_service

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
    # A phone set to Chinese: the page follows Accept-Language (English on request:
    # docs/api.md#certificates-fit-to-print).
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
        auth, application = issue_residence_permit(base, tmp_path / "data")
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


class _DevTools:
    """Just enough of the Chrome DevTools Protocol to use a page as a person would: pick a file, press."""

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self._next_id = 0

    def call(self, method: str, **params: object) -> dict[str, Any]:
        self._next_id += 1
        self._socket.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:  # events come in between; the answer carries our id
            message = json.loads(self._socket.recv(timeout=60))
            if message.get("id") == self._next_id:
                assert "error" not in message, message
                return dict(message.get("result", {}))

    def evaluate(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def wait_for(self, expression: str, deadline_s: float = 60) -> Any:
        stop = time.monotonic() + deadline_s
        while time.monotonic() < stop:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"never true in the page: {expression}")


@contextmanager
def _browser_at(url: str, tmp_path: Path, *, language: str) -> Iterator[_DevTools]:
    port = free_port()
    flags = [flag for flag in FLAGS if not flag.startswith(("--lang=", "--accept-lang="))]
    browser = subprocess.Popen(
        [
            CHROMIUM,
            *flags,
            f"--lang={language}",
            f"--accept-lang={language}",
            f"--user-data-dir={tmp_path / f'profile-devtools-{language}'}",
            f"--remote-debugging-port={port}",
            url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        stop, socket_url = time.monotonic() + 60, None
        while socket_url is None:
            assert time.monotonic() < stop, "chromium's DevTools never answered"
            try:
                targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=2).json()
                page = next(t for t in targets if t.get("type") == "page" and t.get("url", "").startswith(url))
                socket_url = page["webSocketDebuggerUrl"]
            except (httpx.HTTPError, StopIteration, ValueError):
                time.sleep(0.3)
        with connect(socket_url, max_size=None, open_timeout=30) as socket:
            yield _DevTools(socket)
    finally:
        browser.terminate()
        try:
            browser.wait(timeout=15)
        except subprocess.TimeoutExpired:
            browser.kill()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
@pytest.mark.parametrize(
    "language,verdict,intact", [("zh-CN", "有效", "完好"), ("en-US", "Valid", "Intact")], ids=["zh", "en"]
)
def test_uploading_the_pdf_through_the_pages_form_shows_a_page_in_the_visitors_language(
    tmp_path, language, verdict, intact
):
    with running_service(tmp_path / "data") as base:
        auth, application = issue_residence_permit(base, tmp_path / "data")
        serial = application["certificate"]["serial"]
        pdf = tmp_path / "permit.pdf"
        pdf.write_bytes(httpx.get(f"{base}/v1/certificates/{serial}/pdf", headers=auth).content)
        page_url = f"{base}/verify/{application['certificate']['verification_code']}"

        with _browser_at(page_url, tmp_path, language=language) as tab:
            tab.wait_for("document.readyState === 'complete' && !!document.querySelector('input[type=file]')")
            root = tab.call("DOM.getDocument")["root"]["nodeId"]
            node = tab.call("DOM.querySelector", nodeId=root, selector="input[type=file]")["nodeId"]
            tab.call("DOM.setFileInputFiles", files=[str(pdf)], nodeId=node)
            tab.evaluate("document.querySelector('form button[type=submit]').click()")
            tab.wait_for("location.pathname === '/v1/verify' && document.readyState === 'complete'")
            html = tab.evaluate("document.documentElement.outerHTML")
            # The inline style applied: the Content-Security-Policy allows it by its hash.
            colour = tab.evaluate("getComputedStyle(document.querySelector('.banner')).backgroundColor")
            shot = tab.call("Page.captureScreenshot", format="png")["data"]

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"verify-upload-{language}.png").write_bytes(base64.b64decode(shot))
    assert f'<div class="word">{verdict}</div>' in html and intact in html and serial in html
    assert '"signature_intact"' not in html  # a page, not the JSON
    assert colour == "rgb(22, 101, 52)", colour  # .valid's green
