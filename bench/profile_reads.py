"""Where a read's CPU goes: statements per read, and a py-spy profile split by component.

    python bench/profile_reads.py [--people 10000] [--duration 15] [--connections 16]

On a database prepared as bench/instructions.py prepares it (bench/stack.py, a few issued permits), with
one `cityservices serve --workers 1` process (the agency worker and dispatcher off, as in production):

1. **Statements**: the database gets `log_statement = all`; 20 sequential requests per endpoint, then
   the PostgreSQL log lines of that database are counted per request, by kind (BEGIN, SELECT ...,
   INSERT, COMMIT, ROLLBACK, the sealer's statements). Read from /var/log/postgresql (Debian's cluster).
2. **Profile**: wrk (`bench/wrk/requests.lua`) at `--connections` keep-alive connections for
   `--duration` s per endpoint while py-spy samples the worker (250 Hz, idle excluded); the server's CPU
   over the same window (bench.monitor.CpuMeter) ÷ requests = ms per read; each sample is attributed to
   one component (OWNERS by any frame, else LEAVES by the leaf-most frame), so a component's share
   × ms per read = its ms per read. Connections opened during the window (`pg_stat_database.sessions`)
   show pool churn.

Raw stacks go to bench/results/profile-reads-<endpoint>-<time>.txt (speedscope reads them).
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
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.instructions import prepare  # noqa: E402
from bench.loadgen import run_wrk, write_requests  # noqa: E402
from bench.monitor import CpuMeter  # noqa: E402
from bench.profiling import py_spy  # noqa: E402
from bench.stack import HOST, PG_ADMIN_URL, Stack, ensure_postgres, free_port, psql, venv_bin, wait_ready  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PG_LOG_DIR = Path("/var/log/postgresql")
T0 = time.monotonic()

# Attribution, in two tiers. OWNERS: a sample goes to the first owner any of whose needles matches any
# frame of its stack (who the work is for: the sealer, the JWT check, the application query...). The
# rest go by their leaf-most frame that matches a LEAF rule (what kind of code ran: SQLAlchemy,
# routing, logging...). A needle is "path-part" (the frame's file contains it) or "function@path-part".
OWNERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "new database connections (pool overflow: connect, auth, codecs, statements re-prepared)",
        ("asyncpg/connect_utils.py", "_create_connection@sqlalchemy/pool/", "connect@sqlalchemy/dialects/postgresql/"),
    ),
    ("audit sealer, visible frames (seal_once, hashing)", ("app/audit/sealing.py",)),
    ("request-log writer, visible frames (group commit)", ("app/audit/batching.py",)),
    ("rate limit (limits, in memory)", ("app/ratelimit.py", "limits/")),
    ("JWT verification + principal (jose, ES256)", ("authenticate@app/api/security.py", "jose/")),
    ("query: application (session.get, ORM), visible frames", ("get@app/applications/repository.py",)),
    (
        "query: certificate (select, ORM), visible frames",
        ("certificate_for@app/applications/repository.py", "by_code@app/certificates/repository.py"),
    ),
    # The request's unit of work (app/api/deps.py): opened, then at the handler's end ROLLBACK + pool return.
    ("unit of work open/close (session, ROLLBACK, pool return)", ("_unit_of_work@app/api/deps.py",)),
    (
        "presenter + ETag (pydantic model_validate, json)",
        ("present@app/applications/presenter.py", "etag@app/", "_verification@app/certificates"),
    ),
    ("response validation + serialisation (FastAPI)", ("serialize_response@fastapi/", "jsonable_encoder@fastapi/")),
    ("FastAPI dependency resolution + request parsing", ("solve_dependencies@fastapi/",)),
    ("JSON access log + Prometheus (RequestMiddleware._observe)", ("_observe@app/api/middleware.py",)),
)
LEAVES: tuple[tuple[str, tuple[str, ...]], ...] = (
    # SQLAlchemy's async layer runs the ORM in a greenlet: py-spy sees those stacks without the
    # coroutine that awaits them, so most database work lands here, whichever caller (the request's
    # queries, BEGIN/ROLLBACK, the writer's INSERT/COMMIT, the sealer) it serves.
    ("SQLAlchemy + asyncpg, caller not visible (greenlets, callbacks)", ("sqlalchemy/", "asyncpg/", "greenlet")),
    ("json (JSON columns, bodies)", ("json/",)),
    ("logging", ("logging/", "pythonjsonlogger")),
    ("Prometheus", ("prometheus_client",)),
    ("RequestMiddleware own code (ids, contextvars, headers, deadlines)", ("app/api/",)),
    ("Starlette/FastAPI routing, middleware stack, exception + exit-stack wrappers", ("starlette/", "fastapi/")),
    ("uvicorn/httptools protocol", ("uvicorn/protocols/", "httptools")),
    ("event loop: uvloop C (sockets, callbacks, timers)", ("Runner.run@asyncio/runners.py",)),
    ("asyncio, contextlib, anyio", ("asyncio/", "uvloop", "contextlib.py", "anyio/")),
)
# Stacks py-spy counts but that burn no CPU: a pool thread blocked in its queue (uvloop resolves
# addresses for new database connections in a thread pool), an empty stack.
IDLE = ("_worker@concurrent/futures/thread.py",)
COMPONENTS = OWNERS + LEAVES
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _matches(frames: list[tuple[str, str]], needle: str) -> bool:
    func, _, part = needle.rpartition("@")
    return any(part in file and (not func or f == func or f.endswith("." + func)) for f, file in frames)


_SQLA_ROOTS = (
    ("Session.get", "SQLAlchemy: Session.get (the application row to an ORM object)"),
    ("Session.execute", "SQLAlchemy: Session.execute (certificate select; writer INSERT; sealer SELECT, UPDATE)"),
    ("Session.commit", "SQLAlchemy: COMMIT (writer, sealer)"),
    ("Session.close", "SQLAlchemy: ROLLBACK + close (every session)"),
    ("Transaction.rollback", "SQLAlchemy: ROLLBACK + close (every session)"),
    ("Transaction.__rollback", "SQLAlchemy: ROLLBACK + close (every session)"),
    ("AsyncAdapt_asyncpg_connection._start_transaction", "SQLAlchemy: implicit BEGIN (every transaction)"),
    ("Transaction.start", "SQLAlchemy: implicit BEGIN (every transaction)"),
)


def _sqlalchemy_detail(frames: list[tuple[str, str]]) -> str:
    """Which SQLAlchemy call a greenlet stack serves, from its root frame."""
    for func, _ in frames[:2]:
        for root, label in _SQLA_ROOTS:
            if func == root:
                return label
    return "SQLAlchemy + asyncpg: async wrappers, asyncpg protocol, pool"


def attribute(frames: list[tuple[str, str]]) -> str | None:
    """The component of one stack (root first), or None for an idle one."""
    if not frames or _matches(frames[-1:], IDLE[0]):
        return None
    owner = next((name for name, needles in OWNERS if any(_matches(frames, nd) for nd in needles)), None)
    if owner:
        return owner
    for frame in reversed(frames):
        leaf = next((name for name, needles in LEAVES if any(_matches([frame], nd) for nd in needles)), None)
        if leaf:
            return _sqlalchemy_detail(frames) if leaf.startswith("SQLAlchemy") else leaf
    return "other"


def log(msg: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f}s] {msg}", flush=True)


def pg_log() -> Path | None:
    logs = sorted(PG_LOG_DIR.glob("postgresql-*-main.log"), key=lambda p: p.stat().st_mtime)
    return logs[-1] if logs else None


def classify_statement(sql: str) -> str:
    s = " ".join(sql.split()).upper()
    for prefix in ("BEGIN", "COMMIT", "ROLLBACK"):
        if s.startswith(prefix):
            return prefix
    if "HASHTEXTEXTENDED" in s:
        return "SELECT pg_advisory_xact_lock (filing: one at a time per person)"
    if "PG_ADVISORY" in s or "PG_TRY_ADVISORY" in s:
        return "SELECT pg_(try_)advisory_xact_lock (sealer)"
    if s.startswith("UPDATE AUDIT_EVENTS"):
        return "UPDATE audit_events (sealer)"
    if s.startswith("INSERT INTO AUDIT_EVENTS"):
        return "INSERT audit_events (request log)"
    if s.startswith("SELECT AUDIT_EVENTS.ID FROM AUDIT_EVENTS") and "LIMIT" in s:
        return "SELECT audit_events (sealer's poll: anything unsealed?)"
    if s.startswith("SELECT") and "FROM AUDIT_EVENTS" in s:
        return "SELECT audit_events (sealer: head, unsealed rows)"
    for verb in ("SELECT", "INSERT INTO", "UPDATE"):
        if s.startswith(verb):
            m = re.search(r"(?:FROM|INTO|UPDATE) (\w+)", s)
            return f"{verb.split()[0]} {m.group(1).lower() if m else '?'}"
    return s[:60]


def statements(db: str, port: int, name: str, reqs: list[tuple[str, dict[str, str]]], n: int = 20) -> dict:
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=60) as client:
        for path_, headers in reqs[:3]:  # warm: connections opened, statements prepared
            client.get(path_, headers=headers)
        time.sleep(1.0)

        def run() -> None:
            for i in range(n):
                p, h = reqs[(3 + i) % len(reqs)]
                r = client.get(p, headers=h)
                if r.status_code != 200:
                    raise RuntimeError(f"{p}: {r.status_code} {r.text[:200]}")

        return census(db, run, n, name)


def census(db: str, run, n: int, name: str = "") -> dict:
    """Run `run()` (n requests or flows) and count this database's logged statements per one, by kind.
    The statements themselves, in order with their backend's pid, go to
    bench/results/statements-<name>-<time>.txt (which session did what)."""
    path = pg_log()
    if path is None:
        return {"error": "no PostgreSQL log found under /var/log/postgresql"}
    offset = path.stat().st_size
    run()
    time.sleep(1.5)  # the sealer's last round
    with path.open("rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", errors="replace")
    kinds: Counter[str] = Counter()
    listing: list[str] = []
    entries: list[str] = []  # a statement's SQL continues on the following lines of the log
    for line in text.splitlines():
        if re.match(r"\d{4}-\d\d-\d\d ", line) or not entries:
            entries.append(line)
        else:
            entries[-1] += " " + line
    for entry in entries:
        if f"@{db} " not in entry:
            continue
        _, sep, rest = entry.partition("LOG:  ")
        if not sep:
            continue
        if rest.startswith("statement: "):
            sql = rest.removeprefix("statement: ")
        elif rest.startswith("execute "):
            sql = rest.split(": ", 1)[1] if ": " in rest else rest
        else:
            continue
        kinds[classify_statement(sql)] += 1
        pid = re.search(r"\[(\d+)\]", entry)
        listing.append(f"{pid.group(1) if pid else '?':>8}  {' '.join(sql.split())[:160]}")
    if name:
        out = RESULTS / f"statements-{name}-{datetime.now():%Y%m%d-%H%M%S}.txt"
        out.write_text("\n".join(listing) + "\n", encoding="utf-8")
    return {
        "count": n,
        "per_request": {k: round(v / n, 2) for k, v in kinds.most_common()},
        "total_per_request": round(sum(kinds.values()) / n, 2),
    }


def issuance_census(stack: Stack, db: str, port: int, args, n: int = 5) -> dict:
    """Statements per residence-permit flow (upload, file, download), sequential, fresh citizens."""
    from bench.citizens import pick
    from bench.loadgen import HttpxClient, closed_loop
    from bench.run import Flows, ensure_dataset, mint_tokens, multipart, proof_pdf

    dataset, _ = ensure_dataset(args.people, args.seed)
    picked = pick(dataset, limit=max(50, args.issue) + 20)  # as instructions.prepare: the same sample
    assert stack.data_dir is not None
    tokens = {"residence_permit": mint_tokens(stack.data_dir, picked.residence_permit)}

    async def flows(count: int, start: int) -> None:
        client = HttpxClient(f"http://{HOST}:{port}", connections=2)
        f = Flows(client, picked, tokens, multipart(proof_pdf()), cursor={"residence_permit": start})
        try:
            rec = await closed_loop(f.residence_permit, users=1, duration=60, max_iterations=count)
        finally:
            await client.aclose()
        if rec.failures:
            raise RuntimeError(f"issuance census failed: {rec.failure_samples}")

    asyncio.run(flows(1, max(50, args.issue)))  # warm
    return census(db, lambda: asyncio.run(flows(n, max(50, args.issue) + 1)), n, "flow")


def components(raw: Path) -> tuple[int, list[tuple[str, float]]]:
    counts: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = []
        for frame in stack.split(";"):
            m = _FRAME.match(frame)
            if m:
                frames.append((m.group("func"), m.group("file")))
        hit = attribute(frames)
        if hit is None:
            continue  # idle: not in the total either
        total += n
        counts[hit] += n
    return total, [(k, round(v / max(1, total), 4)) for k, v in counts.most_common()]


def db_counters(db: str) -> tuple[int, int, int]:
    """(connections opened, transactions committed, rolled back) so far, from pg_stat_database."""
    out = psql(
        PG_ADMIN_URL,
        f"SELECT sessions, xact_commit, xact_rollback FROM pg_stat_database WHERE datname = '{db}'",
        check=False,
    )
    a, b, c = (out.stdout.strip() or "0|0|0").split("|")
    return int(a), int(b), int(c)


def profile(stack: Stack, port: int, pid: int, db: str, name: str, requests: Path, xff: int, args) -> dict:
    worker = pid
    raw = RESULTS / f"profile-reads-{name}-{datetime.now():%Y%m%d-%H%M%S}.txt"
    spy = subprocess.Popen(
        [py_spy(), "record", "--pid", str(worker), "--rate", "250", "--duration", str(int(args.duration) + 2),
         "--format", "raw", "--output", str(raw), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    s0 = db_counters(db)
    rec = run_wrk(f"http://{HOST}:{port}", requests, connections=args.connections, duration=args.duration,
                  xff_every=xff, warmup=0.5, cpu=CpuMeter(pid).read)  # fmt: skip
    time.sleep(0.7)  # pg_stat_database is updated by each backend at most every 0.5 s
    s1 = db_counters(db)
    try:
        spy.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        spy.kill()
    summary = rec.summary()
    ms = summary.get("server_cpu_ms_per_flow") or 0.0
    total, shares = components(raw) if raw.exists() else (0, [])
    return {
        "throughput_per_s": summary["throughput_per_s"],
        "server_cpu_ms_per_request": ms,
        "failures": summary["failures"],
        "connections_opened": s1[0] - s0[0],
        # under load, from pg_stat_database (all of this database's sessions: requests, writer, sealer)
        "commits_per_request": round((s1[1] - s0[1]) / max(1, rec.completed), 2),
        "rollbacks_per_request": round((s1[2] - s0[2]) / max(1, rec.completed), 2),
        "samples": total,
        "components": [(k, share, round(share * ms, 3)) for k, share in shares],
        "raw": str(raw.relative_to(ROOT)),
    }


def resummarize(path: Path) -> None:
    """Re-attribute the raw stacks of an earlier run (after changing COMPONENTS)."""
    results = json.loads(path.read_text(encoding="utf-8"))
    for name, r in results.get("profiles", {}).items():
        total, shares = components(ROOT / r["raw"])
        ms = r["server_cpu_ms_per_request"]
        r["components"] = [(k, share, round(share * ms, 3)) for k, share in shares]
        print(f"\n{name}: {ms} ms CPU per request, {total} samples")
        for k, share, cost in r["components"]:
            print(f"  {100 * share:5.1f}%  {cost:6.3f} ms  {k}")
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")


def profile_all(
    stack: Stack, child, argv_: list[str], env: dict, port: int, db: str, issued, results: dict, args
) -> None:
    """Per endpoint under wrk: py-spy's split by component, CPU and pool churn (a fresh process: sessions
    opened under log_statement would keep logging)."""
    stack.stop(child)
    child = stack.spawn(f"service-profile2-{port}", argv_, env)
    wait_ready(f"http://{HOST}:{port}/readyz", timeout=120, proc=child.proc)
    files = {
        "application": (write_requests(RESULTS / "wrk-profile-application.txt",
                                       [(f"/v1/applications/{a}", t) for t, a, _ in issued]), 0),
        "verify": (write_requests(RESULTS / "wrk-profile-verify.txt",
                                  [(f"/v1/verify/{c}", None) for _, _, c in issued]), 40),
        "healthz": (write_requests(RESULTS / "wrk-profile-healthz.txt", [("/healthz", None)]), 0),
    }  # fmt: skip
    results["profiles"] = {}
    for name, (path, xff) in files.items():
        log(f"profile {name}: wrk {args.connections} connections, {args.duration:.0f}s, py-spy 250 Hz")
        results["profiles"][name] = profile(stack, port, child.proc.pid, db, name, path, xff, args)
        r = results["profiles"][name]
        log(f"  {r['throughput_per_s']}/s, {r['server_cpu_ms_per_request']} ms CPU per request, "
            f"{r['connections_opened']} connections opened, {r['commits_per_request']} commits and "
            f"{r['rollbacks_per_request']} rollbacks per request, {r['samples']} samples")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--resummarize", type=Path, help="only re-attribute the stacks of this earlier result JSON")
    p.add_argument("--people", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--issue", type=int, default=40)
    p.add_argument("--duration", type=float, default=15)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--statements-only", action="store_true", help="only the statement census (~30 s, no load)")
    args = p.parse_args(argv)
    if args.resummarize:
        resummarize(args.resummarize)
        return 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: dict = {"loadavg_at_start": [round(x, 2) for x in os.getloadavg()], "args": vars(args)}
    stack = Stack(log)
    try:
        ensure_postgres(log)
        log(f"preparing a database: {args.people:,} people, {args.issue} issued residence permits")
        database_url, env, issued = prepare(stack, args)
        db = database_url.rsplit("/", 1)[1]
        psql(PG_ADMIN_URL, f"ALTER DATABASE \"{db}\" SET log_statement = 'all'")
        port = free_port()
        env = env | {"PUBLIC_BASE_URL": f"http://{HOST}:{port}", "RUN_WORKER_IN_PROCESS": "false"}
        argv_ = [venv_bin("cityservices"), "serve", "--host", HOST, "--port", str(port), "--workers", "1"]
        child = stack.spawn(f"service-profile-{port}", argv_, env)
        wait_ready(f"http://{HOST}:{port}/readyz", timeout=120, proc=child.proc)
        app_reqs = [(f"/v1/applications/{a}", {"Authorization": f"Bearer {t}"}) for t, a, _ in issued]
        ver_reqs = [(f"/v1/verify/{c}", {"X-Forwarded-For": f"10.8.0.{i}"}) for i, (_, _, c) in enumerate(issued)]
        log("statements per request (log_statement = all)")
        results["statements"] = {
            "application": statements(db, port, "application", app_reqs),
            "verify": statements(db, port, "verify", ver_reqs),
            "residence permit flow (upload + file + download)": issuance_census(stack, db, port, args),
        }
        psql(PG_ADMIN_URL, f'ALTER DATABASE "{db}" RESET log_statement')
        if not args.statements_only:
            profile_all(stack, child, argv_, env, port, db, issued, results, args)
    finally:
        stack.close()
        shutil.rmtree(stack.workdir, ignore_errors=True)
    return _report(results)


def _report(results: dict) -> int:
    out = RESULTS / f"profile-reads-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print()
    for name, st in results.get("statements", {}).items():
        print(f"statements per {name}: {st.get('total_per_request')}  {st.get('per_request')}")
    for name, r in results.get("profiles", {}).items():
        print(f"\n{name}: {r['server_cpu_ms_per_request']} ms CPU per request ({r['throughput_per_s']}/s under "
              f"py-spy), connections opened {r['connections_opened']}")  # fmt: skip
        for k, share, ms in r["components"]:
            print(f"  {100 * share:5.1f}%  {ms:6.3f} ms  {k}")
    log(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
