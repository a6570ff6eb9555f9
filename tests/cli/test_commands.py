"""The `cityservices` command as a user runs it: serve, token, simulate, bad settings."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import BIN, CITYSERVICES, free_port, running_service, service_env, wait_until_up


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
    """Staff are persons (CONTRACT 11.2): a development clerk token carries the development staff
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
