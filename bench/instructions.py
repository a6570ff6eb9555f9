"""Instructions per request for the hot reads and per issuance, counted by callgrind: stable on a shared
machine.

    python bench/instructions.py [--people 10000] [--requests 50] [--flows 10] [--keep-dumps]
                                 [--only application,verify,healthz,ping,issuance]

Wall-clock and even CPU-time figures move with whatever else runs on the 2 cores; the number of
instructions a request executes does not (to within ~1%), so a change to the read path or to issuance
can be judged in one run. How:

1. A database prepared like bench/run.py's main stack (bench/stack.py: a fresh `bench_instr_*`
   database, both agency simulators on a generated dataset, `alembic upgrade head`), and a few residence
   permits filed and issued through a normal `cityservices serve --workers 1`, which is then stopped.
2. The service again, one process (`cityservices serve --workers 1`, with PROMETHEUS_MULTIPROC_DIR set
   as `--workers N` sets it, so the metrics cost what they cost in production), under
   `valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes` (start-up runs uninstrumented,
   ~5x slower instead of ~50x; a dump is one file per thread, summed). PDF_PROCESSES=0: certificates
   are rendered and signed in threads of that process, counted with it (production uses a pool process,
   which callgrind would not follow). The bare endpoint (`bench/bare_app.py` under uvicorn, uvloop +
   httptools) the same way.
3. Per endpoint, sequentially over one keep-alive connection: `--warmup` requests uninstrumented, then
   instrumentation on; `callgrind_control --zero`, N requests, `--dump`; `--zero`, 2N requests, `--dump`.
   Instructions per request = (I(2N) - I(N)) / N: what every dump shares (toggling, the dump itself)
   cancels. Time-driven work does not cancel, and a request takes 0.1-0.2 s under callgrind, so the
   service runs with RUN_WORKER_IN_PROCESS=false (the agency worker and notification dispatcher poll
   the database every 0.5-1 s; production runs them as `cityservices worker`). What remains idle
   (`idle`, instructions per second with no request) is mostly the sealer's 0.5 s poll, which does
   not run while requests keep waking it: reported, not subtracted.
4. Issuance (`--only issuance`): residence-permit flows as bench/run.py drives them
   (`Flows.residence_permit`: upload a one-page proof, file, download the signed PDF), each by a citizen
   of the dataset who has filed nothing yet (`bench/citizens.py`; none of step 1's). `--warmup-flows`
   uninstrumented, 2 instrumented and not counted, then
   - `issuance_flow`: N and 2N whole flows one after another, zero and dump around each batch as in 3;
   - `issuance_upload`, `_file`, `_download`: N (then 2N) flows started together whose requests
     `PhasedClient` lets through one kind at a time and one at a time: `--settle` s quiet, `--zero`,
     all N uploads, `--dump`; the same for the filings, then for the downloads. Per kind
     (I_kind(2N) - I_kind(N)) / N, and split by thread (valgrind's thread 1 runs the event loop; the
     others are the PDF threads, so for `file` they are render + sign) and by shared object.
   Counted: everything the process executes in the window, so work a request leaves behind (the
   request-log writer's batch, the sealer it wakes) lands in whichever window it runs in: in the whole
   flows, in the flow that follows; by kind, in that kind's window, except what the last request of a
   window leaves, which runs in the quiet gap (uncounted, and the same for N and 2N). The kinds add up
   to the whole flow within ~1%. Repeated runs agree within ~0.3% for the whole flow and ~1% for the
   filing; the upload and the download (~8 M each, ~0.1 s under callgrind) move by up to ~5%, the
   time-driven work (~1.2 M instructions per second idle) weighing more against them. The filing's
   calls to the agencies count on the service's side only (the simulators run natively;
   AGENCY_TIMEOUT_SECONDS is raised, lest the slowed service time out its own calls to them). The download is of a PDF just issued.

What is counted: the service process only (Python, uvloop, asyncpg, the C extensions), including its
request-log writer and sealer tasks, which run in the same process. Not counted: PostgreSQL's own work,
the simulators' and the client's. Requests are sequential, so the request log's group commit carries one
request per batch: an upper bound of what a request costs under load, where batches are larger.

Needs valgrind (Debian package `valgrind`); PostgreSQL as for bench/run.py. Everything it starts is
stopped and its database dropped in a `finally`. ~2.5 minutes (issuance alone ~2).
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
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.citizens import pick  # noqa: E402
from bench.loadgen import HttpxClient, Recorder, closed_loop  # noqa: E402
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
        "--separate-threads=yes",  # one file per thread and dump: the event loop apart from the PDF threads
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
_THREAD = re.compile(r"^thread:\s+(\d+)", re.MULTILINE)


def dump_threads(pid: int, out_dir: Path, tag: str) -> dict[int, tuple[Path, int]]:
    """Dump the counters since the last zero: {thread: (its file, its total Ir)}. With
    --separate-threads=yes callgrind writes one file per thread, all before callgrind_control returns."""
    before = set(out_dir.glob(f"callgrind.out.{pid}*"))
    control(pid, f"--dump={tag}")
    deadline = time.monotonic() + 120
    seen: dict[int, tuple[Path, int]] = {}
    while time.monotonic() < deadline:
        threads = {}
        for path in set(out_dir.glob(f"callgrind.out.{pid}*")) - before:
            text = path.read_text(errors="replace")
            total, thread = _TOTAL.search(text), _THREAD.search(text)
            if total is None or thread is None:
                break  # still being written
            threads[int(thread.group(1))] = (path, int(total.group(1)))
        else:
            if threads and threads == seen:  # the same files twice in a row: all written
                return threads
            seen = threads
        time.sleep(0.2)
    raise TimeoutError(f"no callgrind dump for {tag}")


def dump_total(pid: int, out_dir: Path, tag: str) -> int:
    """Dump the counters since the last zero and return their total Ir (all threads)."""
    return sum(total for _, total in dump_threads(pid, out_dir, tag).values())


def self_cost_by_object(path: Path) -> Counter[str]:
    """Exclusive Ir per shared object (ELF file) in one callgrind dump: the cost lines of each function,
    not the inclusive costs that follow its `calls=` lines."""
    names: dict[str, str] = {}
    costs: Counter[str] = Counter()
    ob = fn_ob = "?"
    after_call = False

    def name(ref: str) -> str:
        m = re.match(r"\((\d+)\)(?: (.*))?$", ref.strip())
        if m is None:
            return ref.strip()
        if m.group(2) is not None:
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), "?")

    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            head = line[:1]
            if head.isdigit() or head in "+-*":
                if after_call:
                    after_call = False
                    continue
                parts = line.split()
                if len(parts) >= 2 and parts[1].isdigit():
                    costs[fn_ob] += int(parts[1])
            elif line.startswith("ob="):
                ob = name(line[3:])
            elif line.startswith("cob="):
                name(line[4:])  # may define a name used later
            elif line.startswith("fn="):
                fn_ob = ob
            elif line.startswith("calls="):
                after_call = True
    return costs


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


def count_instructions(pid: int, out_dir: Path, name: str, run: Callable[[int], object], n: int) -> dict:
    """Instructions per unit of `run` (a request, a flow, a document): callgrind's counters zeroed, N units,
    dumped; zeroed, 2N units, dumped. (I(2N) - I(N)) / N: what every dump shares (toggling, the dump
    itself) cancels. Instrumentation must be on, and the code warmed up, before."""
    control(pid, "--zero")
    start = time.perf_counter()
    run(n)
    t1 = time.perf_counter() - start
    i1 = dump_total(pid, out_dir, f"{name}-{n}")
    control(pid, "--zero")
    start = time.perf_counter()
    run(2 * n)
    t2 = time.perf_counter() - start
    i2 = dump_total(pid, out_dir, f"{name}-{2 * n}")
    per = (i2 - i1) / n
    log(f"    {name}: {per:,.0f} instructions each ({i1:,} for {n}, {i2:,} for {2 * n}; {t2 / (2 * n):.3f} s each)")
    return {
        "instructions_per_request": round(per),
        "naive_per_request_at_n": round(i1 / n),
        "n": n,
        "instructions_n": i1,
        "instructions_2n": i2,
        "seconds_n": round(t1, 2),
        "seconds_2n": round(t2, 2),
    }


def measure(m: Measured, name: str, requests: list[tuple[str, dict[str, str]]], n: int, warmup: int) -> dict:
    """Instructions per request for one endpoint (the requests are used in turn)."""
    log(f"  {name}: {warmup} warm-up requests, then {n} and {2 * n} counted")
    with httpx.Client(base_url=f"http://{HOST}:{m.port}", timeout=httpx.Timeout(300.0)) as client:
        k = 0

        def send(count: int) -> None:
            nonlocal k
            for _ in range(count):
                path, headers = requests[k % len(requests)]
                k += 1
                r = client.get(path, headers=headers)
                if r.status_code != 200:
                    raise RuntimeError(f"{name}: {path} answered {r.status_code}: {r.text[:300]}")

        send(warmup)
        control(m.pid, "--instr=on")
        send(2)  # the first instrumented requests pay for callgrind translating the code afresh
        counted = count_instructions(m.pid, m.out_dir, name, send, n)
        control(m.pid, "--instr=off")
    return counted


def idle_rate(m: Measured, seconds: float) -> float:
    control(m.pid, "--instr=on")
    control(m.pid, "--zero")
    start = time.perf_counter()
    time.sleep(seconds)
    total = dump_total(m.pid, m.out_dir, f"idle-{uuid.uuid4().hex[:6]}")
    control(m.pid, "--instr=off")
    return total / (time.perf_counter() - start)


# -- issuance ---------------------------------------------------------------------------------------

KINDS = ("upload", "file", "download")


def request_kind(method: str, path: str) -> str:
    """Which step of `Flows.residence_permit` (bench/run.py) a request is."""
    if method == "POST" and path == "/v1/materials":
        return "upload"
    if method == "POST" and path == "/v1/applications":
        return "file"
    if method == "GET" and path.startswith("/v1/certificates/") and path.endswith("/pdf"):
        return "download"
    raise ValueError(f"not a step of the residence-permit flow: {method} {path}")


class PhasedClient:
    """The client `Flows` drives (bench/loadgen.py's interface) letting through one kind of request at a
    time, one request at a time: flows started together as tasks make all their uploads once `upload` is
    opened, then all their filings once `file` is, then all their downloads."""

    def __init__(self, inner: HttpxClient) -> None:
        self.inner = inner
        self.gates = {kind: asyncio.Event() for kind in KINDS}
        self.done = dict.fromkeys(KINDS, 0)
        self._one = asyncio.Lock()

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"", *, user: int = 0
    ):
        kind = request_kind(method, path)
        await self.gates[kind].wait()
        async with self._one:
            try:
                return await self.inner.request(method, path, headers, body, user=user)
            finally:
                self.done[kind] += 1


class Issuance:
    """Residence-permit flows (`Flows.residence_permit`: upload a proof, file, download the PDF) against
    the measured service, each by a citizen who has filed nothing yet (the cursor is shared)."""

    def __init__(self, m: Measured, picked, tokens: dict[str, list[str]], settle: float) -> None:
        self.m = m
        self.picked = picked
        self.tokens = tokens
        self.settle = settle
        self.body = multipart(proof_pdf())
        self.cursor = {"residence_permit": 0}
        self.base_url = f"http://{HOST}:{m.port}"

    def _flows(self, client) -> Flows:
        return Flows(client, self.picked, self.tokens, self.body, cursor=self.cursor)

    def sequential(self, count: int) -> None:
        """`count` whole flows one after the other."""

        async def go() -> None:
            client = HttpxClient(self.base_url, connections=2)
            try:
                rec = await closed_loop(
                    self._flows(client).residence_permit, users=1, duration=300.0 * count, max_iterations=count
                )
            finally:
                await client.aclose()
            if rec.failures or rec.completed != count:
                raise RuntimeError(f"issuance: {rec.completed}/{count} flows, {rec.failure_samples}")

        asyncio.run(go())

    def phased(self, count: int, tag: str) -> dict[str, tuple[dict[int, tuple[Path, int]], float]]:
        """`count` flows with the counters zeroed before and dumped after each kind of request:
        {kind: ({thread: (dump file, Ir)}, seconds)}. Before each zero `settle` seconds without requests,
        so that the background work the previous kind left runs outside the windows."""

        async def go() -> dict[str, tuple[dict[int, tuple[Path, int]], float]]:
            client = PhasedClient(HttpxClient(self.base_url, connections=2))
            rec = Recorder()
            flows = self._flows(client)
            tasks = [asyncio.create_task(flows.residence_permit(u, 0, rec)) for u in range(count)]

            def failed() -> None:
                for t in tasks:
                    if t.done() and not t.cancelled() and t.exception() is not None:
                        raise RuntimeError(f"issuance ({tag}): {t.exception()}")

            out = {}
            try:
                for kind in KINDS:
                    await asyncio.sleep(self.settle)
                    control(self.m.pid, "--zero")
                    start = time.perf_counter()
                    deadline = time.monotonic() + 300.0 * count
                    client.gates[kind].set()
                    while client.done[kind] < count:
                        failed()
                        if time.monotonic() > deadline:
                            raise TimeoutError(f"issuance ({tag}): {client.done[kind]}/{count} {kind} requests")
                        await asyncio.sleep(0.01)
                    seconds = time.perf_counter() - start
                    out[kind] = (dump_threads(self.m.pid, self.m.out_dir, f"{tag}-{kind}"), seconds)
                    failed()
                await asyncio.gather(*tasks)
            finally:
                for t in tasks:
                    t.cancel()
                await client.inner.aclose()
            return out

        return asyncio.run(go())


def _objects(threads: dict[int, tuple[Path, int]]) -> Counter[str]:
    costs: Counter[str] = Counter()
    for path, _ in threads.values():
        for obj, ir in self_cost_by_object(path).items():
            costs[Path(obj).name] += ir
    return costs


def measure_issuance(issuance: Issuance, n: int, warmup: int) -> dict[str, dict]:
    """Instructions per residence-permit flow (`issuance_flow`) and per kind of its requests
    (`issuance_upload`, `issuance_file`, `issuance_download`), each as (I(2N) - I(N)) / N."""
    m = issuance.m
    log(f"  issuance: {warmup} warm-up flows, then {n} and {2 * n} whole flows, then {n} and {2 * n} by kind")
    issuance.sequential(warmup)
    control(m.pid, "--instr=on")
    issuance.sequential(2)  # callgrind translates the code afresh
    out = {"issuance_flow": count_instructions(m.pid, m.out_dir, "issuance", issuance.sequential, n)}
    p1 = issuance.phased(n, f"kinds-{n}")
    p2 = issuance.phased(2 * n, f"kinds-{2 * n}")
    control(m.pid, "--instr=off")
    for kind in KINDS:
        (th1, s1), (th2, s2) = p1[kind], p2[kind]
        k1, k2 = sum(ir for _, ir in th1.values()), sum(ir for _, ir in th2.values())
        main1, main2 = th1.get(1, (None, 0))[1], th2.get(1, (None, 0))[1]  # valgrind's thread 1: the event loop
        per_kind = (k2 - k1) / n
        main = (main2 - main1) / n
        o1, o2 = _objects(th1), _objects(th2)
        objects = {obj: round((o2[obj] - o1.get(obj, 0)) / n) for obj in o2}
        top = dict(sorted(objects.items(), key=lambda kv: -kv[1])[:8])
        out[f"issuance_{kind}"] = {
            "instructions_per_request": round(per_kind),
            "naive_per_request_at_n": round(k1 / n),
            "n": n,
            "instructions_n": k1,
            "instructions_2n": k2,
            "seconds_n": round(s1, 2),
            "seconds_2n": round(s2, 2),
            "main_thread_per_request": round(main),
            "other_threads_per_request": round(per_kind - main),
            "by_object_per_request": top,
        }
        log(
            f"    {kind}: {per_kind:,.0f} instructions ({k1:,} for {n}, {k2:,} for {2 * n}; "
            f"{s2 / (2 * n):.2f} s each), {(per_kind - main) / max(per_kind, 1):.0%} outside the event loop's thread"
        )
    return out


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


def fresh_citizens(stack: Stack, args) -> tuple[object, dict[str, list[str]]]:
    """Residence-permit applicants for the issuance census, none of `prepare`'s sample (which it and
    bench/profile_reads.py file with), with their tokens."""
    dataset, _ = ensure_dataset(args.people, args.seed)
    taken = {c.id_number for c in pick(dataset, limit=max(50, args.issue) + 20).residence_permit}
    need = args.warmup_flows + 2 + 6 * args.flows
    picked = pick(dataset, limit=len(taken) + need)
    fresh = [c for c in picked.residence_permit if c.id_number not in taken][:need]
    if len(fresh) < need:
        raise RuntimeError(f"{len(fresh)} residence-permit applicants in {args.people:,} people, {need} needed")
    log(f"  {need} residence-permit applicants for the issuance census")
    assert stack.data_dir is not None
    return replace(picked, residence_permit=fresh), {"residence_permit": mint_tokens(stack.data_dir, fresh)}


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
        if only & {"application", "verify", "healthz", "issuance"}:
            log(f"preparing a database: {args.people:,} people, {args.issue} issued residence permits")
            _, env, issued = prepare(stack, args)
            if "issuance" in only:
                picked, tokens = fresh_citizens(stack, args)
            port = free_port()
            env = env | {
                "PUBLIC_BASE_URL": f"http://{HOST}:{port}",
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
                # The agency worker and the notification dispatcher poll the database every 0.5-1 s
                # whatever the requests do (production runs them as `cityservices worker`); in this
                # process they would add ~2 M instructions to each slow, instrumented request.
                "RUN_WORKER_IN_PROCESS": "false",
                # Issuance renders and signs in threads of this process, so that callgrind counts it (a
                # pool process would run natively: --trace-children=no). No cost to the reads.
                "PDF_PROCESSES": "0",
                # An agency call is timed by the wall clock, and under callgrind the service's own part of
                # it is ~50x slower: it could pass the 1 s default, and the filing then wait for the
                # (absent) worker instead of issuing. Larger timeouts change no instruction.
                "AGENCY_TIMEOUT_SECONDS": "60",
                "AGENCY_DEADLINE_SECONDS": "180",
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
            if "issuance" in only:
                issuance = Issuance(m, picked, tokens, settle=args.settle)
                results["endpoints"] |= measure_issuance(issuance, args.flows, args.warmup_flows)
            stack.stop(m.child)
        if "naive" in only:
            results["endpoints"]["naive"] = measure_naive(stack, out_dir, args.flows)
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
        if args.keep_dumps:
            kept = RESULTS / f"callgrind-{results['run_id']}"
            with contextlib.suppress(Exception):
                shutil.copytree(out_dir, kept)
                log(f"callgrind dumps kept in {kept.relative_to(ROOT)} (callgrind_annotate --inclusive=yes FILE)")
        with contextlib.suppress(Exception):
            shutil.rmtree(stack.workdir, ignore_errors=True)
    return results


def measure_naive(stack: Stack, out_dir: Path, n: int) -> dict:
    """The issuance reference, bench/naive.py's loop (the service's renderer, pyHanko signing with the size
    reserved, the key loaded once), in one process under callgrind: instructions per document."""
    from app.certificates.signing import ensure_dev_signing_material

    key_file, cert_file = ensure_dev_signing_material(stack.workdir / "naive-keys")
    argv = valgrind_argv(
        out_dir, [sys.executable, str(ROOT / "bench" / "naive.py"), "--stdin", str(key_file), str(cert_file)]
    )
    log("naive render+sign loop under callgrind")
    proc = subprocess.Popen(
        argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the naive loop did not start")

        def produce(count: int) -> None:
            proc.stdin.write(f"{count}\n")
            proc.stdin.flush()
            if proc.stdout.readline().strip() != "ok":
                raise RuntimeError("the naive loop stopped")

        produce(3)  # warm-up, uninstrumented
        control(proc.pid, "--instr=on")
        produce(1)
        return count_instructions(proc.pid, out_dir, "naive", produce, n)
    finally:
        proc.kill()
        proc.wait(timeout=30)


def table(results: dict) -> str:
    labels = {
        "application": "GET /v1/applications/{id} (owner's token)",
        "verify": "GET /v1/verify/{code}",
        "healthz": "GET /healthz (service, not audited)",
        "ping": "GET /ping (bare FastAPI app)",
        "issuance_flow": "residence permit, whole flow (3 requests)",
        "issuance_upload": "  POST /v1/materials (proof, 1 page)",
        "issuance_file": "  POST /v1/applications (render + sign)",
        "issuance_download": "  GET /v1/certificates/{serial}/pdf",
        "naive": "naive render+sign loop, per document",
    }
    endpoints = results["endpoints"]
    ping = endpoints.get("ping", {}).get("instructions_per_request")
    lines = [
        f"{results['run_id']}: load average at start {results['loadavg_at_start']}",
        f"{'endpoint':<44}{'instructions/request':>22}{'x bare':>9}{'other threads':>15}",
    ]
    for name, d in endpoints.items():
        per = d["instructions_per_request"]
        bare = f"{per / ping:>9.1f}" if ping else f"{'':>9}"
        others = f"{d['other_threads_per_request'] / per:>15.0%}" if "other_threads_per_request" in d else ""
        lines.append(f"{labels.get(name, name):<44}{per:>22,}{bare}{others}")
    kinds = [endpoints.get(f"issuance_{kind}", {}).get("instructions_per_request") for kind in KINDS]
    if "issuance_flow" in endpoints and all(kinds):
        flow = endpoints["issuance_flow"]["instructions_per_request"]
        lines.append(f"issuance: the kinds add up to {sum(kinds):,} ({sum(kinds) / flow - 1:+.1%} of the whole flow's)")
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
    p.add_argument("--flows", type=int, default=10, help="issuance: N, counted batches of N and 2N flows")
    p.add_argument("--warmup-flows", type=int, default=3)
    p.add_argument("--settle", type=float, default=1.0, help="issuance: quiet seconds before each kind's window")
    p.add_argument("--only", default="application,verify,healthz,ping,issuance")
    p.add_argument("--keep-dumps", action="store_true", help="copy the callgrind dumps to bench/results/")
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
