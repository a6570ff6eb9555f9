"""py-spy over the service's worker processes, and a summary of where their CPU went.

`py-spy record --subprocesses --format raw` writes collapsed stacks ("frame;frame;... count"), which
speedscope (https://www.speedscope.app) and flamegraph.pl read as they are. The summary names the top
functions by self time, the project's functions by inclusive time, and coarse categories.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]*)(?::(?P<line>\d+))?\)$")

# First match wins, tested against the leaf-most frames first.
CATEGORIES = (
    ("pyhanko / asn1crypto (signing)", ("pyhanko", "asn1crypto", "app/certificates/signing.py")),
    ("reportlab / segno (rendering)", ("reportlab", "segno", "app/certificates/rendering.py")),
    ("cryptography / hashlib", ("cryptography", "hashlib")),
    ("python-jose (token verification)", ("jose/",)),
    ("asyncpg / SQLAlchemy (database)", ("asyncpg", "sqlalchemy")),
    ("httpx / httpcore / h11 (agency calls)", ("httpx", "httpcore", "h11", "anyio", "tenacity", "purgatory")),
    ("pydantic (validation, serialisation)", ("pydantic",)),
    ("multipart parsing", ("multipart",)),
    ("uvicorn / starlette / fastapi (HTTP)", ("uvicorn", "starlette", "fastapi", "httptools", "uvloop")),
    ("json", ("json/",)),
    ("prometheus_client", ("prometheus_client",)),
    ("logging", ("logging/",)),
    ("asyncio / threads", ("asyncio", "threading.py", "concurrent/futures")),
)


def py_spy() -> str | None:
    candidate = Path(sys.executable).with_name("py-spy")
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


def start_record(pid: int, out: Path, *, duration: int, rate: int = 100) -> subprocess.Popen[bytes] | None:
    exe = py_spy()
    if exe is None:
        return None
    return subprocess.Popen(
        [
            exe,
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--rate",
            str(rate),
            "--duration",
            str(duration),
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
            "--gil",  # only the thread holding the GIL: a thread waiting for it, or parked in a pool, is not work
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _parse(path: Path) -> Iterator[tuple[list[str], int]]:
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        yield frames, int(count)


def _short(frame: str) -> tuple[str, str]:
    m = _FRAME.match(frame)
    if not m:
        return frame, ""
    file = m.group("file")
    for marker in ("site-packages/", "/lib/python3.11/", "/work/main/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return m.group("func"), file


def summarize(path: Path, *, top: int = 15) -> dict[str, object]:
    self_time: Counter[str] = Counter()
    project: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    total = 0
    for frames, count in _parse(path):
        total += count
        shorts = [_short(f) for f in frames]
        func, file = shorts[-1] if shorts else ("?", "")
        self_time[f"{func} ({file})"] += count
        seen = set()
        for f, fl in shorts:
            if fl.startswith(("app/", "integrations/")):
                key = f"{f} ({fl})"
                if key not in seen:
                    seen.add(key)
                    project[key] += count
        category = "other"
        for _, fl in reversed(shorts):
            hit = next((name for name, needles in CATEGORIES if any(n in fl for n in needles)), None)
            if hit:
                category = hit
                break
        categories[category] += count

    def pct(counter: Counter[str], n: int) -> list[tuple[str, float]]:
        return [(k, round(100 * v / max(1, total), 1)) for k, v in counter.most_common(n)]

    return {
        "samples": total,
        "self_top": pct(self_time, top),
        "project_inclusive_top": pct(project, top + 10),
        "categories": pct(categories, len(CATEGORIES) + 1),
    }
