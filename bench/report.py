"""The summary table of bench/run.py and the targets of issue 29, each a ratio from one run.

Each divisor is measured next to what it divides (bench/run.py's floor rounds): the floor's figure is the
mean of the round right before and the round right after the service's phase.

- reads: CPU per read ÷ CPU per request of the floor of an audited read (bench/floor_app.py), ≤ 1.5;
  the floor from the rounds either side of the reads;
- issuance: CPU per residence-permit flow ÷ the sum of its irreducible parts, ≤ 1.3. The parts: render
  + sign (the service's own PDF processes' CPU per flow, same phase), and from the rounds either side of
  the flows: four agency calls (the floor agency call's CPU less the floor app's `/ping`: the call, not
  the request around it), three audited requests (the floor of an audited read, whole) and ten more
  statements a filing must write (the floor's committed INSERT less its `/ping`);
- tail: the open loop's filing p99 ÷ one citizen's filing p50, ÷ the same ratio of the bare issuing
  endpoint (bench/floor_app.py `POST /issue`), ≤ 1.3;
- memory: the peak RSS of any service worker (serving, or the background `cityservices worker`), < 300 MB.
"""

from __future__ import annotations

from typing import Any

AGENCY_CALLS = 4  # per residence permit: the person, residence registrations, properties, leases
AUDITED_REQUESTS = 3  # upload, filing, download
STATEMENTS = 10  # material, application and its materials, certificate, outbox, their transactions


def _get(d: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _cpu(r: dict[str, Any], *path: str) -> float | None:
    value = _get(r, *path, "server_cpu_ms_per_flow")
    return float(value) if value is not None else None


READS_ROUNDS = ("after_flows", "after_reads")  # the floor rounds either side of the read phases
FLOWS_ROUNDS = ("before_flows", "after_flows")  # and of the residence permits' closed loop


def floor(r: dict[str, Any], kind: str, rounds: tuple[str, ...]) -> float | None:
    """The floor's CPU per request of `kind`, the mean over `rounds`; None if any is missing."""
    values = [_cpu(r, "floor", name, kind) for name in rounds]
    if any(v is None for v in values):
        return None
    return round(sum(v for v in values if v is not None) / len(values), 4)


def irreducible_parts(r: dict[str, Any]) -> dict[str, float] | None:
    """ms of CPU per residence-permit flow that no issuing flow on this stack can spend less on."""
    bare, read, write, agency = (floor(r, kind, FLOWS_ROUNDS) for kind in ("ping", "read", "write", "agency"))
    pdf = _get(r, "phases", "residence_permit", "pdf_processes_cpu_ms_per_flow")
    if None in (bare, read, write, agency, pdf):
        return None
    assert bare is not None and read is not None and write is not None and agency is not None
    return {
        "render + sign": float(pdf),
        f"{AGENCY_CALLS} agency calls": AGENCY_CALLS * (agency - bare),
        f"{AUDITED_REQUESTS} audited requests": AUDITED_REQUESTS * read,
        f"{STATEMENTS} statements": STATEMENTS * (write - bare),
    }


def _tail(p99: float | None, p50: float | None) -> tuple[float | None, str]:
    return _ratio(p99, p50), f"p99 {p99} ms / alone p50 {p50} ms"


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, op: str, limit: float, detail: str) -> None:
        holds = None if value is None else value <= limit if op == "<=" else value < limit
        out.append({"target": name, "value": value, "op": op, "limit": limit, "holds": holds, "detail": detail})

    read_floor = floor(r, "read", READS_ROUNDS)
    for phase, label in (("read_application", "GET /v1/applications/{id}"), ("verify_code", "GET /v1/verify/{code}")):
        cpu = _cpu(r, "phases", phase)
        add(
            f"reads: {label}, CPU / floor of a read",
            _ratio(cpu, read_floor),
            "<=",
            1.5,
            f"{cpu} ms vs {read_floor} ms",
        )

    flow = _cpu(r, "phases", "residence_permit")
    parts = irreducible_parts(r)
    total = round(sum(parts.values()), 3) if parts else None
    detail = ", ".join(f"{k} {v:.2f}" for k, v in parts.items()) if parts else "a reference is missing"
    add(
        "issuance: CPU per flow / its irreducible parts",
        _ratio(flow, total),
        "<=",
        1.3,
        f"{flow} ms vs {total} ms: {detail}",
    )

    ph, bare_tail = _get(r, "phases"), _get(r, "reference", "floor_issue_tail")
    ours, ours_detail = _tail(
        _get(ph, "open_loop", "steps", "file", "p99_ms"), _get(ph, "single_citizen", "steps", "file", "p50_ms")
    )
    bare, bare_detail = _tail(
        _get(bare_tail, "open", "steps", "flow", "p99_ms"), _get(bare_tail, "alone", "steps", "flow", "p50_ms")
    )
    add(
        f"tail at {_get(r, 'args', 'open_load') or 0.7:.0%}: filing p99/alone p50 / a bare issuing endpoint's",
        _ratio(ours, bare),
        "<=",
        1.3,
        f"ours {ours} ({ours_detail}), bare issuing endpoint {bare} ({bare_detail})",
    )
    server, server_detail = _tail(
        _get(ph, "open_loop", "server_file", "p99_ms"), _get(ph, "single_citizen", "server_file", "p50_ms")
    )
    if server is not None:
        add(
            "  (same, the filings as the service timed them)",
            _ratio(server, bare),
            "<=",
            1.3,
            f"ours {server} ({server_detail})",
        )

    peaks = list((_get(r, "memory", "peak_rss_mb_per_worker") or {}).values())
    add(
        "memory: peak RSS per worker (MB)",
        max(peaks) if peaks else None,
        "<",
        300,
        "every serving worker and the background worker, every 0.25 s",
    )
    return out


def _fmt(v: Any, digits: int = 1) -> str:
    if v is None:
        return "-"
    return f"{v:,.{digits}f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)


def table(r: dict[str, Any]) -> str:
    m = r.get("machine", {})
    lines = [
        f"cityservices benchmark {r.get('run_id')}: {m.get('cpus')} cores, load average at start "
        f"{m.get('loadavg_at_start')}, {r['args']['workers']} workers, {r['args']['people']:,} people, "
        f"wall {r.get('wall_s')} s",
    ]
    head = (
        f"{'flow':<40}{'per s':>10}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'fail':>7}"
        f"{'cpu ms':>9}{'kernel':>8}{'cores':>7}"
    )
    lines += ["", head, "-" * len(head)]

    def row(name: str, d: dict[str, Any] | None, step: str = "flow") -> None:
        if not d:
            return
        s = d.get("steps", {}).get(step, {})
        cpu = (
            f"{_fmt(d.get('server_cpu_ms_per_flow'), 3):>9}{_fmt(d.get('server_kernel_cpu_ms_per_flow'), 2):>8}"
            f"{_fmt(d.get('server_cores'), 2):>7}"
        )
        lines.append(
            f"{name:<40}{_fmt(d.get('throughput_per_s')):>10}{_fmt(s.get('p50_ms'), 2):>10}"
            f"{_fmt(s.get('p95_ms'), 2):>10}{_fmt(s.get('p99_ms'), 2):>10}"
            f"{sum(d.get('failures', {}).values()):>7}" + (cpu if step == "flow" else "")
        )

    ph = r.get("phases", {})
    row("residence permit (upload+file+pdf)", ph.get("residence_permit"))
    row("  of which file (decide+issue)", ph.get("residence_permit"), "file")
    row("read: GET /v1/applications/{id}", ph.get("read_application"))
    row("read: GET /v1/verify/{code}", ph.get("verify_code"))
    row("one citizen alone: residence permit", ph.get("single_citizen"))
    row("  of which file", ph.get("single_citizen"), "file")
    open_loop = ph.get("open_loop")
    if open_loop:
        row(f"open loop {open_loop.get('offered_rate_per_s')}/s offered", open_loop)
        row("  of which file", open_loop, "file")
    ref = r.get("reference", {})
    row("reference: bare FastAPI endpoint", ref.get("bare_endpoint"))
    for name, measured in (r.get("floor") or {}).items():
        for kind, label in (
            ("ping", "/ping"),
            ("read", "audited read"),
            ("write", "committed INSERT"),
            ("agency", "agency call"),
        ):
            row(f"floor {name}: {label}", measured.get(kind))
    tail = ref.get("floor_issue_tail") or {}
    row("reference: bare issuing endpoint, 32 users", tail.get("closed"))
    row("  one caller alone", tail.get("alone"))
    row("  open loop", tail.get("open"))
    naive = ref.get("naive_render_sign")
    if naive:
        lines.append(
            f"{'reference: naive render+sign loop':<40}{_fmt(naive['throughput_per_s']):>10}"
            f"{_fmt(naive['ms_per_document_per_process'], 2):>10}  ms per document per process"
            f"{'':>6}{_fmt(naive.get('cpu_ms_per_document'), 3):>9}"
        )
    lines.append(
        "cpu ms: CPU (user+sys) of all the server's processes per flow or request; kernel: its kernel part; "
        "cores: that CPU / wall time"
    )
    rp = ph.get("residence_permit") or {}
    if rp.get("workers_cpu_ms_per_flow") is not None:
        by = ("serving workers", "PDF processes", "background worker", "database", "simulators", "driver")
        keys = ("workers", "pdf_processes", "background_worker", "database", "simulators", "driver")
        lines.append(
            "CPU per residence-permit flow by process (ms): "
            + ", ".join(
                f"{name} {_fmt(rp.get(f'{key}_cpu_ms_per_flow'), 2)}" for name, key in zip(by, keys, strict=True)
            )
        )
    for key, name in (("residence_permit", "closed loop"), ("open_loop", "open loop")):
        d = ph.get(key) or {}
        if d.get("database_cores") is not None:
            parts = {
                p: d.get(f"{k}_cores")
                for p, k in (
                    ("service", "server"),
                    ("PostgreSQL", "database"),
                    ("simulators", "simulators"),
                    ("driver", "driver"),
                )
            }
            lines.append(
                f"cores busy, residence permits, {name}: "
                + ", ".join(f"{k} {_fmt(v, 2)}" for k, v in parts.items())
                + f"; together {_fmt(sum(v or 0 for v in parts.values()), 2)} of {m.get('cpus')}"
            )
    rounds = {name: _cpu(r, "floor", name, "read") for name in (r.get("floor") or {})}
    known = [v for v in rounds.values() if v]
    if known:
        lines.append(
            "the floor read in its rounds (ms): "
            + ", ".join(f"{name} {_fmt(v, 3)}" for name, v in rounds.items())
            + f"; the machine's pace moved {100 * (max(known) / min(known) - 1):.0f} % during the run"
        )
    lines += ["", f"{'target':<62}{'value':>8}  {'limit':<8}{'holds':<7}detail", "-" * 120]
    for t in r.get("targets", []):
        holds = {True: "yes", False: "NO", None: "n/a"}[t["holds"]]
        lines.append(
            f"{t['target']:<62}{_fmt(t['value'], 2):>8}  {t['op'] + ' ' + str(t['limit']):<8}{holds:<7}{t['detail']}"
        )
    for key, under in (("profile", "residence permits"), ("profile_reads", "the application read")):
        prof = r.get(key)
        if prof and "categories" in prof:
            lines += ["", f"profile under {under} ({prof['samples']} samples over the workers and PDF processes)"]
            lines += [f"  {pct:5.1f}%  {name}" for name, pct in prof["categories"]]
            lines += ["  top project functions (inclusive):"]
            lines += [f"  {pct:5.1f}%  {name}" for name, pct in prof["project_inclusive_top"][:12]]
    return "\n".join(lines)
