"""Starting real `cityservices` processes for tests that need a socket (a browser, the CLI)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

BIN = Path(sys.executable).parent
CITYSERVICES = [str(BIN / "cityservices")] if (BIN / "cityservices").exists() else [sys.executable, "-m", "app.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ENVIRONMENT")}
    env.update({"DATA_DIR": str(data_dir), **extra})
    return env


def wait_until_up(url: str, deadline_s: float = 30) -> None:
    stop = time.monotonic() + deadline_s
    while time.monotonic() < stop:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {deadline_s} s")


@contextmanager
def running_service(data_dir: Path, **env: str) -> Iterator[str]:
    """`cityservices serve` on a free port; yields its base URL; always stopped."""
    port = free_port()
    process = subprocess.Popen(
        [*CITYSERVICES, "serve", "--port", str(port)],
        env=service_env(data_dir, PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/healthz")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def mint(data_dir: Path, *args: str) -> str:
    result = subprocess.run(
        [*CITYSERVICES, "token", *args],
        env=service_env(data_dir),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def nats_is_up() -> bool:
    """NATS with JetStream on 127.0.0.1:4222 (`.ci/run` starts it when it is not running)."""
    try:
        socket.create_connection(("127.0.0.1", 4222), timeout=0.5).close()
        return True
    except OSError:
        return False


@contextmanager
def moto_s3_server() -> Iterator[str]:
    """moto's server mode: an S3-compatible endpoint on a free port, for tests of S3 clients; stopped after."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def issue_residence_permit(base: str, data_dir: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """张伟 (tests.builders) files a residence permit through HTTP; his headers and the issued application."""
    from tests.builders import PDF_PROOF, ZHANG_WEI

    token = mint(data_dir, "--role", "citizen", "--id-number", ZHANG_WEI[0], "--name", ZHANG_WEI[1])
    auth = {"Authorization": f"Bearer {token}"}
    material = httpx.post(f"{base}/v1/materials", headers=auth, files={"file": ("p.pdf", PDF_PROOF)}).json()["id"]
    application: dict[str, Any] = httpx.post(
        f"{base}/v1/applications",
        headers=auth,
        timeout=60,
        json={"service": "residence-permit", "details": {"address": ZHANG_WEI[2], "material_ids": [material]}},
    ).json()
    assert application["status"] == "issued", application
    return auth, application
