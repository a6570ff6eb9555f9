"""An archive of the request log's old months, as `cityservices audit-archive` writes it and
`cityservices verify-export --archive` reads it: one directory holding

- `events.ndjson`: the archived events, exactly as `GET /v1/audit/export?format=ndjson` writes them;
- `checkpoints.jsonl`: the signed checkpoints among them and the first at or after the last one (the
  one that vouches for the boundary), as the anchors keep them;
- `boundary.json`: what the archive holds and where the live chain takes over.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

EVENTS_FILE, CHECKPOINTS_FILE, BOUNDARY_FILE = "events.ndjson", "checkpoints.jsonl", "boundary.json"


@dataclass(frozen=True)
class Boundary:
    """The archive's `boundary.json`."""

    before_month: str  # YYYY-MM: the months before it were archived
    first_seq: int  # the archive's first event
    starts_after_hash: str  # the hash its first event links to: the previous archive's last, or the genesis
    last_seq: int  # the archive's last event: the first live event links to it
    last_hash: str
    events: int
    partitions: tuple[str, ...]  # the detached tables
    archived_at: str

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "partitions": list(self.partitions)}, indent=2) + "\n"

    @classmethod
    def from_json(cls, data: str) -> Boundary:
        fields = json.loads(data)
        fields["partitions"] = tuple(fields["partitions"])
        return cls(**{name: fields[name] for name in cls.__dataclass_fields__})
