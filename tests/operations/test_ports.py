"""Drivers and ports, as an operator meets them: the real `cityservices` process, asked over real sockets.

- METRICS_PORT: /metrics on its own port, 404 on the public one.
- WORKER_HEALTH_PORT: the worker's /healthz, 200 while its loop turns, 503 once a pass has hung for
  WORKER_STALL_SECONDS (here: a "database" that accepts connections and never answers).
- `postgresql+psycopg` is refused at start in one line; `migrate` against an unreachable database says
  so in one line; both exit 1.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.servers import CITYSERVICES, free_port, running_service, service_env, wait_until_up


def _families(text: str) -> set[str]:
    return {family.name for family in text_string_to_metric_families(text)}


@pytest.mark.parametrize("workers", [1, 2])
def test_metrics_port_serves_metrics_and_the_public_port_does_not(tmp_path: Path, workers: int) -> None:
    metrics_port = free_port()
    extra = {"METRICS_PORT": str(metrics_port), "PDF_PROCESSES": "0"}
    with running_service(tmp_path, **extra) if workers == 1 else _served_by(tmp_path, workers, **extra) as base:
        for _ in range(5):
            assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        public = httpx.get(f"{base}/metrics", timeout=10)
        assert public.status_code == 404
        assert public.headers["content-type"].startswith("application/problem+json")
        assert public.json()["code"] == "NOT_FOUND"
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
        assert scraped.status_code == 200
        assert "cityservices_http_requests" in _families(scraped.text)
        requests = [
            sample.value
            for family in text_string_to_metric_families(scraped.text)
            for sample in family.samples
            if sample.name == "cityservices_http_requests_total" and sample.labels.get("route") == "/healthz"
        ]
        assert sum(requests) >= 5  # the public port's requests, counted across every worker process


@contextmanager
def _served_by(data_dir: Path, workers: int, **env: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [*CITYSERVICES, "serve", "--port", str(port), "--workers", str(workers)],
        env=service_env(data_dir, **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", deadline_s=120)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def _worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("w") as sink:
        worker = subprocess.Popen(
            [*CITYSERVICES, "worker"], env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


def test_the_worker_health_endpoint_says_200_while_its_loop_turns(tmp_path: Path) -> None:
    env = service_env(tmp_path / "data")
    subprocess.run([*CITYSERVICES, "migrate"], env=env, check=True, capture_output=True, timeout=300)
    port = free_port()
    env.update(WORKER_HEALTH_PORT=str(port), WORKER_STALL_SECONDS="3")
    with _worker(env, tmp_path / "worker.log"):
        wait_until_up(f"http://127.0.0.1:{port}/healthz", deadline_s=60)
        time.sleep(4)  # longer than WORKER_STALL_SECONDS: still healthy, because the loop keeps turning
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.status_code == 200, (tmp_path / "worker.log").read_text()
        assert health.json()["status"] == "ok" and health.json()["seconds_since_last_turn"] < 3
        assert httpx.get(f"http://127.0.0.1:{port}/elsewhere", timeout=5).status_code == 404


@contextmanager
def _silent_database() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word: a database hung mid-handshake."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        listener.close()


def test_the_worker_health_endpoint_says_503_once_the_loop_has_stalled(tmp_path: Path) -> None:
    port = free_port()
    with _silent_database() as database_port:
        env = service_env(
            tmp_path / "data",
            DATABASE_URL=f"postgresql+asyncpg://cityservices@127.0.0.1:{database_port}/cityservices",
            WORKER_HEALTH_PORT=str(port),
            WORKER_STALL_SECONDS="2",
        )
        with _worker(env, tmp_path / "worker.log"):
            wait_until_up(f"http://127.0.0.1:{port}/healthz", deadline_s=60)  # alive: its first pass is young
            deadline = time.monotonic() + 30
            while (health := httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)).status_code == 200:
                assert time.monotonic() < deadline, "the stalled worker kept saying it was healthy"
                time.sleep(0.3)
    assert health.status_code == 503
    assert health.json()["status"] == "stalled" and health.json()["seconds_since_last_turn"] >= 2


def _one_line_failure(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--port", "0"], ["worker"]])
def test_postgresql_psycopg_is_refused_in_one_line(tmp_path: Path, command: list[str]) -> None:
    env = service_env(tmp_path, DATABASE_URL="postgresql+psycopg://cityservices@127.0.0.1:5432/cityservices")
    result = subprocess.run([*CITYSERVICES, *command], env=env, capture_output=True, text=True, timeout=120)
    line = _one_line_failure(result)
    assert "DATABASE_URL" in line and "postgresql+psycopg" in line and "postgresql+asyncpg://" in line


def test_migrate_against_an_unreachable_database_says_so_in_one_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    env = service_env(tmp_path, DATABASE_URL=f"postgresql+asyncpg://cityservices:secret-pw@127.0.0.1:{port}/city")
    result = subprocess.run([*CITYSERVICES, "migrate"], env=env, capture_output=True, text=True, timeout=120)
    line = _one_line_failure(result)
    assert line.startswith(f"cityservices: cannot migrate the database at 127.0.0.1:{port}/city: "), line
    assert "secret-pw" not in result.stderr
