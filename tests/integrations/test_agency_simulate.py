"""`python -m integrations.simulate` (what `cityservices simulate` runs) serves a generated dataset."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from integrations.agencies import build_agencies
from integrations.datasets import load_dataset
from integrations.datasets.generate import write_dataset
from integrations.errors import AgencyUnavailable
from integrations.http import ClientPolicy

ROOT = Path(__file__).resolve().parents[2]
POLICY = ClientPolicy(timeout_s=0.5, deadline_s=1.5, attempts=4, backoff_initial_s=0.02, backoff_max_s=0.1)


@contextmanager
def simulator(args: list[str], port: int, log: Path) -> Iterator[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "integrations.simulate", *args, "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if httpx.get(f"{url}/_sim/health", timeout=0.5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"simulator did not start:\n{log.read_text()}")
                time.sleep(0.05)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("datasets") / "generated.json"
    write_dataset(path, people=2000, seed=42)
    return path


async def test_police_runner_serves_a_generated_dataset(generated: Path, unused_port: int, tmp_path: Path) -> None:
    dataset = load_dataset(generated)
    registered = dataset.residence_registrations[0]["id_number"]
    log = tmp_path / "police.log"
    with simulator(["police", "--dataset", str(generated)], unused_port, log) as url:
        agencies = build_agencies(police_url=url, housing_url=url, dataset_path=None, policy=POLICY)
        try:
            for person in dataset.persons[:20]:
                assert (await agencies.police.get_person(person["id_number"])).data.name == person["name"]
            assert (await agencies.police.get_residence_registrations(registered)).data.items
            async with httpx.AsyncClient() as admin:
                (await admin.put(f"{url}/_sim/faults", json={"down": True})).raise_for_status()
            with pytest.raises(AgencyUnavailable):
                await agencies.police.get_person(registered)
        finally:
            await agencies.aclose()
    output = log.read_text(encoding="utf-8")
    assert "2000 persons loaded" in output
    # No access log: its lines would carry id numbers.
    assert registered not in output and dataset.persons[0]["id_number"] not in output


async def test_housing_runner_takes_faults_on_the_command_line(
    generated: Path, unused_port: int, tmp_path: Path
) -> None:
    dataset = load_dataset(generated)
    tenant = dataset.leases[0]["tenant_id_numbers"][0]
    args = ["housing", "--dataset", str(generated), "--latency-ms", "5", "--error-rate", "0.3", "--seed", "9"]
    with simulator(args, unused_port, tmp_path / "housing.log") as url:
        async with httpx.AsyncClient() as admin:
            faults = (await admin.get(f"{url}/_sim/faults")).json()
        assert faults == {"latency_ms": 5.0, "error_rate": 0.3, "down": False, "seed": 9}
        agencies = build_agencies(police_url=url, housing_url=url, dataset_path=None, policy=POLICY)
        try:
            for _ in range(10):
                assert (await agencies.housing.get_leases(tenant)).data.items
        finally:
            await agencies.aclose()
