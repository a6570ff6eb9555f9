"""`cityservices verify-export EXPORT --archive DIR ...`: archived months and the live export walked as one
chain (app/audit/archive_format.py says what an archive holds).

Each archive must start where the one before it ended, hold its events from `first_seq` to `last_seq`
exactly, and the live export must start with the event after the last archive's boundary, linked to its
hash. A boundary counts only when a trusted signed checkpoint at or after it matches the chain walked
through it: the walk from the boundary reproducing that hash is what proves the boundary genuine. The
problems, each named by its code:

- `archive_join_broken`: an archive, or the live export, does not start where the chain before it ended;
- `archive_boundary_mismatch`: an archive's events do not end where its `boundary.json` says;
- `archive_boundary_unsigned`: no trusted checkpoint at or after the boundary matches the chain.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from app.audit.anchors import CheckpointRecord
from app.audit.archive_format import BOUNDARY_FILE, CHECKPOINTS_FILE, EVENTS_FILE, Boundary
from app.audit.chain import GENESIS_HASH


@dataclass(frozen=True)
class Archive:
    directory: Path
    boundary: Boundary

    @classmethod
    def read(cls, directory: Path) -> Archive:
        return cls(directory, Boundary.from_json((directory / BOUNDARY_FILE).read_text(encoding="utf-8")))

    @property
    def events(self) -> Path:
        return self.directory / EVENTS_FILE

    @property
    def checkpoints(self) -> Path:
        return self.directory / CHECKPOINTS_FILE

    @property
    def start(self) -> tuple[int, str]:
        return self.boundary.first_seq - 1, self.boundary.starts_after_hash

    @property
    def end(self) -> tuple[int, str]:
        return self.boundary.last_seq, self.boundary.last_hash


def ordered(directories: list[Path]) -> list[Archive]:
    return sorted((Archive.read(d) for d in directories), key=lambda a: a.boundary.first_seq)


def _lines(path: Path) -> Iterator[str]:
    """A file's lines as walked: an archive (a month is ~15 GB of NDJSON) is never held in memory whole."""
    with path.open(encoding="utf-8") as file:
        yield from file


def _first(path: Path) -> dict[str, object] | None:
    line = next((line for line in _lines(path) if line.strip()), None)
    return json.loads(line) if line is not None else None


class ChainWalk(Protocol):
    """What `app.audit.offline` walks with: its findings, and a walk that continues them after a position."""

    problems: list[str]
    head_seq: int
    head_hash: str
    hashes: dict[int, str]


Walk = Callable[[Iterable[str], tuple[int, str]], object]  # its findings are `found`, continued


def walk_through(archives: list[Archive], live: Path, found: ChainWalk, walk: Walk) -> tuple[int, str] | None:
    """Walk every archive, then the live export; the position the live export had to start after (None
    without archives). Stops at the first problem."""
    after: tuple[int, str] | None = None
    for archive in archives:
        if after is not None and archive.start != after:
            found.problems.append(
                f"archive_join_broken: {archive.directory} starts after event {archive.start[0]}, but the archive "
                f"before it ends at event {after[0]}"
            )
            return after
        walk(_lines(archive.events), archive.start)
        if found.problems:
            return after
        if (found.head_seq, found.head_hash) != archive.end:
            found.problems.append(
                f"archive_boundary_mismatch: {archive.directory} ends at event {found.head_seq}, but its "
                f"{BOUNDARY_FILE} says event {archive.end[0]}"
            )
            return after
        after = archive.end
    first = _first(live)
    if after is not None and first is not None and (first["seq"] != after[0] + 1 or first["prev_hash"] != after[1]):
        found.problems.append(
            f"archive_join_broken: the live export starts at event {first['seq']}, which does not link to the "
            f"archive's last event {after[0]}"
        )
        return after
    walk(_lines(live), after or (0, GENESIS_HASH))
    return after


def hold_boundaries(
    found: ChainWalk,
    archives: list[Archive],
    records: list[CheckpointRecord],
    genuine: Callable[[CheckpointRecord], bool],
) -> None:
    """Each boundary under a trusted checkpoint at or after it that matches the chain walked (only after a
    walk to the end: what a walk stopped short of says nothing about the boundaries)."""
    for archive in archives:
        last = archive.boundary.last_seq
        if not any(r.seq >= last and found.hashes.get(r.seq) == r.head_hash and genuine(r) for r in records):
            found.problems.append(
                f"archive_boundary_unsigned: the boundary at event {last} ({archive.directory}) is vouched for "
                "by no trusted signed checkpoint at or after it"
            )
