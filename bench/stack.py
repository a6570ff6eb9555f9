"""Starting and stopping what the benchmark runs against: PostgreSQL database, simulators, service.

Every child runs in its own process group (start_new_session) so that stopping it also stops what it
spawned (uvicorn's worker processes); `Stack.close()` is always called (run.py uses try/finally) and
escalates SIGINT -> SIGTERM -> SIGKILL with bounded waits. Only loopback addresses are used.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def venv_bin(name: str) -> str:
    """The console script next to this interpreter (the venv's), else whatever is on PATH."""
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, *, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listening on {HOST}:{port} after {timeout:.0f}s")


# -- PostgreSQL -------------------------------------------------------------------------------------


def ensure_postgres(log: Callable[[str], None]) -> None:
    """Start the local cluster if it does not answer (Debian's pg_ctlcluster, as .ci/run does)."""
    if _pg_answers():
        return
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions:
        raise RuntimeError("PostgreSQL does not answer on 127.0.0.1:5432 and no local cluster to start")
    log(f"starting PostgreSQL {versions[-1]} (pg_ctlcluster)")
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"], check=False, timeout=60
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _pg_answers():
        time.sleep(0.5)
    if not _pg_answers():
        raise RuntimeError("PostgreSQL did not come up on 127.0.0.1:5432")


def _pg_answers() -> bool:
    return psql(PG_ADMIN_URL, "SELECT 1", check=False, timeout=5).returncode == 0


def psql(url: str, sql: str, *, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
        capture_output=True,
        text=True,
        check=check,
        timeout=timeout,
    )


def create_database(name: str) -> str:
    psql(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql(PG_ADMIN_URL, f'CREATE DATABASE "{name}"')
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    psql(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', check=False, timeout=120)


# -- processes --------------------------------------------------------------------------------------


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    port: int = 0  # where it listens, for the servers `start_bare` starts

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


@dataclass
class Stack:
    """One running set: two simulators, the service, on a database and a dataset."""

    log: Callable[[str], None]
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cityservices-bench-")))
    children: list[Child] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)
    service_port: int | None = None
    service: Child | None = None
    worker: Child | None = None  # `cityservices worker`, when the service runs as in production
    data_dir: Path | None = None
    pg_url: str | None = None  # the service's database (bench/run.py sets it)

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        log_path = self.workdir / f"{name}.log"
        out = open(log_path, "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        out.close()
        child = Child(name, proc, log_path)
        self.children.append(child)
        return child

    def base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "POLICE_", "HOUSING_"))}
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def start_simulators(self, dataset: Path, *, timeout: float) -> dict[str, str]:
        urls = {}
        started = []
        for agency in ("police", "housing"):
            port = free_port()
            child = self.spawn(
                f"sim-{agency}-{port}",
                [
                    venv_bin("cityservices"),
                    "simulate",
                    agency,
                    "--host",
                    HOST,
                    "--port",
                    str(port),
                    "--dataset",
                    str(dataset),
                ],
                self.base_env(),
            )
            started.append((child, port))
            urls[agency] = f"http://{HOST}:{port}"
        for child, port in started:  # both load their dataset in parallel
            wait_for_port(port, timeout=timeout, proc=child.proc)
        return urls

    def migrate(self, database_url: str) -> float:
        start = time.monotonic()
        env = self.base_env() | {"DATABASE_URL": database_url}
        subprocess.run(
            [venv_bin("alembic"), "upgrade", "head"], cwd=ROOT, env=env, check=True, timeout=300, capture_output=True
        )
        return time.monotonic() - start

    def start_service(
        self,
        *,
        workers: int,
        database_url: str,
        urls: dict[str, str] | None = None,
        data_dir: Path | None = None,
        env: dict[str, str] | None = None,
        separate_worker: bool = False,
        timeout: float = 90,
    ) -> Child:
        """`cityservices serve` in development mode on `database_url`; the agencies at `urls` (their
        simulators as processes of their own), else the in-process simulators. With `separate_worker`, the
        background loop and the notification dispatcher run as in production: in one `cityservices worker`
        beside the serving processes (`self.worker`), not in each of them."""
        port = free_port()
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="data-", dir=self.workdir))
        agencies = {"POLICE_API_URL": urls["police"], "HOUSING_API_URL": urls["housing"]} if urls else {}
        service_env = (
            self.base_env()
            | agencies
            | {
                "DATABASE_URL": database_url,
                "DATA_DIR": str(self.data_dir),
                "ENVIRONMENT": "development",
                "PUBLIC_BASE_URL": f"http://{HOST}:{port}",
            }
            | ({"RUN_WORKER_IN_PROCESS": "false"} if separate_worker else {})
            | (env or {})
        )
        child = self.spawn(
            f"service-{port}",
            [venv_bin("cityservices"), "serve", "--host", HOST, "--port", str(port), "--workers", str(workers)],
            service_env,
        )
        if separate_worker:
            self.worker = self.spawn(f"worker-{port}", [venv_bin("cityservices"), "worker"], service_env)
        self.service_port, self.service = port, child
        wait_ready(f"http://{HOST}:{port}/readyz", timeout=timeout, proc=child.proc)
        wait_listening(port, workers, timeout=timeout)
        if self.worker is not None and self.worker.proc.poll() is not None:
            raise RuntimeError(f"cityservices worker exited at start; see {self.worker.log_path}")
        return child

    def start_bare(self, *, workers: int, app: str = "bench.bare_app:app", env: dict[str, str] | None = None) -> Child:
        """`app` (the bare endpoint, or bench/floor_app.py with its settings in `env`) under uvicorn."""
        port = free_port()
        name = f"{app.split(':')[0].rsplit('.', 1)[-1]}-{port}"
        child = self.spawn(name, uvicorn_argv(app, port, workers), self.base_env() | (env or {}))
        child.port = port
        wait_ready(f"http://{HOST}:{port}/ping", timeout=60, proc=child.proc)
        wait_listening(port, workers, timeout=60)
        return child

    def stop(self, child: Child) -> None:
        _stop_group(child.proc)
        if child in self.children:
            self.children.remove(child)

    def close(self) -> None:
        for child in reversed(list(self.children)):
            with contextlib.suppress(Exception):
                self.stop(child)
        for name in self.databases:
            with contextlib.suppress(Exception):
                drop_database(name)
        self.databases.clear()


def uvicorn_argv(app: str, port: int, workers: int = 1) -> list[str]:
    """`app` under uvicorn as the service is served: workers on sockets of their own (bench/serving.py)."""
    return [sys.executable, "-m", "bench.serving", app, str(port), str(workers)]


def wait_listening(port: int, workers: int, *, timeout: float) -> None:
    """Until every worker listens on its own socket (bench/serving.py, `serve --workers`). A worker listens
    once its start-up is over, and the first to answer takes every connection opened before the others
    listen: a client's pool opened at once stays on it (one reference's maximum halved that way)."""
    if workers < 2 or not Path("/proc/net/tcp").exists():
        return
    deadline = time.monotonic() + timeout
    while _listening(port) < workers:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{_listening(port)} of {workers} workers listen on {HOST}:{port} after {timeout:.0f}s")
        time.sleep(0.1)


def _listening(port: int) -> int:
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for row in rows if row.split()[1].endswith(f":{port:04X}") and row.split()[3] == "0A")


def wait_ready(url: str, *, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before {url} answered")
        try:
            r = httpx.get(url, timeout=2)
            if r.status_code == 200:
                return
            last = f"{r.status_code} {r.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.3)
    raise TimeoutError(f"{url} not ready after {timeout:.0f}s (last: {last})")


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # stragglers of an exited leader
        return
    for sig, wait in ((signal.SIGINT, 8), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
