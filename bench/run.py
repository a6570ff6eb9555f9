"""The load benchmark of issue 9, in one command:

    python bench/run.py --workers 2 --people 100000 --duration 30

Starts (on loopback only) a fresh PostgreSQL database, both agency simulators on a generated dataset,
and `cityservices serve --workers N`; drives the three services end to end and the reads (wrk); measures in
the same run a bare FastAPI endpoint and a naive reportlab + pyHanko render-and-sign loop; then the
open-loop tail test, the data-size test (10,000 vs 1,000,000 people and audit events), the memory of
each worker (also while streaming a 1,000,000-event audit export) and a py-spy profile. Prints a
summary table, writes bench/results/run-<time>.json and .png. Stops everything it started, always.
See bench/README.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.citizens import Citizen, pick  # noqa: E402
from bench.loadgen import (  # noqa: E402
    HttpxClient,
    Recorder,
    RequestFailed,
    closed_loop,
    make_client,
    open_loop,
    run_wrk,
    write_requests,
    wrk_binary,
)
from bench.monitor import CpuMeter, RssSampler, postgres_cpu  # noqa: E402
from bench.naive import run_naive  # noqa: E402
from bench.profiling import start_record, summarize  # noqa: E402
from bench.stack import (  # noqa: E402
    Stack,
    create_database,
    ensure_postgres,
    fill_audit_events,
    psql,
    venv_bin,
)

RESULTS = ROOT / "bench" / "results"
CACHE = RESULTS / "cache"
T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f}s] {msg}", flush=True)


# -- inputs -----------------------------------------------------------------------------------------


def ensure_dataset(people: int, seed: int) -> tuple[Path, float]:
    """Generated once per (size, seed, day) and cached: the dates in it are relative to the day."""
    path = CACHE / f"people-{people}-seed{seed}-{datetime.now():%Y%m%d}.json"
    if path.exists():
        return path, 0.0
    CACHE.mkdir(parents=True, exist_ok=True)
    for old in CACHE.glob(f"people-{people}-seed{seed}-*.json"):
        old.unlink()
    start = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "integrations.datasets.generate",
            "--people",
            str(people),
            "--seed",
            str(seed),
            "--out",
            str(path),
        ],
        cwd=ROOT,
        check=True,
        timeout=1800,
        stdout=subprocess.DEVNULL,
    )
    return path, time.monotonic() - start


def proof_pdf() -> bytes:
    """A small, real PDF to upload as proof of address."""
    import io

    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    c = Canvas(buf)
    c.drawString(72, 760, "Lease agreement (benchmark proof of address)")
    c.showPage()
    c.save()
    return buf.getvalue()


BOUNDARY = "cityservicesbench7d1f0c"


def multipart(content: bytes, filename: str = "proof.pdf", media_type: str = "application/pdf") -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: {media_type}\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def mint_tokens(data_dir: Path, citizens: list[Citizen]) -> list[str]:
    """The function `cityservices token` calls, in-process (one process per token would cost ~0.5 s of
    CPU each). One real `cityservices token` call first proves the command works with this DATA_DIR."""
    from app.auth.dev_keys import mint_dev_token

    if citizens:
        env = os.environ | {"DATA_DIR": str(data_dir), "ENVIRONMENT": "development"}
        subprocess.run(
            [
                venv_bin("cityservices"),
                "token",
                "--role",
                "citizen",
                "--id-number",
                citizens[0].id_number,
                "--name",
                citizens[0].name,
                "--ttl",
                "7200",
            ],
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
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


def mint_role(data_dir: Path, role: str) -> str:
    from app.auth.dev_keys import mint_dev_token

    return mint_dev_token(
        data_dir,
        issuer="cityservices-dev",
        audience="cityservices",
        roles=[role],
        name=f"bench {role}",
        station_id="310105-HQLB" if role == "clerk" else None,
        ttl_s=7200,
    )


# -- flows ------------------------------------------------------------------------------------------


class Flows:
    """The citizens' journeys. Each flow raises RequestFailed on any unexpected answer."""

    def __init__(self, client, picked, tokens: dict[str, list[str]], upload_body: bytes, cursor=None) -> None:
        self.client = client
        self.picked = picked
        self.tokens = tokens
        self.upload_body = upload_body
        self.issued: list[tuple[str, str, str]] = []  # (token, application id, verification code), bounded
        self.cursor: dict[str, int] = dict.fromkeys(tokens, 0) if cursor is None else cursor

    def _auth(self, token: str, u: int = 0) -> dict[str, str]:
        # Each virtual citizen from an address of their own (uvicorn trusts X-Forwarded-For from
        # loopback): uploads are bounded per client address, and 32 citizens are not one client.
        return {"Authorization": f"Bearer {token}", "X-Forwarded-For": f"10.250.{(u >> 8) & 255}.{u & 255}"}

    def _who(self, service: str, u: int, i: int) -> tuple[Citizen, str]:
        # Each citizen files once per run while fresh ones last: a second residence permit while the
        # first is valid is refused (409), and so is a second open case for the same service.
        people = getattr(self.picked, service)
        k = self.cursor[service] % len(people)
        self.cursor[service] += 1
        return people[k], self.tokens[service][k]

    async def _file_and_download(self, rec: Recorder, u: int, token: str, body: dict) -> None:
        auth = self._auth(token, u)
        _, _, raw = await rec.timed(
            "file",
            self.client.request(
                "POST",
                "/v1/applications",
                auth | {"Content-Type": "application/json"},
                json.dumps(body, ensure_ascii=False).encode(),
                user=u,
            ),
            expect=(201,),
        )
        app = json.loads(raw)
        if app.get("status") != "issued" or not app.get("certificate"):
            raise RequestFailed(f"file-{app.get('status')}", 201, raw)
        cert = app["certificate"]
        _, _, pdf = await rec.timed(
            "download", self.client.request("GET", f"/v1/certificates/{cert['serial']}/pdf", auth, user=u)
        )
        if not pdf.startswith(b"%PDF-"):
            raise RequestFailed("download-not-pdf", 200, pdf[:100])
        if len(self.issued) < 20_000:
            self.issued.append((token, app["id"], cert["verification_code"]))

    async def residence_permit(self, u: int, i: int, rec: Recorder) -> None:
        citizen, token = self._who("residence_permit", u, i)
        start = time.perf_counter()
        _, _, raw = await rec.timed(
            "upload",
            self.client.request(
                "POST",
                "/v1/materials",
                self._auth(token, u) | {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
                self.upload_body,
                user=u,
            ),
            expect=(201,),
        )
        material = json.loads(raw)["id"]
        await self._file_and_download(
            rec,
            u,
            token,
            {"service": "residence-permit", "details": {"address": citizen.address, "material_ids": [material]}},
        )
        rec.latencies["flow"].append((time.perf_counter() - start) * 1000)

    async def no_criminal_record(self, u: int, i: int, rec: Recorder) -> None:
        _, token = self._who("no_criminal_record", u, i)
        start = time.perf_counter()
        await self._file_and_download(
            rec, u, token, {"service": "no-criminal-record-certificate", "details": {"purpose": "employment"}}
        )
        rec.latencies["flow"].append((time.perf_counter() - start) * 1000)

    async def household_registration(self, u: int, i: int, rec: Recorder) -> None:
        _, token = self._who("household_registration", u, i)
        start = time.perf_counter()
        await self._file_and_download(
            rec, u, token, {"service": "household-registration-certificate", "details": {"purpose": "子女入学"}}
        )
        rec.latencies["flow"].append((time.perf_counter() - start) * 1000)


class ProcessCpu:
    """A process tree's CPU seconds (bench.monitor.CpuMeter), with its kernel part recorded beside it."""

    def __init__(self, pid: int) -> None:
        self.meter = CpuMeter(pid)
        self.read = self.meter.read
        self.others = {"server_kernel": self.meter.read_system}

    def __call__(self) -> float:
        return self.read()


class ServerCpu(ProcessCpu):
    """The service's CPU seconds; `others` also has the agency simulators' and this driver's own,
    recorded beside it (they share the 2 cores, the naive loop has neither)."""

    def __init__(self, stack: Stack) -> None:
        assert stack.service is not None
        super().__init__(stack.service.proc.pid)
        sims = [CpuMeter(c.proc.pid) for c in stack.children if c.name.startswith("sim-")]
        self.others |= {
            "workers": lambda: self.meter.read_depth(1),
            "pdf_processes": lambda: self.meter.read_depth(2),
            "simulators": lambda: sum(m.read() for m in sims),
            "database": postgres_cpu,
            "driver": _own_cpu,
        }


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def server_cpu(stack: Stack) -> ServerCpu:
    return ServerCpu(stack)


def read_flows(client, issued: list[tuple[str, str, str]]):
    async def get_application(u: int, i: int, rec: Recorder) -> None:
        token, app_id, _ = issued[(u * 7919 + i) % len(issued)]
        await rec.timed(
            "flow", client.request("GET", f"/v1/applications/{app_id}", {"Authorization": f"Bearer {token}"}, user=u)
        )

    counter = 0

    async def verify(u: int, i: int, rec: Recorder) -> None:
        # Verification is public and limited per client address (60/minute by default): many people
        # scanning QR codes, not one client hammering. uvicorn trusts X-Forwarded-For from loopback,
        # so each address below is used at most 40 times.
        nonlocal counter
        n = counter // 40
        counter += 1
        _, _, code = issued[(u * 7919 + i) % len(issued)]
        await rec.timed(
            "flow",
            client.request(
                "GET",
                f"/v1/verify/{code}",
                {"X-Forwarded-For": f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"},
                user=u,
            ),
        )

    return get_application, verify


async def bare_phase(port: int, args, cpu) -> Recorder:
    if args.read_client == "wrk":
        requests = write_requests(RESULTS / "wrk-bare.txt", [("/ping", None)])
        return await asyncio.to_thread(
            run_wrk,
            f"http://127.0.0.1:{port}",
            requests,
            connections=args.read_users,
            duration=args.read_duration,
            threads=args.wrk_threads,
            cpu=cpu,
        )
    client = make_client(args.read_client, f"http://127.0.0.1:{port}", connections=args.read_users)

    async def ping(u: int, i: int, rec: Recorder) -> None:
        await rec.timed("flow", client.request("GET", "/ping", user=u))

    try:
        return await closed_loop(
            ping, users=args.read_users, duration=args.read_duration, max_iterations=2_000_000, warmup=1.0, cpu=cpu
        )
    finally:
        await client.aclose()


def floor_phase(stack: Stack, args) -> dict[str, dict]:
    """This stack's floor, with none of the service's code (bench/floor_app.py), driven exactly as the bare
    endpoint and the reads are: `read`, an authenticated, audited read (`/floor/{id}`: a cached token, one
    indexed select, the event group-committed, JSON), what the reads' ratio could reach at best; `agency`,
    one GET to another server through a pooled httpx client (`/agency`, to a bare endpoint), what each of
    an issuance's four agency calls costs at least."""
    db = f"bench_floor_{uuid.uuid4().hex[:8]}"
    pg_url = create_database(db)
    stack.databases.append(db)
    agency = stack.start_bare(workers=1)
    env = {
        "FLOOR_DATABASE_URL": pg_url.replace("postgresql://", "postgresql+asyncpg://", 1),
        "FLOOR_AGENCY_URL": f"http://127.0.0.1:{stack.bare_port}",
    }
    floor = stack.start_bare(workers=args.workers, app="bench.floor_app:app", env=env)
    out = {}
    try:
        for name, lines in (
            ("read", [(f"/floor/{uuid.UUID(int=1 + i)}", "floor") for i in range(1000)]),
            ("agency", [("/agency", None)]),
        ):
            log(f"reference: this stack's floor, {name} (bench/floor_app.py), {args.workers} uvicorn workers, wrk, "
                f"{args.read_duration:.0f}s")  # fmt: skip
            rec = run_wrk(
                f"http://127.0.0.1:{stack.bare_port}",
                write_requests(RESULTS / f"wrk-floor-{name}.txt", lines),
                connections=args.read_users,
                duration=args.read_duration,
                threads=args.wrk_threads,
                cpu=ProcessCpu(floor.proc.pid),
            )
            log(
                f"  {rec.completed / rec.elapsed:.0f} requests/s, {rec.extra.get('server_cpu_ms_per_flow')} ms CPU per request"
            )
            out[name] = rec.summary()
    finally:
        stack.stop(floor)
        stack.stop(agency)
    return out


async def floor_tail_phase(stack: Stack, args) -> dict[str, dict]:
    """The open-loop tail of the simplest CPU-bound issuing endpoint on this stack and machine
    (bench/floor_app.py `POST /issue`: the naive render + sign behind HTTP, one PDF process per worker, no
    database, no agencies), measured as the service's tail is: a closed loop of `--users` for the maximum,
    one caller alone for the p50, Poisson arrivals at `--open-load` of the maximum for the p99, the same driver."""
    signing = stack.workdir / "floor-signing"
    signing.mkdir(exist_ok=True)
    floor = stack.start_bare(workers=args.workers, app="bench.floor_app:app", env={"FLOOR_SIGNING_DIR": str(signing)})
    base = f"http://127.0.0.1:{stack.bare_port}"
    headers = {"Authorization": "Bearer floor"}

    def issuing(client: HttpxClient):
        async def issue(u: int, i: int, rec: Recorder) -> None:
            await rec.timed("flow", client.request("POST", "/issue", headers, user=u))

        return issue

    many, alone = HttpxClient(base, connections=args.users + 8), HttpxClient(base, connections=2)
    out: dict[str, dict] = {}
    try:
        log(f"reference: tail of a bare issuing endpoint (bench/floor_app.py POST /issue), {args.users} users")
        rec = await closed_loop(
            issuing(many), users=args.users, duration=args.duration / 2, max_iterations=100_000, warmup=2.0
        )
        out["closed"] = rec.summary()
        log("reference: tail of a bare issuing endpoint, one caller alone")
        rec = await closed_loop(
            issuing(alone), users=1, duration=args.single_duration, max_iterations=100_000, warmup=2.0
        )
        out["alone"] = rec.summary()
        rate = max(0.5, args.open_load * out["closed"]["throughput_per_s"])
        log(f"reference: tail of a bare issuing endpoint, open loop at {rate:.1f}/s ({args.open_load:.0%})")
        out["open"] = (await open_loop(issuing(many), rate=rate, duration=args.duration, max_inflight=512)).summary()
        log(
            f"  max {out['closed']['throughput_per_s']}/s; alone p50 {out['alone']['steps']['flow']['p50_ms']} ms; "
            f"open-loop p99 {out['open']['steps']['flow']['p99_ms']} ms"
        )
    finally:
        await many.aclose()
        await alone.aclose()
        stack.stop(floor)
    return out


def wrk_reads(issued: list[tuple[str, str, str]]) -> dict[str, tuple[Path, int]]:
    """The reads as wrk request files: (file, X-Forwarded-For every n requests)."""
    apps = write_requests(
        RESULTS / "wrk-read-application.txt", [(f"/v1/applications/{app_id}", token) for token, app_id, _ in issued]
    )
    codes = write_requests(RESULTS / "wrk-verify-code.txt", [(f"/v1/verify/{code}", None) for _, _, code in issued])
    # Verification is public and limited per client address (60/minute by default): many people
    # scanning QR codes, not one client hammering; each address is used at most 40 times.
    return {"read_application": (apps, 0), "verify_code": (codes, 40)}


# -- phases -----------------------------------------------------------------------------------------


def server_latency(pg_url: str, since: datetime, until: datetime) -> dict:
    """POST /v1/applications as the service saw it, from its own request log (`latency_ms`: from the
    middleware taking the request to the commit of its answer): the tail without the driver's share of the
    cores or its client pool in it."""
    row = psql(
        pg_url,
        "SELECT count(*), percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_ms), max(latency_ms) "
        "FROM audit_events WHERE kind = 'request' AND method = 'POST' AND route = '/v1/applications' "
        f"AND occurred_at >= '{since.isoformat()}' AND occurred_at < '{until.isoformat()}'",
    ).stdout.strip()
    count, quantiles, top = row.split("|")
    p50, p95, p99 = (round(float(q), 3) for q in quantiles.strip("{}").split(","))
    return {"n": int(count), "p50_ms": p50, "p95_ms": p95, "p99_ms": p99, "max_ms": round(float(top), 3)}


async def main_phases(args, stack: Stack, sampler: RssSampler, picked, tokens, results: dict, raw: dict) -> None:
    base = f"http://127.0.0.1:{stack.service_port}"
    flows_client = HttpxClient(base, connections=args.users + 8)
    read_client = make_client(args.read_client, base, connections=args.read_users)
    flows = Flows(flows_client, picked, tokens, multipart(proof_pdf()))
    phases = results["phases"]
    assert stack.service is not None
    cpu = server_cpu(stack)
    try:
        for name, fn, duration in (
            ("residence_permit", flows.residence_permit, args.duration),
            ("no_criminal_record", flows.no_criminal_record, args.duration / 2),
            ("household_registration", flows.household_registration, args.duration / 2),
        ):
            sampler.mark(name)
            log(f"phase {name}: {args.users} users, closed loop, {duration:.0f}s")
            rec = await closed_loop(
                fn, users=args.users, duration=duration, max_iterations=100_000, warmup=3.0, cpu=cpu
            )
            phases[name] = rec.summary()
            raw[name] = rec.latencies
            log(
                f"  {rec.completed / rec.elapsed:.1f}/s, {rec.extra.get('server_cpu_ms_per_flow')} ms server CPU "
                f"per flow, failures {dict(rec.failures)}"
            )
        if not flows.issued:
            raise RuntimeError(
                "no certificate was issued; see failure samples: "
                + json.dumps({k: v.get("failure_samples") for k, v in phases.items()}, ensure_ascii=False)
            )

        get_application, verify = read_flows(read_client, flows.issued)
        files = wrk_reads(flows.issued) if args.read_client == "wrk" else {}
        for name, fn in (("read_application", get_application), ("verify_code", verify)):
            sampler.mark(name)
            log(f"phase {name}: {args.read_users} users, {args.read_client} client, {args.read_duration:.0f}s")
            if args.read_client == "wrk":
                requests, xff_every = files[name]
                rec = await asyncio.to_thread(
                    run_wrk,
                    base,
                    requests,
                    connections=args.read_users,
                    duration=args.read_duration,
                    threads=args.wrk_threads,
                    xff_every=xff_every,
                    cpu=cpu,
                )
            else:
                rec = await closed_loop(
                    fn,
                    users=args.read_users,
                    duration=args.read_duration,
                    max_iterations=2_000_000,
                    warmup=1.0,
                    cpu=cpu,
                )
            phases[name] = rec.summary()
            raw[name] = rec.latencies
            log(
                f"  {rec.completed / rec.elapsed:.0f}/s, {rec.extra.get('server_cpu_ms_per_flow')} ms server CPU "
                f"per read, failures {dict(rec.failures)}"
            )

        sampler.mark("single_citizen")
        log("phase single_citizen: one citizen alone, residence permit, sequential")
        began = datetime.now(UTC)
        solo = HttpxClient(base, connections=2)
        solo_flows = Flows(solo, picked, tokens, flows.upload_body, cursor=flows.cursor)
        rec = await closed_loop(
            solo_flows.residence_permit, users=1, duration=args.single_duration, max_iterations=300, warmup=2.0, cpu=cpu
        )
        await solo.aclose()
        phases["single_citizen"] = rec.summary()
        phases["single_citizen"]["server_file"] = server_latency(stack.pg_url, began, datetime.now(UTC))
        raw["single_citizen"] = rec.latencies
        log(f"  issuance (POST /v1/applications) p50 {phases['single_citizen']['steps']['file']['p50_ms']} ms")

        max_rate = phases["residence_permit"]["throughput_per_s"]
        rate = max(0.5, args.open_load * max_rate)
        sampler.mark("open_loop")
        log(
            f"phase open_loop: Poisson arrivals at {rate:.1f}/s ({args.open_load:.0%} of {max_rate}/s), "
            f"{args.duration:.0f}s"
        )
        began = datetime.now(UTC)
        rec = await open_loop(flows.residence_permit, rate=rate, duration=args.duration, max_inflight=512, cpu=cpu)
        phases["open_loop"] = rec.summary()
        phases["open_loop"]["server_file"] = server_latency(stack.pg_url, began, datetime.now(UTC))
        raw["open_loop"] = rec.latencies
        log(f"  completed {rec.completed}, dropped {rec.extra['dropped']}, failures {dict(rec.failures)}")

        if args.profile:
            sampler.mark("profile")
            out = RESULTS / f"{results['run_id']}-profile.txt"
            log(
                f"phase profile: py-spy on the service workers for {args.profile_duration}s under residence-permit load"
            )
            spy = start_record(stack.service.proc.pid, out, duration=args.profile_duration)
            if spy is None:
                results["profile"] = {"error": "py-spy not installed"}
            else:
                await asyncio.sleep(0.5)
                rec = await closed_loop(
                    flows.residence_permit, users=args.users, duration=args.profile_duration, max_iterations=100_000
                )
                try:
                    _, err = await asyncio.to_thread(spy.communicate, timeout=60)
                except subprocess.TimeoutExpired:
                    spy.kill()
                    err = b"timeout"
                if out.exists():
                    results["profile"] = summarize(out) | {
                        "file": str(out.relative_to(ROOT)),
                        "throughput_under_profiler": round(rec.completed / rec.elapsed, 2),
                    }
                else:
                    results["profile"] = {"error": (err or b"").decode(errors="replace")[-500:]}
    finally:
        await flows_client.aclose()
        await read_client.aclose()


async def flat_measure(args, stack: Stack, picked, tokens) -> Recorder:
    base = f"http://127.0.0.1:{stack.service_port}"
    client = HttpxClient(base, connections=2)
    flows = Flows(client, picked, tokens, multipart(proof_pdf()))
    try:
        return await closed_loop(
            flows.residence_permit, users=1, duration=args.flat_duration, max_iterations=args.flat_samples, warmup=3.0
        )
    finally:
        await client.aclose()


async def export_stream(base: str, token: str, limit_s: float, max_events: int) -> dict[str, float]:
    import httpx

    lines = size = 0
    start = time.perf_counter()
    truncated = False
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(120.0)) as client:
        async with client.stream(
            "GET", "/v1/audit/export", params={"format": "ndjson"}, headers={"Authorization": f"Bearer {token}"}
        ) as r:
            if r.status_code != 200:
                return {"error": f"HTTP {r.status_code}: {(await r.aread())[:300]!r}"}
            async for chunk in r.aiter_raw():
                lines += chunk.count(b"\n")
                size += len(chunk)
                if time.perf_counter() - start > limit_s or lines >= max_events:
                    truncated = True
                    break
    elapsed = time.perf_counter() - start
    return {
        "events": lines,
        "bytes": size,
        "seconds": round(elapsed, 2),
        "events_per_s": round(lines / elapsed, 1),
        "truncated_by_bound": truncated,
    }


def start_stack(stack: Stack, args, sampler: RssSampler, label: str, dataset: Path, audit_events: int) -> dict:
    info: dict[str, object] = {}
    db = f"bench_{label}_{uuid.uuid4().hex[:8]}"
    pg_url = create_database(db)
    stack.databases.append(db)
    database_url = pg_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    t = time.monotonic()
    urls = stack.start_simulators(dataset, timeout=args.sim_timeout)
    info["simulators_start_s"] = round(time.monotonic() - t, 1)
    info["migrate_s"] = round(stack.migrate(database_url), 1)
    if audit_events:
        log(f"  filling audit_events with {audit_events:,} rows by SQL")
        info["audit_fill_s"] = round(fill_audit_events(pg_url, audit_events), 1)
    service = stack.start_service(workers=args.workers, database_url=database_url, urls=urls)
    sampler.watch(label, service.proc.pid)
    info["database"] = db
    info["pg_url"] = stack.pg_url = pg_url
    return info


def stop_stack(stack: Stack, sampler: RssSampler, label: str) -> None:
    sampler.unwatch(label)
    for child in list(stack.children):
        stack.stop(child)


def pick_and_mint(stack: Stack, dataset: Path, limit: int):
    picked = pick(dataset, limit=limit)
    for service in ("residence_permit", "no_criminal_record", "household_registration"):
        if not getattr(picked, service):
            raise RuntimeError(f"no citizen in {dataset} qualifies for {service}")
    assert stack.data_dir is not None
    tokens = {
        s: mint_tokens(stack.data_dir, getattr(picked, s))
        for s in ("residence_permit", "no_criminal_record", "household_registration")
    }
    return picked, tokens


def run(args) -> dict:
    results: dict = {
        "run_id": f"run-{datetime.now():%Y%m%d-%H%M%S}",
        "started_at": datetime.now().isoformat(timespec="seconds"),
        "args": vars(args) | {"cores": os.cpu_count()},
        "machine": machine_info(),
        "reference": {},
        "phases": {},
        "memory": {},
        "flatness": {},
    }
    raw: dict[str, dict[str, list[float]]] = {}
    RESULTS.mkdir(parents=True, exist_ok=True)
    sampler = RssSampler()
    sampler.start()
    stack = Stack(log)
    try:
        if args.read_client == "wrk":
            wrk_binary()  # fail before anything starts
        ensure_postgres(log)

        sampler.mark("naive")
        procs = args.naive_procs or os.cpu_count() or 1
        log(f"reference: naive render + sign loop, {procs} processes, {args.ref_duration:.0f}s")
        results["reference"]["naive_render_sign"] = run_naive(procs, args.ref_duration)
        log(
            f"  {results['reference']['naive_render_sign']['throughput_per_s']} documents/s, "
            f"{results['reference']['naive_render_sign']['cpu_ms_per_document']} ms CPU per document"
        )

        sampler.mark("bare")
        log(
            f"reference: bare FastAPI endpoint, {args.workers} uvicorn workers (uvloop, httptools), "
            f"{args.read_users} connections, {args.read_client} client, {args.read_duration:.0f}s"
        )
        bare = stack.start_bare(workers=args.workers)
        rec = asyncio.run(bare_phase(stack.bare_port, args, ProcessCpu(bare.proc.pid)))
        results["reference"]["bare_endpoint"] = rec.summary()
        raw["bare_endpoint"] = rec.latencies
        for child in list(stack.children):
            stack.stop(child)
        log(
            f"  {results['reference']['bare_endpoint']['throughput_per_s']:.0f} requests/s, "
            f"{rec.extra.get('server_cpu_ms_per_flow')} ms server CPU per request"
        )
        if args.read_client == "wrk":
            sampler.mark("floor")
            floors = floor_phase(stack, args)
            results["reference"]["floor_read"] = floors["read"]
            results["reference"]["floor_agency_call"] = floors["agency"]
        sampler.mark("floor_tail")
        results["reference"]["floor_issue_tail"] = asyncio.run(floor_tail_phase(stack, args))

        dataset, gen_s = ensure_dataset(args.people, args.seed)
        results["dataset"] = {"people": args.people, "file": str(dataset), "generate_s": round(gen_s, 1)}
        log(f"main stack: {args.people:,} people ({dataset.name}), {args.workers} workers")
        info = start_stack(stack, args, sampler, "main", dataset, 0)
        results["main_stack"] = {k: v for k, v in info.items() if k != "pg_url"}
        picked, tokens = pick_and_mint(stack, dataset, limit=max(args.citizens, 16 * args.users))
        results["citizens"] = {s: len(getattr(picked, s)) for s in tokens}
        t_main = sampler.now()
        asyncio.run(main_phases(args, stack, sampler, picked, tokens, results, raw))
        results["memory"]["main_peak_rss_mb_per_worker"] = {
            str(k): round(v, 1) for k, v in sampler.peak("main", since=t_main).items()
        }
        stop_stack(stack, sampler, "main")
        stack.close()

        if args.flat:
            for label, people, events in (
                ("small", args.flat_small, args.flat_small),
                ("large", args.flat_large, args.flat_large),
            ):
                sampler.mark(f"flat_{label}")
                log(f"data size {label}: {people:,} people, {events:,} audit events")
                dataset, gen_s = ensure_dataset(people, args.seed)
                if gen_s:
                    log(f"  generated {dataset.name} in {gen_s:.0f}s")
                t = time.monotonic()
                info = start_stack(stack, args, sampler, label, dataset, events)
                log(f"  stack up in {time.monotonic() - t:.0f}s (simulators {info['simulators_start_s']}s)")
                picked, tokens = pick_and_mint(stack, dataset, limit=args.flat_samples + 100)
                rec = asyncio.run(flat_measure(args, stack, picked, tokens))
                entry = {
                    "people": people,
                    "audit_events": events,
                    "generate_s": round(gen_s, 1),
                    **{k: v for k, v in info.items() if k != "pg_url"},
                    **rec.summary(),
                }
                results["flatness"][label] = entry
                raw[f"decision_{label}"] = {"file": rec.latencies["file"]}
                log(f"  decision (POST /v1/applications) p50 {entry['steps'].get('file', {}).get('p50_ms')} ms")
                if label == "large" and args.export:
                    results["memory"]["export"] = export_memory(args, stack, sampler, label)
                results["memory"][f"{label}_peak_rss_mb_per_worker"] = {
                    str(k): round(v, 1) for k, v in sampler.peak(label).items()
                }
                stop_stack(stack, sampler, label)
                stack.close()
    finally:
        sampler.stop()
        stack.close()
        results["finished_at"] = datetime.now().isoformat(timespec="seconds")
        results["wall_s"] = round(time.monotonic() - T0, 1)
        seen: dict[tuple[str, int], int] = {}
        results["rss_timeline"] = []
        for t, lab, pid, mb in sampler.samples:  # every 4th sample of each worker (1 s apart)
            seen[(lab, pid)] = seen.get((lab, pid), -1) + 1
            if seen[(lab, pid)] % 4 == 0:
                results["rss_timeline"].append((round(t, 2), lab, pid, round(mb, 1)))
        results["marks"] = [(round(t, 2), name) for t, name in sampler.marks]
    results["targets"] = report.targets(results)
    return results, raw


def export_memory(args, stack: Stack, sampler: RssSampler, label: str) -> dict:
    assert stack.data_dir is not None
    token = mint_role(stack.data_dir, "auditor")
    before = sampler.latest(label, before=sampler.now())
    t0 = sampler.now()
    log(f"  streaming GET /v1/audit/export?format=ndjson (bounded: {args.export_timeout:.0f}s)")
    stream = asyncio.run(
        export_stream(f"http://127.0.0.1:{stack.service_port}", token, args.export_timeout, args.flat_large + 100_000)
    )
    time.sleep(2 * sampler.interval)
    peak = sampler.peak(label, since=t0)
    deltas = {str(pid): round(peak[pid] - before.get(pid, peak[pid]), 1) for pid in peak}
    log(f"  exported {stream.get('events')} events in {stream.get('seconds')}s; RSS rise per worker {deltas} MB")
    return {
        "stream": stream,
        "rss_before_mb": {str(k): round(v, 1) for k, v in before.items()},
        "rss_peak_mb": {str(k): round(v, 1) for k, v in peak.items()},
        "rss_rise_mb": deltas,
        "max_rise_mb": max(deltas.values()) if deltas else None,
    }


def machine_info() -> dict:
    import platform

    try:
        load = os.getloadavg()
    except OSError:
        load = (0, 0, 0)
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in load],
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, default=2, help="service (and bare endpoint) worker processes")
    p.add_argument("--people", type=int, default=100_000, help="people in the main dataset")
    p.add_argument(
        "--duration",
        type=float,
        default=30,
        help="seconds of the residence-permit and open-loop phases (the other two services get half)",
    )
    p.add_argument("--users", type=int, default=32, help="concurrent virtual citizens in the closed-loop flows")
    p.add_argument(
        "--citizens",
        type=int,
        default=6000,
        help="citizens per service given a token (each files once while fresh ones last; ~0.4 ms per token)",
    )
    p.add_argument(
        "--read-users", type=int, default=64, help="keep-alive connections for the bare endpoint and the reads"
    )
    p.add_argument("--read-duration", type=float, default=10)
    p.add_argument(
        "--read-client",
        choices=["wrk", "raw", "httpx"],
        default="wrk",
        help="client for the bare endpoint and the reads (same for both); wrk: apt-get install wrk",
    )
    p.add_argument(
        "--wrk-threads", type=int, default=1, help="wrk threads (one keeps the driver's share of the 2 cores small)"
    )
    p.add_argument("--ref-duration", type=float, default=10, help="seconds of the naive render-and-sign loop")
    p.add_argument("--naive-procs", type=int, default=0, help="default: one per core")
    p.add_argument("--single-duration", type=float, default=10)
    p.add_argument(
        "--open-load", type=float, default=0.7, help="the open loop's rate, a fraction of the closed loop's maximum"
    )
    p.add_argument("--profile", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--profile-duration", type=int, default=15)
    p.add_argument("--flat", action=argparse.BooleanOptionalAction, default=True, help="run the data-size test")
    p.add_argument("--flat-small", type=int, default=10_000)
    p.add_argument("--flat-large", type=int, default=1_000_000)
    p.add_argument("--flat-samples", type=int, default=60, help="sequential filings per size (bounded)")
    p.add_argument("--flat-duration", type=float, default=20)
    p.add_argument(
        "--export",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="stream the audit export of the large size and watch RSS",
    )
    p.add_argument("--export-timeout", type=float, default=300)
    p.add_argument("--sim-timeout", type=float, default=600, help="seconds for a simulator to load its dataset")
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    results, raw = run(args)
    out = RESULTS / f"{results['run_id']}.json"
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    png = RESULTS / f"{results['run_id']}.png"
    try:
        report.plot(results, raw, png)
    except Exception as exc:  # the figures matter more than the picture
        log(f"plot failed: {exc!r}")
    print()
    print(report.table(results))
    log(f"wrote {out.relative_to(ROOT)} and {png.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    mp.set_start_method("spawn", force=True)
    sys.exit(main())
