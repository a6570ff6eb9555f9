"""Keeps the pip-audit allow-list (.ci/pip-audit-allowlist.txt) honest.

The one accepted vulnerability, ecdsa's CVE-2024-23342, is accepted because our code never runs
python-ecdsa: python-jose uses its `cryptography` backend. That is checked here in a fresh
interpreter (the test process may have imported anything): build the app, mint an ES256 development
token, have the app verify it on a real request, and `ecdsa` must not have been imported.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWLIST = ROOT / ".ci" / "pip-audit-allowlist.txt"

_PROBE = textwrap.dedent(
    """
    import asyncio, sys, tempfile
    from pathlib import Path

    import httpx

    from app.auth.dev_keys import mint_dev_token
    from app.cli import _migrate
    from app.config import Settings
    from app.main import create_app

    data_dir = Path(tempfile.mkdtemp())
    settings = Settings(data_dir=data_dir, database_url=f"sqlite+aiosqlite:///{data_dir / 'probe.db'}",
                        environment="test")
    _migrate(settings)

    async def main() -> int:
        app = create_app(settings, start_worker=False)
        token = mint_dev_token(data_dir, issuer=settings.auth_issuer, audience=settings.auth_audience,
                               roles=["citizen"], id_number="330106198803120150", name="张伟")
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                ok = await client.get("/v1/applications", headers={"Authorization": f"Bearer {token}"})
                bad = await client.get("/v1/applications", headers={"Authorization": f"Bearer {token[:-4]}AAAA"})
        return ok.status_code * 1000 + bad.status_code

    codes = asyncio.run(main())
    import jose.backends
    print(codes, jose.backends.ECKey.__name__, sorted(m for m in sys.modules if m == "ecdsa" or m.startswith("ecdsa.")))
    """
)


def test_python_jose_never_runs_python_ecdsa() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    codes, backend, loaded = result.stdout.strip().splitlines()[-1].split(" ", 2)
    assert codes == "200401", f"the probe's token was not verified as expected: {codes}"
    assert backend == "CryptographyECKey", backend
    assert loaded == "[]", f"python-ecdsa was imported: {loaded}; the allow-list's reason no longer holds"


def test_every_allowlisted_vulnerability_says_why() -> None:
    entries = [
        line for line in ALLOWLIST.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")
    ]
    assert entries, "an empty allow-list needs no file"
    for line in entries:
        vuln_id, _, reason = line.partition("#")
        assert re.fullmatch(r"(CVE-\d{4}-\d+|GHSA(-[0-9a-z]{4}){3}|PYSEC-\d{4}-\d+)", vuln_id.strip()), line
        assert len(reason.strip()) > 10, f"say why {vuln_id.strip()} is accepted"
