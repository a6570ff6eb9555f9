"""Notification delivery latency: from the change to its receipt by a webhook receiver (p50, p99).

    .venv/bin/python bench/notification_latency.py --events 200 --rate 10 [--mode serve|worker] [--postgres]

Starts `cityservices serve` (development; SQLite in a temporary DATA_DIR, or a fresh PostgreSQL database
`bench_notify_<pid>` with --postgres, dropped afterwards) with NOTIFY_WEBHOOK_URL pointing at a receiver
in this process, files `--events` applications that are issued at once (each issuance is the change),
`--rate` per second, and times each event's receipt from two points:

- commit: the filing's HTTP answer arrived here (the change is committed before the answer is sent);
- decision: the event's `occurred_at`, the status change inside the transaction (before the PDF is
  rendered and signed and the transaction commits).

`--mode serve` (default) is development: the dispatcher runs inside `serve` and a commit that wrote an
event wakes it. `--mode worker` is production's shape: `serve` with RUN_WORKER_IN_PROCESS=false and a
separate `cityservices worker`, whose dispatcher polls the outbox every 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stack import create_database, drop_database, free_port, venv_bin, wait_ready  # noqa: E402

SECRET = "bench-webhook-secret-0123456789"
received: dict[str, tuple[float, str]] = {}  # application_id -> (arrival, occurred_at)
lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        arrived = time.time()
        event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with lock:
            received.setdefault(event["application_id"], (arrived, event["occurred_at"]))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class Server(ThreadingHTTPServer):
    # A batch of a polling dispatcher connects all at once; the default backlog of 5 drops SYNs, and
    # the kernel's 1 s / 3 s SYN retries would be measured as delivery latency.
    request_queue_size = 128
    daemon_threads = True


def wait_for_log(log: Path, text: str, *, timeout: float) -> None:
    """Until the worker's dispatcher has done a round (its start-up is not delivery latency)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and text not in log.read_text(errors="replace"):
        time.sleep(0.2)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="filings per second")
    parser.add_argument("--mode", choices=["serve", "worker"], default="serve")
    parser.add_argument("--postgres", action="store_true", help="a throw-away PostgreSQL database, not SQLite")
    args = parser.parse_args()

    server = Server(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    database = f"bench_notify_{os.getpid()}"
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as home:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ENVIRONMENT")}
        env.update(
            DATA_DIR=home,
            PUBLIC_BASE_URL=base,
            RATE_LIMIT_FILING="1000000/minute",
            NOTIFY_WEBHOOK_URL=f"http://127.0.0.1:{server.server_address[1]}/",
            NOTIFY_WEBHOOK_SECRET=SECRET,
            RUN_WORKER_IN_PROCESS=str(args.mode == "serve").lower(),
        )
        if args.postgres:
            env["DATABASE_URL"] = create_database(database).replace("postgresql://", "postgresql+asyncpg://")
        try:
            processes.append(
                spawn([venv_bin("cityservices"), "serve", "--port", str(port)], env, Path(home) / "serve.log")
            )
            wait_ready(f"{base}/readyz", timeout=90, proc=processes[0])
            if args.mode == "worker":
                processes.append(spawn([venv_bin("cityservices"), "worker"], env, Path(home) / "worker.log"))
                wait_for_log(Path(home) / "worker.log", "notification dispatcher ready", timeout=90)
            token = subprocess.run(
                [
                    venv_bin("cityservices"),
                    "token",
                    "--role",
                    "citizen",
                    "--id-number",
                    "330106198803120150",
                    "--name",
                    "张伟",
                ],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            committed: dict[str, float] = {}
            body = {"service": "no-criminal-record-certificate", "details": {"purpose": "employment"}}
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
                started = time.monotonic()
                for i in range(args.events):
                    time.sleep(max(0.0, started + i / args.rate - time.monotonic()))
                    answer = client.post("/v1/applications", json=body)
                    answer.raise_for_status()
                    committed[answer.json()["id"]] = time.time()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(received) < len(committed):
                time.sleep(0.1)
        finally:
            for process in reversed(processes):
                stop(process)
            server.shutdown()
            if args.postgres:
                drop_database(database)

    missing = set(committed) - set(received)
    from_commit = [(received[a][0] - t) * 1000 for a, t in committed.items() if a in received]
    from_decision = [
        (received[a][0] - datetime.fromisoformat(received[a][1]).timestamp()) * 1000 for a in committed if a in received
    ]
    print(
        f"mode={args.mode} database={'postgresql' if args.postgres else 'sqlite'} events={len(committed)} "
        f"rate={args.rate}/s received={len(from_commit)} missing={len(missing)}"
    )
    for name, values in (("commit -> receipt", from_commit), ("decision -> receipt", from_decision)):
        if values:
            print(
                f"  {name:20s} p50 {percentile(values, 50):7.1f} ms   p99 {percentile(values, 99):7.1f} ms   "
                f"max {max(values):7.1f} ms"
            )
    return 0 if not missing else 1


if __name__ == "__main__":
    sys.exit(main())
