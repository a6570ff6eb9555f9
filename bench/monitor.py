"""Resident memory of the service's worker processes, sampled in a background thread (psutil)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psutil


class RssSampler(threading.Thread):
    """Every `interval` seconds: RSS of each process serving requests under each watched service leader:
    under `serve --workers N` (N > 1) the leader's children (uvicorn's workers); with one worker the leader
    itself, which serves (its children are then PDF processes)."""

    def __init__(self, interval: float = 0.25) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.interval = interval
        self.t0 = time.monotonic()
        self.samples: list[tuple[float, str, int, float]] = []  # (t, stack label, pid, MB)
        self._watch: dict[str, tuple[psutil.Process, int]] = {}
        self._lock = threading.Lock()
        self._halt = threading.Event()

    def now(self) -> float:
        return time.monotonic() - self.t0

    def watch(self, label: str, pid: int, *, workers: int) -> None:
        with self._lock:
            self._watch[label] = (psutil.Process(pid), workers)

    def unwatch(self, label: str) -> None:
        with self._lock:
            self._watch.pop(label, None)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)

    def workers(self, label: str) -> list[psutil.Process]:
        with self._lock:
            leader, workers = self._watch.get(label, (None, 0))
        if leader is None or workers <= 1:
            return [leader] if leader is not None else []
        try:
            return [p for p in leader.children() if "resource_tracker" not in " ".join(p.cmdline())]
        except psutil.Error:
            return []

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            with self._lock:
                labels = list(self._watch)
            t = self.now()
            for label in labels:
                for proc in self.workers(label):
                    try:
                        self.samples.append((t, label, proc.pid, proc.memory_info().rss / 2**20))
                    except psutil.Error:
                        continue
            if len(self.samples) > 200_000:  # bounded
                del self.samples[:100_000]

    def peak(self, label: str, *, since: float = 0.0, until: float = float("inf")) -> dict[int, float]:
        out: dict[int, float] = {}
        for t, lab, pid, mb in self.samples:
            if lab == label and since <= t <= until:
                out[pid] = max(out.get(pid, 0.0), mb)
        return out

    def latest(self, label: str, *, before: float) -> dict[int, float]:
        out: dict[int, float] = {}
        for t, lab, pid, mb in self.samples:
            if lab == label and t <= before:
                out[pid] = mb
        return out


class CpuMeter:
    """User + system CPU seconds of a service: its leader and every descendant (uvicorn's workers, their
    PDF processes). `read()` before and after a window; the difference ÷ the requests or flows completed
    in it is the server's CPU per request, which the load of other processes on a shared machine moves
    far less than throughput. A process that exits inside the window loses its share (none should)."""

    def __init__(self, pid: int) -> None:
        self.leader = psutil.Process(pid)

    def read(self) -> float:
        return self._sum(lambda t: t.user + t.system)

    def read_system(self) -> float:
        """The kernel's share alone (sockets, pipes to the PDF processes, scheduling): work callgrind's
        user-space instruction counts do not see."""
        return self._sum(lambda t: t.system)

    def read_depth(self, depth: int) -> float:
        """The processes `depth` levels below the leader only: under `serve --workers N` (N > 1), 1 is
        uvicorn's workers and 2 their PDF processes."""
        return self._sum(lambda t: t.user + t.system, depth=depth)

    def _sum(self, part: Callable[[Any], float], depth: int | None = None) -> float:
        total = 0.0
        try:
            if depth is None:
                procs = [self.leader, *self.leader.children(recursive=True)]
            else:
                procs = [self.leader]
                for _ in range(depth):
                    procs = [c for p in procs for c in p.children()]
        except psutil.Error:
            return total
        for proc in procs:
            try:
                t = proc.cpu_times()
            except psutil.Error:
                continue
            total += part(t)
        return total


def postgres_cpu() -> float:
    """CPU seconds of the local PostgreSQL server's processes (every backend, the WAL writer...). A backend
    that exits inside a window loses its share: the service's pool keeps its connections."""
    total = 0.0
    for proc in psutil.process_iter(["name", "cpu_times"]):
        if proc.info["name"] == "postgres" and proc.info["cpu_times"] is not None:
            total += proc.info["cpu_times"].user + proc.info["cpu_times"].system
    return total
