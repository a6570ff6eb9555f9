"""The load driver: asyncio virtual users, closed loop (N users, each waits for its answer before the
next request) or open loop (arrivals at a fixed Poisson rate, whatever the answers take).

Two HTTP clients behind one small interface, `await client.request(method, path, headers, body)`:

- `HttpxClient`: httpx.AsyncClient (HTTP/1.1, keep-alive). Used for the flows, where a request costs
  the server milliseconds and httpx's own ~0.2-0.3 ms of client CPU does not matter.
- `RawClient`: a minimal HTTP/1.1 keep-alive client over asyncio streams (one connection per virtual
  user, Content-Length and chunked bodies). Used for the throughput-bound GETs (the bare endpoint
  and the reads): the driver shares the machine's 2 cores with the server, and httpx would spend
  more CPU per request than the bare endpoint does, so it would measure itself. The bare endpoint and
  the reads are driven by the same client, so their ratio is like for like.

- `run_wrk`: wrk (a C load generator, Debian package `wrk`) with `bench/wrk/requests.lua`. The default
  for the bare endpoint and the reads: it spends ~15-20 µs of CPU per request where `RawClient`
  spends ~50 µs and httpx ~250 µs, and the driver shares the 2 cores with the server, so a Python driver
  takes CPU the server would otherwise use at 10,000+ requests/s (the bare endpoint) and measures
  itself.

Every loop is bounded both in time (`duration`) and in count (`max_iterations`). Each loop can be given
`cpu`, a function returning the server's CPU seconds (bench.monitor.CpuMeter.read): the summary then
has the server's CPU time per completed flow over the measured window.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

Response = tuple[int, dict[str, str], bytes]
CpuReader = Callable[[], float]


class RequestFailed(Exception):
    def __init__(self, step: str, status: int, body: bytes) -> None:
        super().__init__(f"{step}: HTTP {status}: {body[:300]!r}")
        self.step, self.status, self.body = step, status, body


# -- clients ----------------------------------------------------------------------------------------


class RawConnection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self._host_header = f"Host: {host}:{port}\r\n"

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        sink: Callable[[bytes], None] | None = None,
    ) -> Response:
        if self.writer is None:
            await self._connect()
        assert self.reader is not None and self.writer is not None
        head = [f"{method} {path} HTTP/1.1\r\n", self._host_header]
        for k, v in (headers or {}).items():
            head.append(f"{k}: {v}\r\n")
        if body or method in ("POST", "PUT", "PATCH"):
            head.append(f"Content-Length: {len(body)}\r\n")
        head.append("\r\n")
        try:
            self.writer.write("".join(head).encode() + body)
            return await self._read(method, sink)
        except BaseException:
            self.close()
            raise

    async def _read(self, method: str, sink: Callable[[bytes], None] | None) -> Response:
        reader = self.reader
        assert reader is not None
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
        chunks: list[bytes] = []
        emit = sink or chunks.append
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            pass
        elif "content-length" in headers:
            n = int(headers["content-length"])
            if n:
                emit(await reader.readexactly(n))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass
                    break
                emit((await reader.readexactly(size + 2))[:-2])
        else:
            emit(await reader.read())
            self.close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, b"".join(chunks)


class RawClient:
    """One keep-alive connection per virtual user (`conn(i)`)."""

    def __init__(self, base_url: str) -> None:
        url = httpx.URL(base_url)
        self.host, self.port = url.host, url.port or 80
        self._conns: dict[int, RawConnection] = {}

    def conn(self, user: int) -> RawConnection:
        c = self._conns.get(user)
        if c is None:
            c = self._conns[user] = RawConnection(self.host, self.port)
        return c

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"", *, user: int = 0
    ) -> Response:
        return await self.conn(user).request(method, path, headers, body)

    async def aclose(self) -> None:
        for c in self._conns.values():
            c.close()
        self._conns.clear()


class HttpxClient:
    def __init__(self, base_url: str, *, connections: int) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(60.0),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"", *, user: int = 0
    ) -> Response:
        r = await self.client.request(method, path, headers=headers, content=body or None)
        return r.status_code, dict(r.headers), r.content

    async def aclose(self) -> None:
        await self.client.aclose()


def make_client(kind: str, base_url: str, *, connections: int) -> RawClient | HttpxClient:
    return RawClient(base_url) if kind == "raw" else HttpxClient(base_url, connections=connections)


# -- recording --------------------------------------------------------------------------------------


@dataclass
class Recorder:
    """Latencies (ms) per step, completed iterations, and failures by step and status."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    completed: int = 0
    failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failure_samples: list[str] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)

    async def timed(self, step: str, call: Awaitable[Response], *, expect: tuple[int, ...] = (200,)) -> Response:
        start = time.perf_counter()
        resp = await call
        self.latencies[step].append((time.perf_counter() - start) * 1000)
        if resp[0] not in expect:
            raise RequestFailed(step, resp[0], resp[2])
        return resp

    def fail(self, exc: BaseException) -> None:
        key = f"{exc.step}:{exc.status}" if isinstance(exc, RequestFailed) else type(exc).__name__
        self.failures[key] += 1
        if len(self.failure_samples) < 5:
            self.failure_samples.append(str(exc)[:400])

    @property
    def elapsed(self) -> float:
        return max(1e-9, self.ended - self.started)

    def measure_cpu(self, cpu: CpuReader | None, start: bool) -> None:
        """`cpu` reads the server's CPU seconds; it may carry `cpu.others`, more readers by name (the
        simulators, the driver), recorded as `<name>_cpu_ms_per_flow` beside the server's."""
        if cpu is None:
            return
        readers = {"server": cpu, **getattr(cpu, "others", {})}
        if start:
            self.extra["_cpu0"] = {name: read() for name, read in readers.items()}
            return
        before: dict[str, float] = self.extra.pop("_cpu0", {})  # type: ignore[assignment]
        for name, read in readers.items():
            used = read() - before.get(name, 0.0)
            self.extra[f"{name}_cpu_s"] = round(used, 3)
            self.extra[f"{name}_cores"] = round(used / self.elapsed, 3)
            self.extra[f"{name}_cpu_ms_per_flow"] = round(1000 * used / self.completed, 3) if self.completed else None

    def summary(self) -> dict[str, object]:
        return {
            "completed": self.completed,
            "elapsed_s": round(self.elapsed, 3),
            "throughput_per_s": round(self.completed / self.elapsed, 2),
            "failures": dict(self.failures),
            "failure_samples": self.failure_samples,
            "steps": {name: percentiles(values) for name, values in self.latencies.items()},
            **{k: v for k, v in self.extra.items() if k != "wrk_steps"},
        } | ({"steps": self.extra["wrk_steps"]} if "wrk_steps" in self.extra else {})


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    a = np.asarray(values)
    return {
        "n": int(a.size),
        "mean_ms": round(float(a.mean()), 3),
        "p50_ms": round(float(np.percentile(a, 50)), 3),
        "p95_ms": round(float(np.percentile(a, 95)), 3),
        "p99_ms": round(float(np.percentile(a, 99)), 3),
        "max_ms": round(float(a.max()), 3),
    }


# -- loops ------------------------------------------------------------------------------------------

Flow = Callable[[int, int, Recorder], Awaitable[None]]  # (user, iteration, recorder)


async def closed_loop(
    flow: Flow, *, users: int, duration: float, max_iterations: int, warmup: float = 0.0, cpu: CpuReader | None = None
) -> Recorder:
    """`users` virtual users each run `flow` back to back until `duration` (or `max_iterations` in
    all). The first `warmup` seconds are run but not recorded."""
    if warmup > 0:
        scratch = Recorder()
        await _closed(flow, scratch, users=users, duration=warmup, max_iterations=max_iterations)
    rec = Recorder()
    await _closed(flow, rec, users=users, duration=duration, max_iterations=max_iterations, cpu=cpu)
    return rec


async def _closed(
    flow: Flow, rec: Recorder, *, users: int, duration: float, max_iterations: int, cpu: CpuReader | None = None
) -> None:
    rec.measure_cpu(cpu, True)
    rec.started = time.perf_counter()
    deadline = rec.started + duration
    issued = 0

    async def user(u: int) -> None:
        nonlocal issued
        i = 0
        while time.perf_counter() < deadline and issued < max_iterations:
            issued += 1
            try:
                await flow(u, i, rec)
                rec.completed += 1
            except Exception as exc:  # a failed iteration is counted, the user carries on
                rec.fail(exc)
                await asyncio.sleep(0.05)
            i += 1

    tasks = [asyncio.create_task(user(u)) for u in range(users)]
    # Bounded: whatever has not finished 60 s after the deadline is cancelled.
    done, pending = await asyncio.wait(tasks, timeout=duration + 60)
    for t in pending:
        t.cancel()
    rec.ended = time.perf_counter()  # users finish the iteration in hand: slightly past the deadline
    rec.measure_cpu(cpu, False)


async def open_loop(
    flow: Flow, *, rate: float, duration: float, max_inflight: int, seed: int = 7, cpu: CpuReader | None = None
) -> Recorder:
    """Poisson arrivals at `rate` per second for `duration`; each arrival runs `flow` once. Latency
    steps are timed by the flow itself; `arrival_to_done` is measured from the *scheduled* arrival,
    so a driver that falls behind cannot hide queueing (no coordinated omission). Arrivals finding
    `max_inflight` flows already running are counted as `dropped`."""
    rec = Recorder()
    rng = random.Random(seed)
    rec.measure_cpu(cpu, True)
    rec.started = time.perf_counter()
    deadline = rec.started + duration
    inflight: set[asyncio.Task] = set()
    dropped = 0
    next_at = rec.started
    i = 0

    async def one(u: int, scheduled: float) -> None:
        try:
            await flow(u, 0, rec)
            rec.completed += 1
            rec.latencies["arrival_to_done"].append((time.perf_counter() - scheduled) * 1000)
        except Exception as exc:
            rec.fail(exc)

    while True:
        next_at += rng.expovariate(rate)
        if next_at >= deadline:
            break
        delay = next_at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(inflight) >= max_inflight:
            dropped += 1
        else:
            t = asyncio.create_task(one(i, next_at))
            inflight.add(t)
            t.add_done_callback(inflight.discard)
        i += 1
    if inflight:
        _, pending = await asyncio.wait(inflight, timeout=60)
        for t in pending:
            t.cancel()
    rec.ended = time.perf_counter()
    rec.measure_cpu(cpu, False)
    rec.extra.update({"offered_rate_per_s": round(rate, 2), "arrivals": i, "dropped": dropped})
    return rec


# -- wrk --------------------------------------------------------------------------------------------

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk" / "requests.lua"
_wrk_runs = itertools.count()


def wrk_binary() -> str:
    exe = shutil.which("wrk")
    if exe is None:
        raise RuntimeError(
            "wrk is not installed: `apt-get install -y wrk` (see bench/README.md), or pass --read-client raw"
        )
    return exe


def write_requests(path: Path, requests: list[tuple[str, str | None]]) -> Path:
    """The requests file bench/wrk/requests.lua reads: `<path>\t<token or ->` per line."""
    path.write_text("".join(f"{p}\t{t or '-'}\n" for p, t in requests), encoding="utf-8")
    return path


def run_wrk(
    base_url: str,
    requests_file: Path,
    *,
    connections: int,
    duration: float,
    threads: int = 1,
    xff_every: int = 0,
    warmup: float = 1.0,
    cpu: CpuReader | None = None,
) -> Recorder:
    """wrk over keep-alive connections for `duration` s (after `warmup` s not recorded), GETs from
    `requests_file`. Any answer but 2xx/3xx counts as a failure. Returns a Recorder whose `flow` latencies
    are wrk's percentiles (1st..99.9th, enough for the CDF plot) and whose summary has wrk's exact
    percentiles, the server's CPU per request (with `cpu`) and the driver's own CPU per request."""
    exe = wrk_binary()

    def once(seconds: float) -> tuple[dict, float]:
        argv = [
            exe,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(WRK_SCRIPT),
            base_url,
            "--",
            str(requests_file),
            str(xff_every),
            str(16 * next(_wrk_runs)),
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + 60, env=os.environ | {"LC_ALL": "C"}
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
        if proc.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout[-500:]} {proc.stderr[-500:]}")
        driver = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return json.loads(line.removeprefix("WRK_JSON ")), driver

    if warmup > 0:
        once(warmup)
    rec = Recorder()
    rec.measure_cpu(cpu, True)
    rec.started = time.perf_counter()
    out, driver_cpu = once(duration)
    rec.ended = rec.started + out["duration_us"] / 1e6
    errors = out["errors"]
    failed = errors["status"] + errors["timeout"] + errors["read"] + errors["write"] + errors["connect"]
    rec.completed = out["requests"] - errors["status"] - errors["timeout"]
    rec.measure_cpu(cpu, False)
    for kind, count in errors.items():
        if count:
            rec.failures[f"wrk:{kind}"] += count
    lat = out["latency_us"]
    pct = {float(k): v / 1000 for k, v in lat["percentiles"].items()}
    rec.latencies["flow"] = [pct[q] for q in sorted(pct)]
    rec.extra.update(
        {
            "client": f"wrk -t{threads} -c{connections}",
            "wrk_steps": {
                "flow": {
                    "n": out["requests"],
                    "mean_ms": round(lat["mean"] / 1000, 3),
                    "p50_ms": pct[50.0],
                    "p95_ms": pct[95.0],
                    "p99_ms": pct[99.0],
                    "max_ms": round(lat["max"] / 1000, 3),
                }
            },
            "failed_requests": failed,
            "driver_cpu_ms_per_request": round(1000 * driver_cpu / max(1, out["requests"]), 4),
        }
    )
    return rec
