"""The census: instructions per request, per issuance flow and per naive document, counted by callgrind,
which a shared machine does not move (to ~1%), so a change can be judged in one run.

    python bench/instructions.py [--people 10000] [--requests 50] [--flows 10]
                                 [--only application,verify,healthz,issuance,naive,floor,ping]
                                 [--keep-callgrind DIR]

How:
1. A database prepared as bench/run.py prepares the service's (a fresh `bench_instr_*` database, both
   simulators, migrations), with `--issue` residence permits filed through a normal `serve`.
2. The service again as one process under `valgrind --tool=callgrind --instr-atstart=no
   --separate-threads=yes` (start-up uninstrumented): `serve --workers 1` with PROMETHEUS_MULTIPROC_DIR
   set as `--workers N` sets it, RUN_WORKER_IN_PROCESS=false (the worker's polls would land in the slow
   instrumented requests), PDF_PROCESSES=0 (render + sign in threads of that process, so that callgrind
   counts them; valgrind's thread 1 is the event loop, the others the PDF threads).
3. Per endpoint, sequentially on one keep-alive connection: warm-up requests uninstrumented, then
   `callgrind_control --zero`, N requests, `--dump`, `--zero`, 2N requests, `--dump`: instructions per
   request = (I(2N) - I(N)) / N, so what every dump shares (toggling, the dump itself) cancels. What
   remains idle (mostly the sealer's poll) is reported, not subtracted. Sequential requests mean one
   request per group commit: an upper bound of a read under load.
4. `issuance`: residence-permit flows as bench/run.py drives them (upload, file, download), by citizens
   who filed nothing yet: N and 2N whole flows; then N and 2N flows started together whose requests are
   let through one kind at a time (all uploads, then all filings, then all downloads), the counters
   zeroed and dumped around each kind, split by thread. Work a request leaves behind (the request log's
   batch, the sealer) lands in whichever window it runs in; the kinds add up to the whole flow within ~1%.
5. `naive`: bench/naive.py's loop under callgrind, per document. `floor`: bench/floor_app.py's audited
   read, committed INSERT and agency call, counted as the service's requests. `ping`: the bare endpoint.

Counted: the measured process only (Python, uvloop, asyncpg, C extensions): not PostgreSQL, not the
simulators (their answers are waited for: AGENCY_TIMEOUT_SECONDS is raised), not the client. Needs
valgrind and PostgreSQL as for bench/run.py; everything it starts is stopped and its databases dropped.
~3 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.citizens import Citizen, pick  # noqa: E402
from bench.loadgen import HttpClient, Recorder, Response, closed_loop  # noqa: E402
from bench.run import Flows, ensure_dataset, mint_tokens  # noqa: E402
from bench.stack import HOST, Stack, create_database, ensure_postgres, free_port, uvicorn_argv, venv_bin, wait_ready  # noqa: E402

RESULTS = ROOT / "bench" / "results"
T0 = time.monotonic()
KINDS = ("upload", "file", "download")
Threads = dict[int, int]  # valgrind's thread number -> instructions


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
        "--separate-threads=yes",  # one file per thread and dump: the event loop apart from the PDF threads
        f"--callgrind-out-file={out_dir}/callgrind.out.%p",
        *argv,
    ]


def control(pid: int, *args: str) -> str:
    proc = subprocess.run(["callgrind_control", *args, str(pid)], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"callgrind_control {' '.join(args)} {pid}: {proc.stdout} {proc.stderr}")
    return proc.stdout


_TOTAL = re.compile(r"^(?:summary|totals):\s+(\d+)", re.MULTILINE)
_THREAD = re.compile(r"^thread:\s+(\d+)", re.MULTILINE)


# Where `--keep-callgrind DIR` copies every dump, named by its batch and thread, for callgrind_annotate.
_keep_in: list[Path] = []


def dump_threads(pid: int, out_dir: Path, tag: str) -> Threads:
    """Dump the counters since the last zero: {thread: its instructions}. With --separate-threads=yes
    callgrind writes one file per thread; they are read once the same set appears twice in a row."""
    before = set(out_dir.glob(f"callgrind.out.{pid}*"))
    control(pid, f"--dump={tag}")
    deadline = time.monotonic() + 120
    seen: Threads = {}
    while time.monotonic() < deadline:
        threads: Threads = {}
        files: dict[int, Path] = {}
        for path in set(out_dir.glob(f"callgrind.out.{pid}*")) - before:
            text = path.read_text(errors="replace")
            total, thread = _TOTAL.search(text), _THREAD.search(text)
            if total is None or thread is None:
                break  # still being written
            threads[int(thread.group(1))] = int(total.group(1))
            files[int(thread.group(1))] = path
        else:
            if threads and threads == seen:
                for keep in _keep_in:
                    for number, path in files.items():
                        shutil.copyfile(path, keep / f"{tag}.thread{number}.callgrind")
                return threads
            seen = threads
        time.sleep(0.2)
    raise TimeoutError(f"no callgrind dump for {tag}")


class Measured:
    """A process under callgrind, answering HTTP on `port`."""

    def __init__(self, stack: Stack, name: str, argv: list[str], env: dict[str, str], port: int, out_dir: Path):
        self.port = port
        self.out_dir = out_dir
        self.child = stack.spawn(name, valgrind_argv(out_dir, argv), env)
        self.pid = self.child.proc.pid

    def wait(self, path: str, timeout: float) -> None:
        wait_ready(f"http://{HOST}:{self.port}{path}", timeout=timeout, proc=self.child.proc)

    def dump(self, tag: str) -> int:
        return sum(dump_threads(self.pid, self.out_dir, tag).values())


def count(pid: int, dump: Callable[[str], int], name: str, run: Callable[[int], object], n: int) -> dict[str, Any]:
    """Instructions per unit of `run` (a request, a flow, a document): zero, N units, dump; zero, 2N
    units, dump; (I(2N) - I(N)) / N. Instrumentation must be on, and the code warmed up, before."""
    totals = []
    for k in (n, 2 * n):
        control(pid, "--zero")
        run(k)
        totals.append(dump(f"{name}-{k}"))
    per = (totals[1] - totals[0]) / n
    log(f"    {name}: {per:,.0f} instructions each ({totals[0]:,} for {n}, {totals[1]:,} for {2 * n})")
    return {"instructions_per_request": round(per), "n": n, "instructions_n": totals[0], "instructions_2n": totals[1]}


def measure(m: Measured, name: str, requests: list[tuple[str, dict[str, str]]], n: int, warmup: int) -> dict[str, Any]:
    """Instructions per GET for one endpoint (the requests are used in turn)."""
    log(f"  {name}: {warmup} warm-up requests, then {n} and {2 * n} counted")
    with httpx.Client(base_url=f"http://{HOST}:{m.port}", timeout=httpx.Timeout(300.0)) as client:
        sent = 0

        def send(how_many: int) -> None:
            nonlocal sent
            for _ in range(how_many):
                path, headers = requests[sent % len(requests)]
                sent += 1
                r = client.get(path, headers=headers)
                if r.status_code != 200:
                    raise RuntimeError(f"{name}: {path} answered {r.status_code}: {r.text[:300]}")

        send(warmup)
        control(m.pid, "--instr=on")
        send(2)  # the first instrumented requests pay for callgrind translating the code afresh
        counted = count(m.pid, m.dump, name, send, n)
        control(m.pid, "--instr=off")
    return counted


def idle_rate(m: Measured, seconds: float) -> float:
    control(m.pid, "--instr=on")
    control(m.pid, "--zero")
    start = time.perf_counter()
    time.sleep(seconds)
    total = m.dump(f"idle-{uuid.uuid4().hex[:6]}")
    control(m.pid, "--instr=off")
    return total / (time.perf_counter() - start)


# -- issuance ---------------------------------------------------------------------------------------


def request_kind(method: str, path: str) -> str:
    if method == "POST" and path == "/v1/materials":
        return "upload"
    if method == "POST" and path == "/v1/applications":
        return "file"
    if method == "GET" and path.startswith("/v1/certificates/") and path.endswith("/pdf"):
        return "download"
    raise ValueError(f"not a step of the residence-permit flow: {method} {path}")


class PhasedClient:
    """The client `Flows` drives, letting through one kind of request at a time, one request at a time:
    flows started together make all their uploads once `upload` opens, then all their filings, then all
    their downloads."""

    def __init__(self, inner: HttpClient) -> None:
        self.inner = inner
        self.gates = {kind: asyncio.Event() for kind in KINDS}
        self.done = dict.fromkeys(KINDS, 0)
        self._one = asyncio.Lock()

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"", *, user: int = 0
    ) -> Response:
        kind = request_kind(method, path)
        await self.gates[kind].wait()
        async with self._one:
            try:
                return await self.inner.request(method, path, headers, body, user=user)
            finally:
                self.done[kind] += 1


class Issuance:
    """Residence-permit flows against the measured service, each by a citizen who filed nothing yet."""

    def __init__(self, m: Measured, citizens: list[Citizen], tokens: list[str], settle: float) -> None:
        self.m = m
        self.citizens, self.tokens = citizens, tokens
        self.settle = settle
        self.cursor = [0]
        self.base_url = f"http://{HOST}:{m.port}"

    def sequential(self, how_many: int) -> None:
        async def go() -> None:
            client = HttpClient(self.base_url, connections=2)
            try:
                flows = Flows(client, self.citizens, self.tokens, cursor=self.cursor)
                rec = await closed_loop(
                    flows.residence_permit, users=1, duration=300.0 * how_many, max_iterations=how_many
                )
            finally:
                await client.aclose()
            if rec.failures or rec.completed != how_many:
                raise RuntimeError(f"issuance: {rec.completed}/{how_many} flows, {rec.failure_samples}")

        asyncio.run(go())

    def phased(self, how_many: int, tag: str) -> dict[str, Threads]:
        """`how_many` flows, the counters zeroed before and dumped after each kind of request, after
        `settle` quiet seconds so that what the previous kind left behind runs outside the windows."""

        async def go() -> dict[str, Threads]:
            client = PhasedClient(HttpClient(self.base_url, connections=2))
            flows = Flows(client, self.citizens, self.tokens, cursor=self.cursor)
            rec = Recorder()
            tasks = [asyncio.create_task(flows.residence_permit(u, 0, rec)) for u in range(how_many)]
            out = {}
            try:
                for kind in KINDS:
                    await asyncio.sleep(self.settle)
                    control(self.m.pid, "--zero")
                    client.gates[kind].set()
                    deadline = time.monotonic() + 300.0 * how_many
                    while client.done[kind] < how_many:
                        failed = [t.exception() for t in tasks if t.done() and not t.cancelled() and t.exception()]
                        if failed or time.monotonic() > deadline:
                            raise RuntimeError(f"issuance ({tag}, {kind}): {failed or 'timed out'}")
                        await asyncio.sleep(0.01)
                    out[kind] = dump_threads(self.m.pid, self.m.out_dir, f"{tag}-{kind}")
                await asyncio.gather(*tasks)
            finally:
                for t in tasks:
                    t.cancel()
                await client.inner.aclose()
            return out

        return asyncio.run(go())


def measure_issuance(issuance: Issuance, n: int, warmup: int) -> dict[str, dict[str, Any]]:
    m = issuance.m
    log(f"  issuance: {warmup} warm-up flows, then {n} and {2 * n} whole flows, then {n} and {2 * n} by kind")
    issuance.sequential(warmup)
    control(m.pid, "--instr=on")
    issuance.sequential(2)  # callgrind translates the code afresh
    out = {"issuance_flow": count(m.pid, m.dump, "issuance", issuance.sequential, n)}
    first, second = issuance.phased(n, f"kinds-{n}"), issuance.phased(2 * n, f"kinds-{2 * n}")
    control(m.pid, "--instr=off")
    for kind in KINDS:
        per = (sum(second[kind].values()) - sum(first[kind].values())) / n
        loop = (second[kind].get(1, 0) - first[kind].get(1, 0)) / n  # valgrind's thread 1: the event loop
        out[f"issuance_{kind}"] = {
            "instructions_per_request": round(per),
            "other_threads_per_request": round(per - loop),
        }
        log(f"    {kind}: {per:,.0f} instructions, {(per - loop) / max(per, 1):.0%} outside the event loop's thread")
    return out


# -- preparing --------------------------------------------------------------------------------------


Prepared = tuple[dict[str, str], list[tuple[str, str, str]], list[Citizen], list[str]]


def prepare(stack: Stack, args: argparse.Namespace) -> Prepared:
    """A database like bench/run.py's with `--issue` certificates: the service's environment, [(token,
    application id, verification code)], and residence-permit applicants who have filed nothing, with
    their tokens."""
    dataset = ensure_dataset(args.people, args.seed)
    need = args.issue + args.warmup_flows + 2 + 6 * args.flows
    citizens = pick(dataset, limit=need)
    if len(citizens) < need:
        raise RuntimeError(f"{len(citizens)} residence-permit applicants in {args.people:,} people, {need} needed")
    db = f"bench_instr_{uuid.uuid4().hex[:8]}"
    database_url = create_database(db).replace("postgresql://", "postgresql+asyncpg://", 1)
    stack.databases.append(db)
    urls = stack.start_simulators(dataset, timeout=600)
    stack.migrate(database_url)
    service = stack.start_service(workers=1, database_url=database_url, urls=urls)
    assert stack.data_dir is not None
    tokens = mint_tokens(stack.data_dir, citizens)
    log(f"  filing {args.issue} residence permits through a normal service")

    async def file_some() -> list[tuple[str, str, str]]:
        client = HttpClient(f"http://{HOST}:{stack.service_port}", connections=4)
        flows = Flows(client, citizens[: args.issue], tokens[: args.issue])
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
    return env, issued, citizens[args.issue :], tokens[args.issue :]


def service_census(stack: Stack, args: argparse.Namespace, only: set[str], out_dir: Path) -> dict[str, Any]:
    log(f"preparing a database: {args.people:,} people, {args.issue} issued residence permits")
    env, issued, fresh, fresh_tokens = prepare(stack, args)
    port = free_port()
    metrics_dir = Path(tempfile.mkdtemp(prefix="metrics-", dir=stack.workdir))
    env |= {
        "PUBLIC_BASE_URL": f"http://{HOST}:{port}",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "RUN_WORKER_IN_PROCESS": "false",
        "PDF_PROCESSES": "0",
        # An agency call is timed by the wall clock and the service's part of it runs ~50x slower under
        # callgrind: a filing could time out and wait for the (absent) worker. No instruction changes.
        "AGENCY_TIMEOUT_SECONDS": "60",
        "AGENCY_DEADLINE_SECONDS": "180",
    }
    log("the service under callgrind (start-up uninstrumented; a minute or two)")
    argv = [venv_bin("cityservices"), "serve", "--host", HOST, "--port", str(port), "--workers", "1"]
    m = Measured(stack, f"callgrind-service-{port}", argv, env, port, out_dir)
    m.wait("/readyz", timeout=args.start_timeout)
    out: dict[str, Any] = {"service_idle_per_s": round(idle_rate(m, args.idle_seconds))}
    endpoints: dict[str, list[tuple[str, dict[str, str]]]] = {
        "application": [(f"/v1/applications/{a}", {"Authorization": f"Bearer {t}"}) for t, a, _ in issued],
        # public verification is limited per address: a new X-Forwarded-For for every request
        "verify": [
            (f"/v1/verify/{issued[i % len(issued)][2]}", {"X-Forwarded-For": f"10.9.{i // 250}.{i % 250}"})
            for i in range(3 * args.requests + args.warmup + 2)
        ],
        "healthz": [("/healthz", {})],
    }
    for name, requests in endpoints.items():
        if name in only:
            out[name] = measure(m, name, requests, args.requests, args.warmup)
    if "issuance" in only:
        out |= measure_issuance(Issuance(m, fresh, fresh_tokens, args.settle), args.flows, args.warmup_flows)
    stack.stop(m.child)
    return out


def floor_census(stack: Stack, args: argparse.Namespace, out_dir: Path) -> dict[str, Any]:
    """bench/floor_app.py's references under callgrind, counted as the service's requests."""
    db = f"bench_instr_floor_{uuid.uuid4().hex[:8]}"
    pg_url = create_database(db)
    stack.databases.append(db)
    agency = stack.start_bare(workers=1)
    env = stack.base_env() | {
        "FLOOR_DATABASE_URL": pg_url.replace("postgresql://", "postgresql+asyncpg://", 1),
        "FLOOR_AGENCY_URL": agency.url,
    }
    port = free_port()
    log("the floor app under callgrind")
    m = Measured(stack, f"callgrind-floor-{port}", uvicorn_argv("bench.floor_app:app", port), env, port, out_dir)
    m.wait("/ping", timeout=args.start_timeout)
    token = {"Authorization": "Bearer floor"}
    ids = [str(uuid.UUID(int=1 + i)) for i in range(1000)]
    out = {
        "floor_read": measure(m, "floor_read", [(f"/floor/{i}", token) for i in ids], args.requests, args.warmup),
        "floor_write": measure(m, "floor_write", [(f"/write/{i}", {}) for i in ids], args.requests, args.warmup),
        "floor_agency": measure(m, "floor_agency", [("/agency", {})], args.requests, args.warmup),
    }
    stack.stop(m.child)
    stack.stop(agency)
    return out


def naive_census(stack: Stack, out_dir: Path, n: int) -> dict[str, Any]:
    """bench/naive.py's loop in one process under callgrind: instructions per document."""
    from app.certificates.signing import ensure_dev_signing_material

    key_file, cert_file = ensure_dev_signing_material(stack.workdir / "naive-keys")
    naive = [sys.executable, str(ROOT / "bench" / "naive.py"), "--stdin", str(key_file), str(cert_file)]
    log("the naive render + sign loop under callgrind")
    proc = subprocess.Popen(
        valgrind_argv(out_dir, naive),
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout
    try:
        if stdout.readline().strip() != "ready":
            raise RuntimeError("the naive loop did not start")

        def produce(how_many: int) -> None:
            stdin.write(f"{how_many}\n")
            stdin.flush()
            if stdout.readline().strip() != "ok":
                raise RuntimeError("the naive loop stopped")

        produce(3)  # warm-up, uninstrumented
        control(proc.pid, "--instr=on")
        produce(1)
        return count(proc.pid, lambda tag: sum(dump_threads(proc.pid, out_dir, tag).values()), "naive", produce, n)
    finally:
        proc.kill()
        proc.wait(timeout=30)


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "run_id": f"instructions-{datetime.now():%Y%m%d-%H%M%S}",
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "args": vars(args),
    }
    only = set(args.only.split(","))
    stack = Stack(log)
    out_dir = Path(tempfile.mkdtemp(prefix="callgrind-", dir=stack.workdir))
    counted: dict[str, Any] = {}
    try:
        ensure_postgres(log)
        if only & {"application", "verify", "healthz", "issuance"}:
            counted |= service_census(stack, args, only, out_dir)
            for child in list(stack.children):
                stack.stop(child)
        if "naive" in only:
            counted["naive"] = naive_census(stack, out_dir, args.flows)
        if "floor" in only:
            counted |= floor_census(stack, args, out_dir)
        if "ping" in only:
            port = free_port()
            log("the bare endpoint under callgrind")
            m = Measured(
                stack,
                f"callgrind-bare-{port}",
                uvicorn_argv("bench.bare_app:app", port),
                stack.base_env(),
                port,
                out_dir,
            )
            m.wait("/ping", timeout=args.start_timeout)
            counted["ping"] = measure(m, "ping", [("/ping", {})], args.requests * 4, args.warmup)
    finally:
        stack.close()
        shutil.rmtree(stack.workdir, ignore_errors=True)
    results["counted"] = counted
    return results


LABELS = {
    "application": "GET /v1/applications/{id} (owner's token)",
    "verify": "GET /v1/verify/{code}",
    "healthz": "GET /healthz (service, not audited)",
    "floor_read": "floor of an audited read (floor_app.py)",
    "floor_write": "floor of a committed INSERT",
    "floor_agency": "floor of an agency call",
    "ping": "GET /ping (bare FastAPI app)",
    "issuance_flow": "residence permit, whole flow (3 requests)",
    "issuance_upload": "  POST /v1/materials",
    "issuance_file": "  POST /v1/applications (render + sign)",
    "issuance_download": "  GET /v1/certificates/{serial}/pdf",
    "naive": "naive render+sign, per document",
}


def table(results: dict[str, Any]) -> str:
    counted = results["counted"]
    ping = counted.get("ping", {}).get("instructions_per_request")
    floor = counted.get("floor_read", {}).get("instructions_per_request")
    lines = [
        f"{results['run_id']}: load average at start {results['loadavg_at_start']}",
        f"{'':<44}{'instructions':>14}{'x bare':>9}{'x floor':>9}{'other threads':>15}",
    ]
    for name, d in counted.items():
        if not isinstance(d, dict):
            lines.append(f"{name}: {d:,}")
            continue
        per = d["instructions_per_request"]
        bare = f"{per / ping:>9.1f}" if ping else f"{'':>9}"
        over_floor = f"{per / floor:>9.2f}" if floor and name in ("application", "verify") else f"{'':>9}"
        others = f"{d['other_threads_per_request'] / per:>15.0%}" if "other_threads_per_request" in d else ""
        lines.append(f"{LABELS.get(name, name):<44}{per:>14,}{bare}{over_floor}{others}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--people", type=int, default=10_000, help="people in the dataset (the reads do not depend on it)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--issue", type=int, default=20, help="residence permits to file and issue first")
    p.add_argument("--requests", type=int, default=50, help="N: counted batches of N and 2N requests")
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--idle-seconds", type=float, default=5)
    p.add_argument("--flows", type=int, default=10, help="issuance and naive: counted batches of N and 2N")
    p.add_argument("--warmup-flows", type=int, default=3)
    p.add_argument("--settle", type=float, default=1.0, help="issuance: quiet seconds before each kind's window")
    p.add_argument("--only", default="application,verify,healthz,issuance,naive,floor,ping")
    p.add_argument("--start-timeout", type=float, default=900)
    p.add_argument(
        "--keep-callgrind",
        metavar="DIR",
        help="copy every dump to DIR as <batch>.thread<n>.callgrind (for callgrind_annotate)",
    )
    args = p.parse_args(argv)
    if args.keep_callgrind is not None:
        keep = Path(args.keep_callgrind).resolve()
        keep.mkdir(parents=True, exist_ok=True)
        _keep_in.append(keep)
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
