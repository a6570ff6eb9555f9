"""What each piece of a request costs on this stack, counted by callgrind: the floor under the service.

    python bench/floor.py [--requests 50] [--warmup 30]

`bench/floor_app.py` is a FastAPI app with none of the service's code: one route per rung of a ladder,
each the bare endpoint plus one piece of what a service request does (a cached token check, one
statement through the ORM, through Core, on an AUTOCOMMIT connection, on asyncpg directly, one
committed INSERT, an agency call through httpx, a multipart upload). It runs as one uvicorn process
(uvloop, httptools, as the bare reference) under `valgrind --tool=callgrind`, on a fresh PostgreSQL
database on loopback, with a second, uninstrumented uvicorn as the "agency". Instructions per request
are counted as `bench/instructions.py` counts them ((I(2N) - I(N)) / N, sequential requests over one
keep-alive connection), so the figures compare directly with that script's figures for the service's
own reads.

What it proves: the sum of the rungs a request needs is the least that request can cost on FastAPI +
SQLAlchemy + asyncpg + httpx, whatever the service's code does. `floor` is the issue's "one (cached)
signature check, one indexed query, one event insert and a JSON answer".

Needs valgrind and PostgreSQL as for `bench/instructions.py`. ~3 minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.instructions import Measured, control, count_instructions  # noqa: E402
from bench.run import BOUNDARY, multipart, proof_pdf  # noqa: E402
from bench.stack import HOST, Stack, create_database, ensure_postgres, free_port  # noqa: E402

RESULTS = ROOT / "bench" / "results"
T0 = time.monotonic()

# (name, method, path, what it adds); {id} is replaced by a row's id, a different one per request
LADDER = [
    ("ping", "GET", "/ping", "the bare endpoint"),
    ("token", "GET", "/token", "+ a dependency: Authorization looked up in a verified-token cache"),
    (
        "service-shaped",
        "GET",
        "/service-shaped/{id}",
        "+ the dependency shape of the service's application read, no work",
    ),
    ("service-flat", "GET", "/service-flat/{id}", "the same, each dependency taking only the request"),
    ("service-one", "GET", "/service-one/{id}", "the same as one dependency and a header"),
    ("orm", "GET", "/orm/{id}", "+ one AsyncSession.get by primary key (BEGIN, SELECT, ROLLBACK)"),
    (
        "session-core",
        "GET",
        "/session-core/{id}",
        "+ one Core select through an AsyncSession (BEGIN, SELECT, ROLLBACK)",
    ),
    ("core", "GET", "/core/{id}", "+ the same as one Core select on a connection (BEGIN, SELECT, ROLLBACK)"),
    ("core-autocommit", "GET", "/core-autocommit/{id}", "+ the same, the connection switched to AUTOCOMMIT"),
    ("autocommit-engine", "GET", "/autocommit-engine/{id}", "+ the same on an AUTOCOMMIT engine (SELECT only)"),
    ("asyncpg", "GET", "/asyncpg/{id}", "+ the same on asyncpg directly, no SQLAlchemy"),
    ("insert", "GET", "/insert/{id}", "+ one Core INSERT, committed (BEGIN, INSERT, COMMIT)"),
    ("floor", "GET", "/floor/{id}", "token + AUTOCOMMIT select + group-committed insert + JSON: the floor of a read"),
    (
        "floor-asyncpg",
        "GET",
        "/floor-asyncpg/{id}",
        "the same on asyncpg directly (the insert its own statement, no batch)",
    ),
    ("agency", "GET", "/agency", "+ one GET to another server through a pooled httpx client"),
    (
        "agency-client",
        "GET",
        "/agency-client",
        "the same through the service's agency client (retries, breaker, model)",
    ),
    ("upload", "POST", "/upload", "+ a token and a multipart upload of a proof PDF, read and hashed"),
]


def log(msg: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f}s] {msg}", flush=True)


def measure(m: Measured, name: str, method: str, path: str, n: int, warmup: int) -> dict:
    body = multipart(proof_pdf()) if method == "POST" else None
    headers = {"Authorization": "Bearer floor-token"}
    if body is not None:
        headers["Content-Type"] = f"multipart/form-data; boundary={BOUNDARY}"
    with httpx.Client(base_url=f"http://{HOST}:{m.port}", timeout=httpx.Timeout(300.0)) as client:
        k = 0

        def send(count: int) -> None:
            nonlocal k
            for _ in range(count):
                k += 1
                url = path.replace("{id}", str(uuid.UUID(int=1 + k % 10_000)))
                r = client.request(method, url, headers=headers, content=body)
                if r.status_code != 200:
                    raise RuntimeError(f"{name}: {url} answered {r.status_code}: {r.text[:300]}")

        send(warmup)
        control(m.pid, "--instr=on")
        send(2)  # callgrind translates the code afresh
        counted = count_instructions(m.pid, m.out_dir, name, send, n)
        control(m.pid, "--instr=off")
    return counted


def run(args) -> dict:
    results: dict = {
        "run_id": f"floor-{datetime.now():%Y%m%d-%H%M%S}",
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "args": vars(args),
        "rungs": {},
    }
    stack = Stack(log)
    out_dir = Path(tempfile.mkdtemp(prefix="callgrind-", dir=stack.workdir))
    try:
        ensure_postgres(log)
        db = f"bench_floor_{uuid.uuid4().hex[:8]}"
        pg_url = create_database(db)
        stack.databases.append(db)
        agency = stack.start_bare(workers=1)
        assert agency is not None
        port = free_port()
        env = stack.base_env() | {
            "FLOOR_DATABASE_URL": pg_url.replace("postgresql://", "postgresql+asyncpg://", 1),
            "FLOOR_AGENCY_URL": f"http://{HOST}:{stack.bare_port}",
        }
        argv = [
            sys.executable, "-m", "uvicorn", "bench.floor_app:app", "--host", HOST, "--port", str(port),
            "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        log("floor app under callgrind (start-up uninstrumented)")
        m = Measured(stack, f"callgrind-floor-{port}", argv, env, port, out_dir)
        m.wait("/ping", timeout=args.start_timeout)
        for name, method, path, _ in LADDER:
            results["rungs"][name] = measure(m, name, method, path, args.requests, args.warmup)
        stack.stop(m.child)
    finally:
        stack.close()
        with contextlib.suppress(Exception):
            shutil.rmtree(stack.workdir, ignore_errors=True)
    return results


def table(results: dict) -> str:
    rungs = results["rungs"]
    ping = rungs["ping"]["instructions_per_request"]
    lines = [
        f"{results['run_id']}: load average at start {results['loadavg_at_start']}",
        f"{'rung':<17}{'instructions':>14}{'x bare':>8}{'over bare':>12}  what it adds",
    ]
    for name, _, _, what in LADDER:
        per = rungs[name]["instructions_per_request"]
        lines.append(f"{name:<17}{per:>14,}{per / ping:>8.2f}{per - ping:>12,}  {what}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=50, help="N: counted batches of N and 2N requests")
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--start-timeout", type=float, default=600)
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
