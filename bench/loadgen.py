"""The load driver: asyncio virtual users, closed loop (N users, each waits for its answer before the
next request) or open loop (arrivals at a fixed Poisson rate, whatever the answers take).

Two drivers:

- `HttpClient` (aiohttp's client, HTTP/1.1, keep-alive), behind `await client.request(method, path,
  headers, body)`: for the flows. The driver shares the 2 cores with the server: through httpx, a
  residence permit's three requests cost 6.2 ms of the driver's CPU in the closed loop, through aiohttp
  2.1 ms; the bare issuing endpoint's maximum rose from 43 to 50-60 documents/s with it.
- `run_wrk`: wrk (a C load generator, Debian package `wrk`) with `bench/wrk/requests.lua`, for the
  bare endpoint, the floor references and the reads: it spends ~0.02 ms of CPU per request where a Python
  client spends 0.2 ms or more, which at 10,000+ requests/s would take the CPU the server needs and
  measure the driver. Every such phase goes through the same script and connections, so their ratios are
  like for like.

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
import subprocess
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp

Response = tuple[int, dict[str, str], bytes]


class CpuReader(Protocol):
    """CPU seconds of what is measured (bench.monitor); `others` reads more processes by name (the
    simulators, the driver), recorded beside it."""

    others: dict[str, Callable[[], float]]

    def __call__(self) -> float: ...


class Client(Protocol):
    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"", *, user: int = 0
    ) -> Response: ...


class RequestFailed(Exception):
    def __init__(self, step: str, status: int, body: bytes) -> None:
        super().__init__(f"{step}: HTTP {status}: {body[:300]!r}")
        self.step, self.status, self.body = step, status, body


# -- the client -----------------------------------------------------------------------------------


class HttpClient:
    """Up to `connections` keep-alive connections to `base_url`; opened in the running loop, at first use."""

    def __init__(self, base_url: str, *, connections: int) -> None:
        self.base_url, self.connections = base_url, connections
        self._session: aiohttp.ClientSession | None = None

    def _opened(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                self.base_url,
                connector=aiohttp.TCPConnector(limit=self.connections, limit_per_host=self.connections),
                timeout=aiohttp.ClientTimeout(total=60.0),
                auto_decompress=False,
            )
        return self._session

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"", *, user: int = 0
    ) -> Response:
        async with self._opened().request(method, path, headers=headers, data=body or None) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, await r.read()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


# -- recording --------------------------------------------------------------------------------------


@dataclass
class Recorder:
    """Latencies (ms) per step, completed iterations, and failures by step and status."""

    latencies: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    completed: int = 0
    failures: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    failure_samples: list[str] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    _cpu0: dict[str, float] = field(default_factory=dict)

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
        """The server's CPU seconds and `cpu.others`' at the start of the window; at its end, each as
        `<name>_cpu_ms_per_flow` (and `_cpu_s`, `_cores`)."""
        if cpu is None:
            return
        readers: dict[str, Callable[[], float]] = {"server": cpu, **cpu.others}
        if start:
            self._cpu0 = {name: read() for name, read in readers.items()}
            return
        for name, read in readers.items():
            used = read() - self._cpu0.get(name, 0.0)
            self.extra[f"{name}_cpu_s"] = round(used, 3)
            self.extra[f"{name}_cores"] = round(used / self.elapsed, 3)
            self.extra[f"{name}_cpu_ms_per_flow"] = round(1000 * used / self.completed, 3) if self.completed else None

    def summary(self) -> dict[str, Any]:
        return {
            "completed": self.completed,
            "elapsed_s": round(self.elapsed, 3),
            "throughput_per_s": round(self.completed / self.elapsed, 2),
            "failures": dict(self.failures),
            "failure_samples": self.failure_samples,
            "steps": {name: percentiles(values) for name, values in self.latencies.items()},
            **self.extra,
        }


def percentile(ordered: list[float], q: float) -> float:
    """The q-th percentile of sorted values, interpolated linearly between the two nearest (numpy's default)."""
    k = (len(ordered) - 1) * q / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "mean_ms": round(sum(ordered) / len(ordered), 3),
        **{f"p{q}_ms": round(percentile(ordered, q), 3) for q in (50, 95, 99)},
        "max_ms": round(ordered[-1], 3),
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
    inflight: set[asyncio.Task[None]] = set()
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
        raise RuntimeError("wrk is not installed: `apt-get install -y wrk` (see bench/README.md)")
    return exe


def write_requests(path: Path, requests: Sequence[tuple[str, str | None]]) -> Path:
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
    `requests_file`. Any answer but 2xx/3xx counts as a failure. Returns a Recorder whose summary has wrk's
    percentiles as the `flow` step, the server's CPU per request (with `cpu`) and the driver's own."""
    exe = wrk_binary()

    def once(seconds: float) -> tuple[dict[str, Any], float]:
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
    rec.extra.update(
        {
            "client": f"wrk -t{threads} -c{connections}",
            "steps": {
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
