"""The `cityservices` command as a user runs it: serve, token, simulate, bad settings."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.servers import (
    BIN,
    CITYSERVICES,
    free_port,
    issue_residence_permit,
    running_service,
    service_env,
    wait_until_up,
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with running_service(tmp_path) as base:
        yield base, tmp_path


def test_serve_answers_health_and_readiness_on_sqlite(served):
    base, data_dir = served
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{base}/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    assert (data_dir / "cityservices.db").exists()


def test_a_token_from_the_token_command_works_against_serve(served):
    base, data_dir = served
    minted = subprocess.run(
        [*CITYSERVICES, "token", "--role", "citizen", "--id-number", "330106198803120150", "--name", "张伟"],
        env=service_env(data_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    response = httpx.get(f"{base}/v1/applications", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json() == {"items": [], "next_cursor": None}
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert httpx.get(f"{base}/v1/applications", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_the_token_command_gives_staff_a_person_by_default(served):
    """Staff are persons (docs/api.md#staff-are-persons): a development clerk token carries the development staff
    member's id number unless told another, and acts at the window with it."""
    base, data_dir = served

    def mint(*args: str) -> str:
        minted = subprocess.run(
            [*CITYSERVICES, "token", *args], env=service_env(data_dir), capture_output=True, text=True, timeout=60
        )
        assert minted.returncode == 0, minted.stderr
        return minted.stdout.strip()

    clerk = mint("--role", "clerk", "--name", "窗口民警", "--station", "310105-HQLB")
    assert _claims(clerk)["id_number"] == "310101198001010018"
    assert _claims(mint("--role", "auditor", "--name", "审计员"))["id_number"] == "310101198001010018"
    own = mint("--role", "clerk", "--name", "李娜", "--station", "310105-HQLB", "--id-number", "340104199205200242")
    assert _claims(own)["id_number"] == "340104199205200242"
    assert "id_number" not in _claims(mint("--role", "citizen", "--name", "无名"))
    filed = httpx.post(
        f"{base}/v1/applications",
        headers={"Authorization": f"Bearer {clerk}"},
        json={
            "service": "no-criminal-record-certificate",
            "details": {"purpose": "visa"},
            "applicant": {"id_number": "340104199205200242", "name": "李娜"},
        },
        timeout=60,
    )
    assert filed.status_code == 201 and filed.json()["channel"] == "window", filed.text


@pytest.mark.parametrize(
    "variable,value",
    [
        ("DATABASE_URL", "nonsense"),
        ("DATABASE_URL", "mysql://u@h/db"),
        ("AGENCY_WAIT_LIMIT", "-5"),
        ("PUBLIC_BASE_URL", "not a url"),
        ("SIGNING_KEY_FILE", "/nonexistent/key.pem"),
    ],
)
def test_a_bad_setting_stops_serve_with_one_line_naming_it(tmp_path, variable, value):
    result = subprocess.run(
        [*CITYSERVICES, "serve", "--port", str(free_port())],
        env=service_env(tmp_path, **{variable: value}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]


def test_production_refuses_development_defaults(tmp_path):
    result = subprocess.run(
        [*CITYSERVICES, "serve"],
        env=service_env(tmp_path, ENVIRONMENT="production"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    line = result.stderr.strip()
    assert "production" in line and "AUTH_JWKS_FILE" in line and "SIGNING_KEY_FILE" in line and "DATABASE_URL" in line


def test_token_is_refused_in_production(tmp_path):
    result = subprocess.run(
        [*CITYSERVICES, "token", "--role", "auditor"],
        env=service_env(tmp_path, ENVIRONMENT="production"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0


@pytest.mark.skipif(
    shutil.which("cityservices") is None and not (BIN / "cityservices").exists(), reason="console script not installed"
)
def test_simulate_serves_the_police_api(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [*CITYSERVICES, "simulate", "police", "--port", str(port)],
        env=service_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/_sim/health")
        person = httpx.get(f"http://127.0.0.1:{port}/population/v1/persons/330106198803120150").json()
        assert person["name"] == "张伟"
    finally:
        process.terminate()
        process.wait(timeout=15)


def _json_lines(path: Path) -> list[dict[str, object]]:
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            lines.append({"plain_text": line})
    return lines


@contextmanager
def _serving(tmp_path: Path, *options: str, env: dict[str, str]) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """`cityservices serve --port P *options` up, its output in a log: (base URL, log, process). Its whole
    process group is killed at the end if still running (killing the parent alone leaves workers serving)."""
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [*CITYSERVICES, "serve", "--port", str(port), *options],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", deadline_s=120)
        yield f"http://127.0.0.1:{port}", log, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def _two_workers(tmp_path: Path) -> AbstractContextManager[tuple[str, Path, subprocess.Popen[bytes]]]:
    return _serving(tmp_path, "--workers", "2", env=service_env(tmp_path / "data", PDF_PROCESSES="0"))


def test_serve_on_a_port_puts_that_port_into_qr_codes_and_stops_with_0_on_sigterm(tmp_path):
    env = {k: v for k, v in service_env(tmp_path / "data").items() if k != "PUBLIC_BASE_URL"}
    with _serving(tmp_path, env=env) as (base, log, process):
        auth, filed = issue_residence_permit(base, tmp_path / "data")
        serial = filed["certificate"]["serial"]
        certificate = httpx.get(f"{base}/v1/certificates/{serial}", headers=auth).json()
        assert certificate["verify_url"].startswith(f"{base}/verify/"), certificate["verify_url"]
        pdf = httpx.get(f"{base}/v1/certificates/{serial}/pdf", headers=auth).content
        assert _qr_target(pdf, tmp_path).startswith(f"{base}/verify/")  # printed beside the QR code
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()[-3000:]


def _qr_target(pdf: bytes, tmp_path: Path) -> str:
    """The URL printed beside the QR code, read back from the PDF's text (pdftotext)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed")
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return next((word for word in text.split() if "/verify/" in word), "")


def test_serve_with_two_workers_logs_json_request_lines_from_each_process_and_stops_with_0(tmp_path):
    with _two_workers(tmp_path) as (base, log, process):
        pids: set[object] = set()
        for _ in range(200):  # fresh connections, until both processes have answered some
            assert httpx.get(f"{base}/v1/services", timeout=10).status_code == 200
            pids = {
                line["pid"]
                for line in _json_lines(log)
                if line.get("logger") == "cityservices.access" and line.get("request_id")
            }
            if len(pids) >= 2:
                break
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()[-3000:]
    assert len(pids) == 2, log.read_text()[-3000:]
    assert [line for line in _json_lines(log) if "plain_text" in line] == []


def _listening_sockets(port: int) -> int:
    """Sockets listening on the port, from the kernel's table (IPv4 loopback)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for row in rows if row.split()[1].endswith(f":{port:04X}") and row.split()[3] == "0A")


@pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT spreads connections on Linux")
def test_serve_with_two_workers_gives_each_its_own_socket_and_spreads_connections(tmp_path):
    with _two_workers(tmp_path) as (base, log, process):
        port = int(base.rsplit(":", 1)[1])
        # One shared socket (uvicorn's own way) would show once: its workers then took bursts of
        # connections in turn, all 26 of a benchmark's pool on one of them. The second may bind a moment
        # after the first answers.
        deadline = time.monotonic() + 60
        while _listening_sockets(port) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _listening_sockets(port) == 2

        async def forty_at_once() -> None:
            clients = [httpx.AsyncClient(base_url=base, timeout=30) for _ in range(40)]
            try:
                await asyncio.gather(*(c.get("/v1/services") for c in clients))
            finally:
                await asyncio.gather(*(c.aclose() for c in clients))

        asyncio.run(forty_at_once())
        served = Counter(
            line["pid"]
            for line in _json_lines(log)
            if line.get("logger") == "cityservices.access" and line.get("route") == "/v1/services"
        )
        # Hashed over two sockets: fewer than 8 of 40 on either is a chance of about 1 in 40,000.
        assert len(served) == 2 and min(served.values()) >= 8, served
        taken = subprocess.run(
            [*CITYSERVICES, "serve", "--port", str(port), "--workers", "2"],
            env=service_env(tmp_path / "other"),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert taken.returncode == 3 and "Address already in use" in taken.stdout + taken.stderr
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()[-3000:]


def test_python_warnings_are_json_log_lines_too():
    script = "from app.observability import configure_logging; import warnings; configure_logging(); warnings.warn('careful')"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    (line,) = result.stderr.strip().splitlines()
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "py.warnings" and "careful" in entry["message"]
