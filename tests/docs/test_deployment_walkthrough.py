"""docs/deployment.md's walk-through, run as written: every ```sh block of its "From empty to running"
section, in order, with bash, from an empty PostgreSQL database, Redis and an empty S3 bucket (moto) to a
production-mode service with a real OpenID Connect provider (oidc-provider-mock) and both agencies over
mutual TLS (the simulators, with certificates made here). The doc's `${NAME:-…}` defaults are replaced
through the environment, as an operator replaces them with theirs.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from demo.walkthrough import settings_env_names
from tests.builders import ZHANG_WEI
from tests.operations.agency_pki import make_pki, tls_simulator
from tests.operations.oidc_login import CLIENT_ID, login, running_provider
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "deployment.md"
SECTION = "From empty to running: a walk-through"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=", re.MULTILINE)


def walkthrough_blocks(markdown: str) -> list[str]:
    match = re.search(rf"^## {re.escape(SECTION)}\s*$(.*?)(?=^## |\Z)", markdown, re.MULTILINE | re.DOTALL)
    if match is None:
        raise AssertionError(f"docs/deployment.md has no '## {SECTION}' section")
    return re.findall(r"^```sh\n(.*?)^```\s*$", match.group(1), re.MULTILINE | re.DOTALL)


def _postgres_answers() -> bool:
    if shutil.which("psql") is None:
        return False
    return subprocess.run(["psql", PG_ADMIN, "-qAtc", "SELECT 1"], capture_output=True, timeout=20).returncode == 0


@pytest.fixture
def empty_database() -> Iterator[str]:
    if not _postgres_answers():
        pytest.skip("no PostgreSQL at 127.0.0.1:5432")
    name = f"walkthrough_{uuid.uuid4().hex[:10]}"
    subprocess.run(["psql", PG_ADMIN, "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        subprocess.run(["psql", PG_ADMIN, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], capture_output=True)


@pytest.fixture
def empty_bucket() -> Iterator[tuple[dict[str, str], object]]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    aws = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "walkthrough",
        "AWS_SECRET_ACCESS_KEY": "walkthrough",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    try:
        bucket = boto3.resource(
            "s3",
            endpoint_url=aws["AWS_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id="walkthrough",
            aws_secret_access_key="walkthrough",
        ).create_bucket(Bucket="cityservices-documents")
        yield aws, bucket
    finally:
        server.stop()


def test_the_deployment_walkthrough_has_blocks_to_run() -> None:
    blocks = walkthrough_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 6
    commands = "\n".join(blocks)
    for step in (
        "cityservices migrate",
        "cityservices worker --metrics-port",
        "cityservices serve",
        "AUTH_OIDC_ISSUER_URL",
        "AGENCY_CLIENT_CERT_FILE",
        "STORAGE_URL",
        "kill -TERM",
    ):
        assert step in commands, step


def test_every_deployment_walkthrough_command_runs(empty_database, empty_bucket, tmp_path: Path) -> None:
    for tool in ("curl", "openssl"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    aws, bucket = empty_bucket
    pki = make_pki(tmp_path)
    blocks = walkthrough_blocks(DOC.read_text(encoding="utf-8"))
    variables = " ".join(sorted(set(_ASSIGNMENT.findall("\n".join(blocks)))))
    state = tmp_path / ".walkthrough-state.sh"
    state.write_text("", encoding="utf-8")
    groups: list[int] = []
    secrets = tmp_path / "secrets"
    with (
        running_provider() as issuer,
        tls_simulator("police", pki, token="police-token", data_dir=tmp_path) as police,
        tls_simulator("housing", pki, token="housing-token", data_dir=tmp_path) as housing,
    ):
        token = login(
            issuer,
            sub="walkthrough-citizen",
            claims={"roles": ["citizen"], "id_number": ZHANG_WEI[0], "name": ZHANG_WEI[1]},
        ).access_token
        env = {
            key: value
            for key, value in os.environ.items()
            if key.upper() not in settings_env_names() and not key.startswith(("AWS_", "PROMETHEUS_"))
        }
        env.update(
            aws,
            PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
            SECRETS=str(secrets),
            DATABASE_URL=empty_database,
            REDIS_URL="redis://127.0.0.1:6379/15",
            STORAGE_URL="s3://cityservices-documents/walkthrough",
            AUTH_OIDC_ISSUER_URL=issuer,
            AUTH_AUDIENCE=CLIENT_ID,
            POLICE_API_URL=police.url,
            HOUSING_API_URL=housing.url,
            POLICE_API_TOKEN="police-token",
            HOUSING_API_TOKEN="housing-token",
            AGENCY_CLIENT_CERT_FILE=str(pki.client_cert),
            AGENCY_CLIENT_KEY_FILE=str(pki.client_key),
            AGENCY_CA_FILE=str(pki.ca),
            PUBLIC_BASE_URL="http://127.0.0.1:8000",
            PORT=str(free_port()),
            WORKER_METRICS_PORT=str(free_port()),
            TOKEN=token,
        )
        outputs = []
        try:
            for number, block in enumerate(blocks, start=1):
                script = (
                    f"set -eo pipefail\n. '{state}'\n{block}\n"
                    f"{{ declare -p {variables} 2>/dev/null; printf 'cd %q\\n' \"$PWD\"; }} > '{state}.next' || true\n"
                    f"mv '{state}.next' '{state}'\n"
                )
                process = subprocess.Popen(
                    ["bash", "-c", script],
                    cwd=tmp_path,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    encoding="utf-8",
                    start_new_session=True,
                )
                groups.append(process.pid)
                stdout, stderr = process.communicate(timeout=300)
                assert process.returncode == 0, (
                    f"deployment walk-through block {number} failed (exit {process.returncode}):\n{block}\n"
                    f"--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- serve.log\n{_tail(secrets / 'serve.log')}"
                    f"\n--- worker.log\n{_tail(secrets / 'worker.log')}"
                )
                outputs.append(stdout)
        finally:
            for group in groups:  # whatever the walk-through left running if it stopped half-way
                try:
                    os.killpg(group, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
    told = "\n".join(outputs)
    assert re.search(r"^cityservices \d", told, re.MULTILINE), told
    assert '"status":"ready"' in told and "issued " in told and ": %PDF-" in told, told
    assert (
        "cityservices_pending_agency_applications" in told
        and 'cityservices_agency_circuit_open{agency="police"}' in told
    )
    keys = [item.key for item in bucket.objects.all()]  # type: ignore[attr-defined]
    assert keys and all(re.fullmatch(r"walkthrough/sha256/[0-9a-f]{2}/[0-9a-f]{64}", key) for key in keys), keys
    for name in ("serve.pid", "worker.pid"):  # stopped by the last block
        pid = int((secrets / name).read_text())
        assert not _alive(pid), f"{name} {pid} still runs"
    assert asyncio.run(_issued_count(empty_database)) == 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _tail(path: Path) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-40:]) if path.exists() else "(none)"


async def _issued_count(url: str) -> int:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT count(*) FROM certificates WHERE pdf IS NULL"))).scalar_one())
    finally:
        await engine.dispose()
