"""Verify an exported request log offline against signed checkpoints, trusting only our certificate:
`cityservices verify-export` (also `python scripts/verify_audit_export.py`).

    curl -H "Authorization: Bearer $AUDITOR" "$BASE/v1/audit/export?format=ndjson" > events.ndjson
    cityservices verify-export events.ndjson --trust cityservices-signing.pem --anchor "$AUDIT_ANCHOR_URL"

It recomputes every event's hash from its content and the previous hash, then holds the chain against
every checkpoint given: files (a JSON object such as `GET /v1/audit/checkpoints/latest` answers, or JSON
lines) and anchors (`--anchor file:///…`, `s3://bucket/prefix`, `nats://host:4222/stream`: where the
service appended each checkpoint, out of its database's reach). It names what it finds:

- truncation: the export ends before a checkpoint's position (the newest events were deleted);
- rewriting: an event does not match its hash or link, or the chain at a checkpoint's position is not
  the one signed (events altered, or cut and sealed again);
- deletion: positions missing inside the chain;
- a checkpoint not signed by the trusted certificate.

After months were archived (`cityservices audit-archive`), give each archive's directory with
`--archive DIR`: the archives and the live export are walked as one chain, and each archive's boundary
must join the next and be vouched for by a trusted checkpoint at or after it (app/audit/archive_check.py
names those problems: `archive_join_broken`, `archive_boundary_mismatch`, `archive_boundary_unsigned`).

Exit status 0 when all holds; 1 when anything does not; 2 for a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from app.audit import archive_check
from app.audit.anchors import CheckpointRecord, open_anchor
from app.audit.chain import GENESIS_HASH, event_hash


@dataclass
class Findings:
    events: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    hashes: dict[int, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    matched: list[str] = field(default_factory=list)
    # The positions whose hash is kept (the checkpoints'): a month is ~25 million events, too many to keep
    # every hash of. None keeps them all.
    watched: set[int] | None = None


def _fields(record: dict[str, Any]) -> dict[str, Any]:
    fields = dict(record)
    # The export writes times as JSON; the chain hashed them as ISO 8601 with microseconds.
    fields["occurred_at"] = datetime.fromisoformat(str(record["occurred_at"]).replace("Z", "+00:00"))
    return fields


def walk(
    lines: Iterable[str], *, after: tuple[int, str] = (0, GENESIS_HASH), found: Findings | None = None
) -> Findings:
    """The chain as exported, to its first break (a gap is a deletion, a bad link or hash a rewriting):
    from the first event, or after a known position and hash (an archive's boundary), adding to `found`."""
    found = found if found is not None else Findings()
    prev, expected = after[1], after[0] + 1
    found.head_seq, found.head_hash = after
    for line in lines:
        if not line.strip():
            continue
        record = json.loads(line)
        seq = record["seq"]
        found.events += 1
        if found.watched is None or seq in found.watched:
            found.hashes[seq] = record["hash"]
        if seq != expected:
            start = expected
            if seq > start:
                found.problems.append(
                    f"deletion: events {start}–{seq - 1} are missing (the export goes from {start - 1} to {seq})"
                )
            else:
                found.problems.append(f"rewriting: event {seq} appears where event {start} belongs (reordered)")
            return found
        if record["prev_hash"] != prev or event_hash(prev, _fields(record)) != record["hash"]:
            found.problems.append(f"rewriting: event {seq} does not match its hash or link (altered)")
            return found
        prev, expected = record["hash"], seq + 1
        found.head_seq, found.head_hash = seq, prev
    return found


def signature_ok(record: CheckpointRecord, trusted: x509.Certificate) -> bool:
    embedded = x509.load_pem_x509_certificate(record.certificate_pem.encode())
    if embedded.fingerprint(hashes.SHA256()) != trusted.fingerprint(hashes.SHA256()):
        return False
    signed_at = datetime.fromisoformat(record.signed_at.replace("Z", "+00:00")).isoformat()
    message = f"cityservices-audit-checkpoint\n{record.seq}\n{record.head_hash}\n{signed_at}".encode()
    try:
        signature = base64.b64decode(record.signature, validate=True)
    except ValueError:
        return False
    key = trusted.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


def hold(found: Findings, record: CheckpointRecord, source: str, trusted: list[x509.Certificate]) -> None:
    where = f"checkpoint at event {record.seq} signed {record.signed_at} ({source})"
    if not any(signature_ok(record, cert) for cert in trusted):
        found.problems.append(f"forged: {where} is not signed by a trusted certificate")
    elif record.seq > found.head_seq and not found.problems:
        missing = record.seq - found.head_seq
        found.problems.append(
            f"truncation: the export ends at event {found.head_seq}, but the {where} proves "
            f"events up to {record.seq} existed ({missing} missing from the end)"
        )
    elif record.seq in found.hashes and found.hashes[record.seq] != record.head_hash:
        found.problems.append(
            f"rewriting: event {record.seq} differs from the {where} (altered, or cut and sealed again)"
        )
    elif record.seq in found.hashes:
        found.matched.append(where)


def _checkpoint_file(path: Path) -> list[CheckpointRecord]:
    text = path.read_text(encoding="utf-8").strip()
    if not text or text == "null":
        return []
    if text.startswith("["):
        return [CheckpointRecord.from_json(json.dumps(item)) for item in json.loads(text)]
    try:
        return [CheckpointRecord.from_json(text)]
    except json.JSONDecodeError:
        return [CheckpointRecord.from_json(line) for line in text.splitlines() if line.strip()]


async def _anchored(url: str) -> list[CheckpointRecord]:
    anchor = open_anchor(url)
    assert anchor is not None
    try:
        return await anchor.read_all()
    finally:
        await anchor.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="cityservices verify-export", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("export", type=Path, help="NDJSON export of the whole log (GET /v1/audit/export)")
    parser.add_argument("checkpoints", type=Path, nargs="*", help="JSON files of signed checkpoints")
    parser.add_argument("--anchor", action="append", default=[], help="AUDIT_ANCHOR_URL to read checkpoints from")
    parser.add_argument("--trust", type=Path, action="append", help="PEM certificate(s) you trust (repeatable)")
    parser.add_argument(
        "--archive",
        type=Path,
        action="append",
        default=[],
        help="a directory `cityservices audit-archive` wrote (repeatable): walked before the export, joined to it",
    )
    args = parser.parse_args(argv)
    if (args.checkpoints or args.anchor or args.archive) and not args.trust:
        parser.error("--trust is required to check checkpoints")
    trusted = [cert for path in args.trust or [] for cert in x509.load_pem_x509_certificates(path.read_bytes())]
    archives = archive_check.ordered(args.archive)
    # The checkpoints first: the walk keeps the hashes at their positions only.
    sources: list[tuple[str, list[CheckpointRecord]]] = [
        (str(p), _checkpoint_file(p)) for p in [*args.checkpoints, *(a.checkpoints for a in archives)]
    ]
    unreadable = []
    for url in args.anchor:
        try:
            sources.append((url.split("?")[0], asyncio.run(_anchored(url))))
        except Exception as exc:  # an anchor that cannot be read proves nothing: say so, fail
            unreadable.append(f"anchor {url} could not be read: {exc}")
    found = Findings(watched={record.seq for _, records in sources for record in records})
    archive_check.walk_through(archives, args.export, found, lambda lines, after: walk(lines, after=after, found=found))
    walked_to_the_end = not found.problems
    if found.problems:
        print(f"chain: {found.events} events read, intact to event {found.head_seq}")
    else:
        print(f"chain intact: {found.events} events, head {found.head_hash}")
    found.problems += unreadable
    for source, records in sources:
        if not records:
            found.problems.append(f"no checkpoint in {source}")
        for record in records:
            hold(found, record, source, trusted)
    if walked_to_the_end:
        archive_check.hold_boundaries(
            found,
            archives,
            [record for _, records in sources for record in records],
            lambda record: any(signature_ok(record, cert) for cert in trusted),
        )
    for line in found.matched:
        print(f"matched: {line}")
    for line in found.problems:
        print(f"NOT INTACT: {line}")
    if found.problems:
        return 1
    checked = sum(len(records) for _, records in sources)
    print(f"intact: every event links and every one of {checked} checkpoints matches")
    return 0


if __name__ == "__main__":
    sys.exit(main())
