"""The load benchmark, in one command:

    python bench/run.py --workers 2 --people 100000 --duration 30

On loopback only: measures the naive render + sign loop and the bare FastAPI endpoint, then starts a
fresh PostgreSQL database, both agency simulators on a generated dataset and `cityservices serve
--workers N` with one `cityservices worker` beside it (as in production), and drives the
residence-permit flow (closed loop, one citizen alone, open loop), the two hot reads (wrk) and a py-spy
profile, with the CPU of every process per flow. This stack's floor (an audited read, a committed
INSERT, an agency call: bench/floor_app.py) is measured in rounds right before and after the phases it
divides, and the tail of a bare issuing endpoint right after the service's.
Prints the table and issue 29's targets (bench/report.py), writes bench/results/run-<time>.json. Stops
everything it started, always."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import multiprocessing as mp
import os
import platform
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.citizens import Citizen, pick  # noqa: E402
from bench.loadgen import (  # noqa: E402
    Client,
    HttpClient,
    Recorder,
    RequestFailed,
    closed_loop,
    open_loop,
    run_wrk,
    write_requests,
    wrk_binary,
)
from bench.monitor import CpuMeter, RssSampler, postgres_cpu  # noqa: E402
from bench.naive import run_naive  # noqa: E402
from bench.profiling import start_record, summarize  # noqa: E402
from bench.stack import PG_ADMIN_URL, Child, Stack, create_database, ensure_postgres, psql, venv_bin  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CACHE = RESULTS / "cache"
T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f}s] {msg}", flush=True)


# -- inputs -----------------------------------------------------------------------------------------


def ensure_dataset(people: int, seed: int) -> Path:
    """Generated once per (size, seed, day) and cached: the dates in it are relative to the day."""
    path = CACHE / f"people-{people}-seed{seed}-{datetime.now():%Y%m%d}.json"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    for old in CACHE.glob(f"people-{people}-seed{seed}-*.json"):
        old.unlink()
    argv = ["-m", "integrations.datasets.generate", "--people", str(people), "--seed", str(seed), "--out", str(path)]
    subprocess.run([sys.executable, *argv], cwd=ROOT, check=True, timeout=1800, stdout=subprocess.DEVNULL)
    return path


BOUNDARY = "cityservicesbench7d1f0c"


def proof_upload() -> bytes:
    """A multipart body with a small, real PDF as proof of address."""
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    canvas = Canvas(buf)
    canvas.drawString(72, 760, "Lease agreement (benchmark proof of address)")
    canvas.showPage()
    canvas.save()
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="proof.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    )
    return head.encode() + buf.getvalue() + f"\r\n--{BOUNDARY}--\r\n".encode()


def mint_tokens(data_dir: Path, citizens: list[Citizen]) -> list[str]:
    """The function `cityservices token` calls, in-process (one process per token would cost ~0.5 s of
    CPU each). One real `cityservices token` call first proves the command works with this DATA_DIR."""
    from app.auth.dev_keys import mint_dev_token

    if citizens:
        first = citizens[0]
        argv = ["token", "--role", "citizen", "--id-number", first.id_number, "--name", first.name, "--ttl", "7200"]
        env = os.environ | {"DATA_DIR": str(data_dir), "ENVIRONMENT": "development"}
        subprocess.run([venv_bin("cityservices"), *argv], env=env, check=True, capture_output=True, timeout=60)
    return [
        mint_dev_token(
            data_dir,
            issuer="cityservices-dev",
            audience="cityservices",
            roles=["citizen"],
            id_number=c.id_number,
            name=c.name,
            ttl_s=7200,
        )
        for c in citizens
    ]


# -- the flow ---------------------------------------------------------------------------------------


class Flows:
    """Residence permits, each filed by a citizen who has filed nothing yet in this run (a second permit
    while the first is valid is refused): upload a proof, file, download the signed PDF. Raises
    RequestFailed on any unexpected answer; keeps up to 20,000 (token, application id, code) for the reads."""

    def __init__(self, client: Client, citizens: list[Citizen], tokens: list[str], cursor: list[int] | None = None):
        self.client = client
        self.citizens = citizens
        self.tokens = tokens
        self.upload = proof_upload()
        self.issued: list[tuple[str, str, str]] = []
        self.cursor = cursor if cursor is not None else [0]  # shared by the phases: nobody files twice

    @staticmethod
    def _auth(token: str, u: int) -> dict[str, str]:
        # Each virtual citizen from an address of their own (uvicorn trusts X-Forwarded-For from
        # loopback): uploads are bounded per client address, and 32 citizens are not one client.
        return {"Authorization": f"Bearer {token}", "X-Forwarded-For": f"10.250.{(u >> 8) & 255}.{u & 255}"}

    async def residence_permit(self, u: int, i: int, rec: Recorder) -> None:
        k = self.cursor[0] % len(self.citizens)
        self.cursor[0] += 1
        citizen, token = self.citizens[k], self.tokens[k]
        auth = self._auth(token, u)
        start = time.perf_counter()
        upload = self.client.request(
            "POST", "/v1/materials", auth | {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}, self.upload
        )
        _, _, raw = await rec.timed("upload", upload, expect=(201,))
        details = {"address": citizen.address, "material_ids": [json.loads(raw)["id"]]}
        body = json.dumps({"service": "residence-permit", "details": details}, ensure_ascii=False).encode()
        filing = self.client.request("POST", "/v1/applications", auth | {"Content-Type": "application/json"}, body)
        _, _, raw = await rec.timed("file", filing, expect=(201,))
        application = json.loads(raw)
        if application.get("status") != "issued" or not application.get("certificate"):
            raise RequestFailed(f"file-{application.get('status')}", 201, raw)
        certificate = application["certificate"]
        _, _, pdf = await rec.timed(
            "download", self.client.request("GET", f"/v1/certificates/{certificate['serial']}/pdf", auth)
        )
        if not pdf.startswith(b"%PDF-"):
            raise RequestFailed("download-not-pdf", 200, pdf[:100])
        if len(self.issued) < 20_000:
            self.issued.append((token, application["id"], certificate["verification_code"]))
        rec.latencies["flow"].append((time.perf_counter() - start) * 1000)


# -- CPU meters -------------------------------------------------------------------------------------


class ProcessCpu:
    """A process tree's CPU seconds (bench.monitor.CpuMeter), its kernel part recorded beside it."""

    def __init__(self, pid: int) -> None:
        self.meter = CpuMeter(pid)
        self.others: dict[str, Callable[[], float]] = {"server_kernel": self.meter.read_system}

    def __call__(self) -> float:
        return self.meter.read()


class ServerCpu(ProcessCpu):
    """The service's CPU seconds (its serving processes and its `cityservices worker`), with its serving
    workers', its PDF processes', its worker's, PostgreSQL's, the agency simulators' and this driver's beside
    it (they share the 2 cores; the naive loop has none of them)."""

    def __init__(self, stack: Stack, workers: int) -> None:
        assert stack.service is not None and stack.worker is not None
        super().__init__(stack.service.proc.pid)
        self.worker = CpuMeter(stack.worker.proc.pid)
        sims = [CpuMeter(c.proc.pid) for c in stack.children if c.name.startswith("sim-")]
        # `serve --workers N` (N > 1): uvicorn's leader, its workers, their PDF processes; with one worker
        # the leader serves and the PDF processes are its children.
        served = 1 if workers > 1 else 0
        self.others["server_kernel"] = lambda: self.meter.read_system() + self.worker.read_system()
        self.others |= {
            "workers": lambda: self.meter.read_depth(served),
            "pdf_processes": lambda: self.meter.read_depth(served + 1),
            "background_worker": self.worker.read,
            "simulators": lambda: sum(m.read() for m in sims),
            "database": postgres_cpu,
            "driver": _own_cpu,
        }

    def __call__(self) -> float:
        return self.meter.read() + self.worker.read()


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- references -------------------------------------------------------------------------------------


# The open loop's arrivals are citizens of their own, each on a connection of her own: a pool shared by
# fewer connections than the flows in flight queued them in the driver, whose pool then spent up to 0.5 of
# the 2 cores handing connections over (24 ms of driver CPU per flow against 6 in the closed loop).
OPEN_INFLIGHT = 512

READ_APPLICATION = "read-application"  # the wrk phase of the application read, and its profile's load


def wrk_requests_file(name: str) -> Path:
    """Where a wrk phase's requests are written (the read profile reuses the read phase's)."""
    return RESULTS / f"wrk-{name}.txt"


def wrk_phase(
    base: str,
    name: str,
    lines: Sequence[tuple[str, str | None]],
    args: argparse.Namespace,
    cpu: ProcessCpu,
    xff_every: int = 0,
) -> dict[str, Any]:
    """One wrk phase: the same script, connections and duration for every reference and read."""
    log(f"{name}: wrk, {args.read_users} connections, {args.read_duration:.0f}s after {args.wrk_warmup:.0f}s")
    requests = write_requests(wrk_requests_file(name), lines)
    rec = run_wrk(
        base,
        requests,
        connections=args.read_users,
        duration=args.read_duration,
        xff_every=xff_every,
        warmup=args.wrk_warmup,
        cpu=cpu,
    )
    log(
        f"  {rec.completed / rec.elapsed:,.0f}/s, {rec.extra.get('server_cpu_ms_per_flow')} ms CPU each, "
        f"failures {dict(rec.failures)}"
    )
    return rec.summary()


def references(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    """The references measured once, before the service: the naive loop and the bare endpoint (for the
    table; no target divides by them). The floor is measured beside the service's phases (Floor)."""
    out: dict[str, Any] = {}
    procs = os.cpu_count() or 1
    log(f"reference: naive render + sign loop, {procs} processes, {args.ref_duration:.0f}s")
    out["naive_render_sign"] = naive = run_naive(procs, args.ref_duration)
    log(f"  {naive['throughput_per_s']} documents/s, {naive['cpu_ms_per_document']} ms CPU per document")

    bare = stack.start_bare(workers=args.workers)
    out["bare_endpoint"] = wrk_phase(bare.url, "bare", [("/ping", None)], args, ProcessCpu(bare.proc.pid))
    stack.stop(bare)
    return out


class Floor:
    """bench/floor_app.py on a database of its own, with a bare endpoint as its agency, measured in rounds
    right before and right after the service's phases: this machine's pace moves by a third within the
    hour, and a floor measured minutes away from the phase it divides moved a ratio by ±20 %. The floor
    app runs only for one kind of request at a time: its pools kept open beside the service's would not
    fit PostgreSQL's max_connections (100 by default)."""

    KINDS = ("ping", "read", "write", "agency")

    def __init__(self, stack: Stack, args: argparse.Namespace) -> None:
        self.stack, self.args = stack, args
        db = f"bench_floor_{uuid.uuid4().hex[:8]}"
        pg_url = create_database(db)
        stack.databases.append(db)
        agency = stack.start_bare(workers=1)
        self.env = {
            "FLOOR_DATABASE_URL": pg_url.replace("postgresql://", "postgresql+asyncpg://", 1),
            "FLOOR_AGENCY_URL": agency.url,
        }
        ids = [str(uuid.UUID(int=1 + i)) for i in range(1000)]
        self.requests: dict[str, list[tuple[str, str | None]]] = {
            "ping": [("/ping", None)],
            "read": [(f"/floor/{i}", "floor") for i in ids],
            "write": [(f"/write/{i}", None) for i in ids],
            "agency": [("/agency", None)],
        }

    def round(self, name: str, kinds: Sequence[str] = KINDS) -> dict[str, Any]:
        log(f"floor, {name}: {', '.join(kinds)} ({database_connections()} connections open before)")
        return {kind: self._measure(kind) for kind in kinds}

    def _measure(self, kind: str) -> dict[str, Any]:
        app = self.stack.start_bare(workers=self.args.workers, app="bench.floor_app:app", env=self.env)
        try:
            return wrk_phase(app.url, f"floor-{kind}", self.requests[kind], self.args, ProcessCpu(app.proc.pid))
        finally:
            self.stack.stop(app)


def database_connections() -> str:
    """Client connections open on the cluster, for the log."""
    sql = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
    done = psql(PG_ADMIN_URL, sql, check=False)
    return done.stdout.strip() if done.returncode == 0 else f"? ({done.stderr.strip()})"


async def issuing_tail(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    """The tail of the simplest CPU-bound issuing endpoint (bench/floor_app.py `POST /issue`: the naive
    render + sign behind HTTP, one PDF process per worker), measured as the service's: the maximum with
    `--users` in a closed loop, one caller alone, Poisson arrivals at `--open-load` of the maximum."""
    signing = stack.workdir / "floor-signing"
    signing.mkdir(exist_ok=True)
    floor = stack.start_bare(workers=args.workers, app="bench.floor_app:app", env={"FLOOR_SIGNING_DIR": str(signing)})
    base = floor.url
    many, alone = HttpClient(base, connections=args.users + 8), HttpClient(base, connections=2)
    arrivals = HttpClient(base, connections=OPEN_INFLIGHT)
    cpu = ProcessCpu(floor.proc.pid)  # its CPU per document under each loop, beside the service's

    def issuing(client: HttpClient) -> Callable[[int, int, Recorder], Any]:
        async def issue(u: int, i: int, rec: Recorder) -> None:
            await rec.timed("flow", client.request("POST", "/issue", {"Authorization": "Bearer floor"}))

        return issue

    out: dict[str, Any] = {}
    try:
        log(f"reference: tail of a bare issuing endpoint (POST /issue): {args.users} users, alone, open loop")
        # The same loops as the service's (service_phases): a shorter closed loop measured a maximum that
        # moved with the machine's pace of the moment, and the open loop's load with it.
        closed = await closed_loop(
            issuing(many), users=args.users, duration=args.duration, max_iterations=100_000, warmup=3.0, cpu=cpu
        )
        out["closed"] = closed.summary()
        solo = await closed_loop(
            issuing(alone), users=1, duration=args.single_duration, max_iterations=100_000, warmup=2.0, cpu=cpu
        )
        out["alone"] = solo.summary()
        rate = max(0.5, args.open_load * out["closed"]["throughput_per_s"])
        open_rec = await open_loop(
            issuing(arrivals), rate=rate, duration=args.duration, max_inflight=OPEN_INFLIGHT, cpu=cpu
        )
        out["open"] = open_rec.summary()
        log(
            f"  max {out['closed']['throughput_per_s']}/s; alone p50 {out['alone']['steps']['flow']['p50_ms']} ms; "
            f"open loop at {rate:.1f}/s p99 {out['open']['steps']['flow']['p99_ms']} ms"
        )
    finally:
        for c in (many, alone, arrivals):
            await c.aclose()
        stack.stop(floor)
    return out


# -- the service ------------------------------------------------------------------------------------


def settle(pg_url: str) -> None:
    """What the flows' writes leave PostgreSQL and the kernel to do (autovacuum and autoanalyze of the tables
    they grew, their dirty pages written out) done now, not inside the next phase's window: it is the flows'
    aftermath, not a read's cost, and would slow whatever runs next on the 2 cores (wrk's own CPU per request
    was up to 50 % higher in the application read that followed them than in verify)."""
    psql(pg_url, "VACUUM (ANALYZE)")
    psql(pg_url, "CHECKPOINT")
    os.sync()


def server_latency(pg_url: str, since: datetime, until: datetime) -> dict[str, float]:
    """POST /v1/applications as the service saw it, from its own request log (`latency_ms`: from the
    middleware taking the request to the commit of its answer): the tail without the driver's share of the
    cores or its client pool in it."""
    row = psql(
        pg_url,
        "SELECT count(*), percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_ms) "
        "FROM audit_events WHERE kind = 'request' AND method = 'POST' AND route = '/v1/applications' "
        f"AND occurred_at >= '{since.isoformat()}' AND occurred_at < '{until.isoformat()}'",
    ).stdout.strip()
    count, quantiles = row.split("|")
    p50, p95, p99 = (round(float(q), 3) for q in quantiles.strip("{}").split(","))
    return {"n": int(count), "p50_ms": p50, "p95_ms": p95, "p99_ms": p99}


async def service_phases(
    args: argparse.Namespace,
    stack: Stack,
    floor: Floor,
    citizens: list[Citizen],
    tokens: list[str],
    results: dict[str, Any],
) -> None:
    """The service's phases, each between two rounds of the floor it is divided by."""
    assert stack.service is not None and stack.pg_url is not None
    base = f"http://127.0.0.1:{stack.service_port}"
    phases, rounds = results["phases"], results["floor"]
    cpu = ServerCpu(stack, args.workers)
    client = HttpClient(base, connections=args.users + 8)
    flows = Flows(client, citizens, tokens)
    try:
        rounds["before_flows"] = floor.round("before the residence permits")
        log(f"residence permits: {args.users} users, closed loop, {args.duration:.0f}s")
        rec = await closed_loop(
            flows.residence_permit,
            users=args.users,
            duration=args.duration,
            max_iterations=100_000,
            warmup=3.0,
            cpu=cpu,
        )
        phases["residence_permit"] = rec.summary()
        log(
            f"  {rec.completed / rec.elapsed:.1f}/s, {rec.extra.get('server_cpu_ms_per_flow')} ms CPU per flow, "
            f"failures {dict(rec.failures)}"
        )
        if not flows.issued:
            raise RuntimeError(f"no certificate was issued: {rec.failure_samples}")
        settle(stack.pg_url)
        rounds["after_flows"] = floor.round("after the residence permits, before the reads")

        apps = [(f"/v1/applications/{app_id}", token) for token, app_id, _ in flows.issued]
        phases["read_application"] = wrk_phase(base, READ_APPLICATION, apps, args, cpu)
        # Verification is public and limited per address (60/minute): a new X-Forwarded-For every 40.
        codes = [(f"/v1/verify/{code}", None) for _, _, code in flows.issued]
        phases["verify_code"] = wrk_phase(base, "verify-code", codes, args, cpu, xff_every=40)
        rounds["after_reads"] = floor.round("after the reads", ["read"])

        log(f"one citizen alone: residence permits one after another, {args.single_duration:.0f}s")
        began = datetime.now(UTC)
        solo = HttpClient(base, connections=2)
        solo_flows = Flows(solo, citizens, tokens, cursor=flows.cursor)
        rec = await closed_loop(
            solo_flows.residence_permit, users=1, duration=args.single_duration, max_iterations=300, warmup=2.0, cpu=cpu
        )
        await solo.aclose()
        phases["single_citizen"] = rec.summary() | {
            "server_file": server_latency(stack.pg_url, began, datetime.now(UTC))
        }
        log(f"  filing p50 {phases['single_citizen']['steps']['file']['p50_ms']} ms")

        rate = max(0.5, args.open_load * phases["residence_permit"]["throughput_per_s"])
        log(f"open loop: Poisson arrivals at {rate:.1f}/s ({args.open_load:.0%} of the maximum), {args.duration:.0f}s")
        began = datetime.now(UTC)
        arrivals = HttpClient(base, connections=OPEN_INFLIGHT)
        open_flows = Flows(arrivals, citizens, tokens, cursor=flows.cursor)
        rec = await open_loop(
            open_flows.residence_permit, rate=rate, duration=args.duration, max_inflight=OPEN_INFLIGHT, cpu=cpu
        )
        await arrivals.aclose()
        phases["open_loop"] = rec.summary() | {"server_file": server_latency(stack.pg_url, began, datetime.now(UTC))}
        log(f"  completed {rec.completed}, dropped {rec.extra['dropped']}, failures {dict(rec.failures)}")
        # Right after the service's, so that both tails are measured at the machine's same pace.
        results["reference"]["floor_issue_tail"] = await issuing_tail(stack, args)

        if args.profile:
            results["profile"] = await profile(args, stack.service, flows, results["run_id"])
            results["profile_reads"] = await profile_reads(args, stack.service, base, results["run_id"])
    finally:
        await client.aclose()


async def profile(args: argparse.Namespace, service: Child, flows: Flows, run_id: str) -> dict[str, Any]:
    """py-spy over the workers and their PDF processes under residence-permit load."""
    log(f"profile: py-spy on the service for {args.profile_duration}s under residence-permit load")

    def load() -> Awaitable[object]:
        return closed_loop(
            flows.residence_permit, users=args.users, duration=args.profile_duration, max_iterations=100_000
        )

    return await _profiled(service, RESULTS / f"{run_id}-profile.txt", args.profile_duration, load)


async def profile_reads(args: argparse.Namespace, service: Child, base: str, run_id: str) -> dict[str, Any]:
    """py-spy over the workers while wrk reads applications, as in the read phase: the reads' target is
    CPU per read, and the residence permits' profile says little about it."""
    log(f"profile: py-spy on the service for {args.profile_duration}s under the application read")
    requests = wrk_requests_file(READ_APPLICATION)  # written by the read phase

    def load() -> Awaitable[object]:
        return asyncio.to_thread(
            run_wrk, base, requests, connections=args.read_users, duration=args.profile_duration, warmup=0.0
        )

    return await _profiled(service, RESULTS / f"{run_id}-profile-reads.txt", args.profile_duration, load)


async def _profiled(service: Child, out: Path, duration: int, load: Callable[[], Awaitable[object]]) -> dict[str, Any]:
    spy = start_record(service.proc.pid, out, duration=duration)
    if spy is None:
        return {"error": "py-spy not installed"}
    await asyncio.sleep(0.5)
    await load()
    try:
        _, err = await asyncio.to_thread(spy.communicate, timeout=60)
    except subprocess.TimeoutExpired:
        spy.kill()
        err = b"timeout"
    return _summary(out, err)


def _summary(out: Path, err: bytes | None) -> dict[str, Any]:
    if not out.exists():
        return {"error": (err or b"").decode(errors="replace")[-500:]}
    return summarize(out) | {"file": str(out.relative_to(ROOT))}


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "run_id": f"run-{datetime.now():%Y%m%d-%H%M%S}",
        "args": vars(args),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "phases": {},
        "floor": {},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    sampler = RssSampler()
    sampler.start()
    stack = Stack(log)
    try:
        wrk_binary()  # fail before anything starts
        ensure_postgres(log)
        results["reference"] = references(stack, args)

        dataset = ensure_dataset(args.people, args.seed)
        log(f"the service: {args.people:,} people ({dataset.name}), {args.workers} workers")
        db = f"bench_main_{uuid.uuid4().hex[:8]}"
        stack.pg_url = create_database(db)
        stack.databases.append(db)
        database_url = stack.pg_url.replace("postgresql://", "postgresql+asyncpg://", 1)
        urls = stack.start_simulators(dataset, timeout=args.sim_timeout)
        stack.migrate(database_url)
        service = stack.start_service(workers=args.workers, database_url=database_url, urls=urls, separate_worker=True)
        sampler.watch("main", service.proc.pid, workers=args.workers)
        assert stack.worker is not None
        sampler.watch("background", stack.worker.proc.pid, workers=1)
        citizens = pick(dataset, limit=max(args.citizens, 16 * args.users))
        if not citizens:
            raise RuntimeError(f"no citizen in {dataset} qualifies for a residence permit")
        assert stack.data_dir is not None
        tokens = mint_tokens(stack.data_dir, citizens)
        floor = Floor(stack, args)
        asyncio.run(service_phases(args, stack, floor, citizens, tokens, results))
        peaks = sampler.peak("main") | sampler.peak("background")
        results["memory"] = {"peak_rss_mb_per_worker": {str(k): round(v, 1) for k, v in peaks.items()}}
    finally:
        sampler.stop()
        stack.close()
        results["wall_s"] = round(time.monotonic() - T0, 1)
    results["targets"] = report.targets(results)
    return results


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, default=2, help="service and reference worker processes")
    p.add_argument("--people", type=int, default=100_000, help="people in the generated dataset")
    p.add_argument("--duration", type=float, default=30, help="seconds of the closed and the open loop")
    p.add_argument("--users", type=int, default=32, help="concurrent virtual citizens in the closed loop")
    p.add_argument("--citizens", type=int, default=6000, help="citizens given a token (each files once)")
    p.add_argument("--read-users", type=int, default=64, help="wrk's keep-alive connections")
    p.add_argument("--read-duration", type=float, default=10, help="seconds of each wrk phase")
    # Each worker verifies a token in full the first time it sees it; the floor takes every token as verified.
    # 5 s walks the read phase's ~1,000 tokens ~7 times over the two workers: each has seen ~97 % of them.
    p.add_argument("--wrk-warmup", type=float, default=5, help="seconds of wrk before each phase, not measured")
    p.add_argument("--ref-duration", type=float, default=10, help="seconds of the naive render-and-sign loop")
    p.add_argument("--single-duration", type=float, default=10, help="seconds of one citizen alone")
    p.add_argument("--open-load", type=float, default=0.7, help="the open loop's rate, a fraction of the maximum")
    p.add_argument("--profile", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--profile-duration", type=int, default=15)
    p.add_argument("--sim-timeout", type=float, default=600, help="seconds for a simulator to load its dataset")
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:  # the driver's own event loop: cheaper per request, less of the shared cores
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    results = run(args)
    out = RESULTS / f"{results['run_id']}.json"
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    print()
    print(report.table(results))
    log(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    mp.set_start_method("spawn", force=True)
    sys.exit(main())
