"""`cityservices verify-credential`: check a wallet credential as a verifier would (docs/sharing.md).

    cityservices verify-credential credential.sd-jwt --issuer https://city.example
    curl -s ... | cityservices verify-credential - --vct urn:cityservices:vct:residence-permit

Reads the SD-JWT VC (a file, or `-` for standard input), fetches the issuer's keys and the status list over
HTTP(S), and prints the verdict as JSON: `valid`, the `problem` code when not, the disclosed `claims` and
the `status`. Exit status 0 when valid, 1 when not, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

import httpx

from app.credentials.verifier import verify_credential

DEFAULT_ISSUER = "http://127.0.0.1:8000"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cityservices verify-credential",
        description="Verify an SD-JWT VC certificate: signature, disclosures, vct, expiry and status list.",
    )
    parser.add_argument("credential", help="file holding the SD-JWT VC, or - for standard input")
    parser.add_argument(
        "--issuer",
        action="append",
        help="an issuer to trust (repeatable); default PUBLIC_BASE_URL, else " + DEFAULT_ISSUER,
    )
    parser.add_argument("--vct", help="the credential type expected, e.g. urn:cityservices:vct:residence-permit")
    parser.add_argument("--audience", help="holder-bound credentials: the KB-JWT's expected aud")
    parser.add_argument("--nonce", help="holder-bound credentials: the KB-JWT's expected nonce")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds for each HTTP fetch (default 10)")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    text = sys.stdin.read() if args.credential == "-" else Path(args.credential).read_text(encoding="ascii")
    issuers = args.issuer or [os.environ.get("PUBLIC_BASE_URL", DEFAULT_ISSUER)]

    async def run() -> int:
        async with httpx.AsyncClient(timeout=args.timeout, follow_redirects=False) as http:
            check = await verify_credential(
                text,
                http=http,
                trusted_issuers=issuers,
                expected_vct=args.vct,
                audience=args.audience,
                nonce=args.nonce,
            )
        print(json.dumps(check.as_dict(), ensure_ascii=False, indent=2))
        return 0 if check.valid else 1

    return asyncio.run(run())
