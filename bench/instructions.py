"""Instructions per request for the hot reads, counted by callgrind: stable on a shared machine.

    python bench/instructions.py [--people 10000] [--requests 50] [--only application,verify,healthz,ping]

Wall-clock and even CPU-time figures move with whatever else runs on the 2 cores; the number of
instructions a request executes does not (to within ~1%), so a change to the read path can be judged in
one run. How:

1. A database prepared like bench/run.py's main stack (bench/stack.py: a fresh `bench_instr_*`
   database, both agency simulators on a generated dataset, `alembic upgrade head`), and a few residence
   permits filed and issued through a normal `cityservices serve --workers 1`, which is then stopped.
2. The service again, one process (`cityservices serve --workers 1`, with PROMETHEUS_MULTIPROC_DIR set
   as `--workers N` sets it, so the metrics cost what they cost in production), under
   `valgrind --tool=callgrind --instr-atstart=no` (start-up runs uninstrumented, ~5x slower instead of
   ~50x). The bare endpoint (`bench/bare_app.py` under uvicorn, uvloop + httptools) the same way.
3. Per endpoint, sequentially over one keep-alive connection: `--warmup` requests uninstrumented, then
   instrumentation on; `callgrind_control --zero`, N requests, `--dump`; `--zero`, 2N requests, `--dump`.
   Instructions per request = (I(2N) - I(N)) / N: what every dump shares (toggling, the dump itself)
   cancels. Time-driven work does not cancel, and a request takes 0.1-0.2 s under callgrind, so the
   service runs with RUN_WORKER_IN_PROCESS=false (the agency worker and notification dispatcher poll
   the database every 0.5-1 s; production runs them as `cityservices worker`). What remains idle
   (`idle`, instructions per second with no request) is mostly the sealer's 0.5 s poll, which does
   not run while requests keep waking it: reported, not subtracted.

What is counted: the service process only (Python, uvloop, asyncpg, the C extensions), including its
request-log writer and sealer tasks, which run in the same process. Not counted: PostgreSQL's own work
and the client. Requests are sequential, so the request log's group commit carries one request per
batch: an upper bound of what a read costs under load, where batches are larger.

Needs valgrind (Debian package `valgrind`); PostgreSQL as for bench/run.py. Everything it starts is
stopped and its database dropped in a `finally`. ~2 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.citizens import pick  # noqa: E402
from bench.loadgen import HttpxClient, closed_loop  # noqa: E402
from bench.run import Flows, ensure_dataset, mint_tokens, multipart, proof_pdf  # noqa: E402
from bench.stack import HOST, Stack, create_database, ensure_postgres, free_port, venv_bin, wait_ready  # noqa: E402

RESULTS = ROOT / "bench" / "results"
T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f}s] {msg}", flush=True)


# -- callgrind --------------------------------------------------------------------------------------


def valgrind_argv(out_dir: Path, argv: list[str]) -> list[str]:
    exe = shutil.which("valgrind")
    if exe is None:
        raise RuntimeError("valgrind is not installed (apt-get install -y valgrind)")
    return [
        exe,
        "--tool=callgrind",
        "--instr-atstart=no",
        "--trace-children=no",
        f"--callgrind-out-file={out_dir}/callgrind.out.%p",
        *argv,
    ]


def control(pid: int, *args: str) -> str:
    proc = subprocess.run(
        ["callgrind_control", *args, str(pid)], capture_output=True, text=True, timeout=300, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"callgrind_control {' '.join(args)} {pid}: {proc.stdout} {proc.stderr}")
    return proc.stdout


_TOTAL = re.compile(r"^(?:summary|totals):\s+(\d+)", re.MULTILINE)


def dump_total(pid: int, out_dir: Path, tag: str) -> int:
    """Dump the counters since the last zero and return their total Ir."""
    before = set(out_dir.glob(f"callgrind.out.{pid}*"))
    control(pid, f"--dump={tag}")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for path in set(out_dir.glob(f"callgrind.out.{pid}*")) - before:
            m = _TOTAL.search(path.read_text(errors="replace"))
            if m:
                return int(m.group(1))
        time.sleep(0.2)
    raise TimeoutError(f"no callgrind dump for {tag}")


# -- the measured processes -------------------------------------------------------------------------


class Measured:
    def __init__(self, stack: Stack, name: str, argv: list[str], env: dict[str, str], port: int, out_dir: Path):
        self.port = port
        self.out_dir = out_dir
        self.child = stack.spawn(name, valgrind_argv(out_dir, argv), env)

    @property
    def pid(self) -> int:
        return self.child.proc.pid

    def wait(self, path: str, timeout: float) -> None:
        wait_ready(f"http://{HOST}:{self.port}{path}", timeout=timeout, proc=self.child.proc)


def measure(m: Measured, name: str, requests: list[tuple[str, dict[str, str]]], n: int, warmup: int) -> dict:
    """Instructions per request for one endpoint (the requests are used in turn)."""
    log(f"  {name}: {warmup} warm-up requests, then {n} and {2 * n} counted")
    with httpx.Client(base_url=f"http://{HOST}:{m.port}", timeout=httpx.Timeout(300.0)) as client:
        k = 0

        def send(count: int) -> float:
            nonlocal k
            start = time.perf_counter()
            for _ in range(count):
                path, headers = requests[k % len(requests)]
                k += 1
                r = client.get(path, headers=headers)
                if r.status_code != 200:
                    raise RuntimeError(f"{name}: {path} answered {r.status_code}: {r.text[:300]}")
            return time.perf_counter() - start

        send(warmup)
        control(m.pid, "--instr=on")
        send(2)  # the first instrumented requests pay for callgrind translating the code afresh
        control(m.pid, "--zero")
        t1 = send(n)
        i1 = dump_total(m.pid, m.out_dir, f"{name}-{n}")
        control(m.pid, "--zero")
        t2 = send(2 * n)
        i2 = dump_total(m.pid, m.out_dir, f"{name}-{2 * n}")
        control(m.pid, "--instr=off")
    per = (i2 - i1) / n
    log(f"    {per:,.0f} instructions per request ({i1:,} for {n}, {i2:,} for {2 * n}; {t2 / (2 * n):.3f} s each)")
    return {
        "instructions_per_request": round(per),
        "naive_per_request_at_n": round(i1 / n),
        "n": n,
        "instructions_n": i1,
        "instructions_2n": i2,
        "seconds_n": round(t1, 2),
        "seconds_2n": round(t2, 2),
    }


def idle_rate(m: Measured, seconds: float) -> float:
    control(m.pid, "--instr=on")
    control(m.pid, "--zero")
    start = time.perf_counter()
    time.sleep(seconds)
    total = dump_total(m.pid, m.out_dir, f"idle-{uuid.uuid4().hex[:6]}")
    control(m.pid, "--instr=off")
    return total / (time.perf_counter() - start)


# -- preparing the database -------------------------------------------------------------------------


def prepare(stack: Stack, args) -> tuple[str, dict[str, str], list[tuple[str, str, str]]]:
    """A database like bench/run.py's with a few issued certificates; returns (database URL, the service's
    environment, [(token, application id, verification code)])."""
    dataset, gen_s = ensure_dataset(args.people, args.seed)
    if gen_s:
        log(f"  generated {dataset.name} in {gen_s:.0f}s")
    db = f"bench_instr_{uuid.uuid4().hex[:8]}"
    pg_url = create_database(db)
    stack.databases.append(db)
    database_url = pg_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    urls = stack.start_simulators(dataset, timeout=600)
    stack.migrate(database_url)
    service = stack.start_service(workers=1, database_url=database_url, urls=urls)
    picked = pick(dataset, limit=max(50, args.issue) + 20)  # the 20 spare: bench/profile_reads.py files with them
    assert stack.data_dir is not None
    tokens = {"residence_permit": mint_tokens(stack.data_dir, picked.residence_permit)}
    log(f"  filing {args.issue} residence permits through a normal service")

    async def file_some() -> list[tuple[str, str, str]]:
        client = HttpxClient(f"http://{HOST}:{stack.service_port}", connections=4)
        flows = Flows(client, picked, tokens, multipart(proof_pdf()))
        try:
            rec = await closed_loop(flows.residence_permit, users=2, duration=120, max_iterations=args.issue)
        finally:
            await client.aclose()
        if not flows.issued:
            raise RuntimeError(f"nothing was issued: {rec.summary()}")
        return flows.issued

    issued = asyncio.run(file_some())
    env = stack.base_env() | {
        "DATABASE_URL": database_url,
        "POLICE_API_URL": urls["police"],
        "HOUSING_API_URL": urls["housing"],
        "DATA_DIR": str(stack.data_dir),
        "ENVIRONMENT": "development",
    }
    stack.stop(service)  # the simulators stay up: readiness probes them
    return database_url, env, issued


# -- main -------------------------------------------------------------------------------------------


def run(args) -> dict:
    results: dict = {
        "run_id": f"instructions-{datetime.now():%Y%m%d-%H%M%S}",
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "args": vars(args),
        "endpoints": {},
    }
    only = set(args.only.split(","))
    stack = Stack(log)
    out_dir = Path(tempfile.mkdtemp(prefix="callgrind-", dir=stack.workdir))
    metrics_dir = Path(tempfile.mkdtemp(prefix="metrics-", dir=stack.workdir))
    try:
        ensure_postgres(log)
        if only & {"application", "verify", "healthz"}:
            log(f"preparing a database: {args.people:,} people, {args.issue} issued residence permits")
            _, env, issued = prepare(stack, args)
            port = free_port()
            env = env | {
                "PUBLIC_BASE_URL": f"http://{HOST}:{port}",
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
                # The agency worker and the notification dispatcher poll the database every 0.5-1 s
                # whatever the requests do (production runs them as `cityservices worker`); in this
                # process they would add ~2 M instructions to each slow, instrumented request.
                "RUN_WORKER_IN_PROCESS": "false",
            }
            log("service under callgrind (start-up uninstrumented; a minute or two)")
            argv = [venv_bin("cityservices"), "serve", "--host", HOST, "--port", str(port), "--workers", "1"]
            m = Measured(stack, f"callgrind-service-{port}", argv, env, port, out_dir)
            m.wait("/readyz", timeout=args.start_timeout)
            results["service_idle_instructions_per_s"] = round(idle_rate(m, args.idle_seconds))
            log(f"  idle: {results['service_idle_instructions_per_s']:,} instructions/s")
            endpoints = {
                "application": [(f"/v1/applications/{a}", {"Authorization": f"Bearer {t}"}) for t, a, _ in issued],
                # public verification is limited per address: a new X-Forwarded-For every request
                "verify": [
                    (f"/v1/verify/{c}", {"X-Forwarded-For": f"10.9.{i // 250}.{i % 250}"})
                    for i, (_, _, c) in enumerate(issued * (1 + (3 * args.requests + args.warmup) // len(issued)))
                ],
                "healthz": [("/healthz", {})],
            }
            for name, reqs in endpoints.items():
                if name in only:
                    results["endpoints"][name] = measure(m, name, reqs, args.requests, args.warmup)
            stack.stop(m.child)
        if "ping" in only:
            port = free_port()
            log("bare endpoint under callgrind")
            argv = [
                sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--host", HOST, "--port", str(port),
                "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log",
                "--log-level", "warning",
            ]  # fmt: skip
            m = Measured(stack, f"callgrind-bare-{port}", argv, stack.base_env(), port, out_dir)
            m.wait("/ping", timeout=args.start_timeout)
            results["bare_idle_instructions_per_s"] = round(idle_rate(m, args.idle_seconds))
            results["endpoints"]["ping"] = measure(m, "ping", [("/ping", {})], args.requests * 4, args.warmup)
            stack.stop(m.child)
    finally:
        stack.close()
        with contextlib.suppress(Exception):
            shutil.rmtree(stack.workdir, ignore_errors=True)
    return results


def table(results: dict) -> str:
    labels = {
        "application": "GET /v1/applications/{id} (owner's token)",
        "verify": "GET /v1/verify/{code}",
        "healthz": "GET /healthz (service, not audited)",
        "ping": "GET /ping (bare FastAPI app)",
    }
    ping = results["endpoints"].get("ping", {}).get("instructions_per_request")
    lines = [
        f"{results['run_id']}: load average at start {results['loadavg_at_start']}",
        f"{'endpoint':<44}{'instructions/request':>22}{'x bare':>9}",
    ]
    for name, d in results["endpoints"].items():
        per = d["instructions_per_request"]
        lines.append(f"{labels.get(name, name):<44}{per:>22,}{(per / ping if ping else 0):>9.1f}")
    for key in ("service_idle_instructions_per_s", "bare_idle_instructions_per_s"):
        if key in results:
            lines.append(f"{key.replace('_', ' ')}: {results[key]:,}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--people", type=int, default=10_000, help="people in the dataset (the reads do not depend on it)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--issue", type=int, default=20, help="residence permits to file and issue first")
    p.add_argument("--requests", type=int, default=50, help="N: counted batches of N and 2N requests")
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--idle-seconds", type=float, default=5)
    p.add_argument("--only", default="application,verify,healthz,ping")
    p.add_argument("--start-timeout", type=float, default=900)
    args = p.parse_args(argv)
    results = run(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{results['run_id']}.json"
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print()
    print(table(results))
    log(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
