#!/usr/bin/env python3
"""Verify an exported request log offline, trusting only our signing certificate.

    curl -H "Authorization: Bearer $AUDITOR" "$BASE/v1/audit/export?format=ndjson" > events.ndjson
    curl -H "Authorization: Bearer $AUDITOR" "$BASE/v1/audit/checkpoints/latest" > checkpoint.json
    python scripts/verify_audit_export.py events.ndjson checkpoint.json --trust cityservices-signing.pem

It recomputes every event's hash from its content and the previous hash (the same canonical form as
app/audit/chain.py, repeated here so the script needs only the standard library and `cryptography`),
checks that the chain reaches the checkpoint's head, and that the checkpoint is signed by the trusted
certificate. Exit status 0 when all holds; otherwise 1 with the first problem.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

GENESIS = "0" * 64
CHAINED_FIELDS = (
    "seq",
    "occurred_at",
    "kind",
    "action",
    "outcome",
    "request_id",
    "actor_sub",
    "actor_role",
    "actor_station",
    "channel",
    "method",
    "route",
    "status_code",
    "latency_ms",
    "client_addr",
    "resource_type",
    "resource_id",
    "application_id",
    "subject_hash",
    "subject_masked",
    "agency",
    "dataset",
    "on_behalf_of",
    "details",
)


def _iso_utc(value: str) -> str:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat(timespec="microseconds")


def event_hash(prev_hash: str, record: dict) -> str:
    content = {name: record.get(name) for name in CHAINED_FIELDS}
    content["occurred_at"] = _iso_utc(content["occurred_at"])
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical).hexdigest()


def verify_chain(lines: list[str]) -> tuple[int, str, str | None]:
    """(events checked, head hash, problem or None)."""
    prev, expected_seq, checked = GENESIS, 1, 0
    for line in lines:
        if not line.strip():
            continue
        record = json.loads(line)
        checked += 1
        if record["seq"] != expected_seq:
            return checked, prev, f"event {record['seq']}: expected seq {expected_seq} (a gap or reordering)"
        if record["prev_hash"] != prev:
            return checked, prev, f"event {record['seq']}: prev_hash does not link to the event before"
        if event_hash(prev, record) != record["hash"]:
            return checked, prev, f"event {record['seq']}: content does not match its hash (altered)"
        prev, expected_seq = record["hash"], expected_seq + 1
    return checked, prev, None


def verify_checkpoint(checkpoint: dict, hashes_by_seq: dict[int, str], trusted: x509.Certificate) -> str | None:
    embedded = x509.load_pem_x509_certificate(checkpoint["certificate_pem"].encode())
    if embedded.fingerprint(hashes.SHA256()) != trusted.fingerprint(hashes.SHA256()):
        return "the checkpoint was signed with a certificate other than the trusted one"
    signed_at = _iso_utc(checkpoint["signed_at"]).replace(".000000", "")
    message = f"cityservices-audit-checkpoint\n{checkpoint['seq']}\n{checkpoint['head_hash']}\n{signed_at}".encode()
    signature = base64.b64decode(checkpoint["signature"])
    key = trusted.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        else:
            return "unsupported key type"
    except InvalidSignature:
        return "the checkpoint's signature does not verify"
    if hashes_by_seq.get(checkpoint["seq"]) != checkpoint["head_hash"]:
        return f"the export's event {checkpoint['seq']} does not have the checkpoint's head hash"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export", type=Path, help="NDJSON export of the whole log")
    parser.add_argument("checkpoint", type=Path, nargs="?", help="JSON of a signed checkpoint")
    parser.add_argument("--trust", type=Path, help="PEM of the certificate you trust (required with a checkpoint)")
    args = parser.parse_args(argv)
    lines = args.export.read_text(encoding="utf-8").splitlines()
    checked, head, problem = verify_chain(lines)
    if problem:
        print(f"NOT INTACT after {checked} events: {problem}")
        return 1
    print(f"chain intact: {checked} events, head {head}")
    if args.checkpoint:
        if not args.trust:
            parser.error("--trust is required to check a checkpoint")
        checkpoint = json.loads(args.checkpoint.read_text(encoding="utf-8"))
        by_seq = {json.loads(line)["seq"]: json.loads(line)["hash"] for line in lines if line.strip()}
        problem = verify_checkpoint(checkpoint, by_seq, x509.load_pem_x509_certificate(args.trust.read_bytes()))
        if problem:
            print(f"CHECKPOINT FAILS: {problem}")
            return 1
        print(f"checkpoint at event {checkpoint['seq']} signed by the trusted certificate and matched")
    return 0


if __name__ == "__main__":
    sys.exit(main())
