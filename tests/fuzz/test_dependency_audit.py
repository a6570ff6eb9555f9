"""Keeps the pip-audit allow-list (.ci/pip-audit-allowlist.txt) honest.

It is empty: the one vulnerability it used to accept (python-ecdsa's CVE-2024-23342) came with
python-jose, which PyJWT replaced. Checked here: the allow-list names nothing, neither package is
locked or installed, and, in a fresh interpreter (the test process may have imported anything),
building the app and verifying an ES256 token on a real request imports neither.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALLOWLIST = ROOT / ".ci" / "pip-audit-allowlist.txt"
GONE = ("python-jose", "ecdsa")

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
    print(codes, sorted({m.split(".")[0] for m in sys.modules} & {"jose", "ecdsa", "jwt"}))
    """
)


def _entries() -> list[str]:
    return [
        line
        for line in ALLOWLIST.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_the_allow_list_accepts_no_vulnerability() -> None:
    assert _entries() == [], "a vulnerability is allow-listed again: say why in the file, and here"


def test_any_future_allowlisted_vulnerability_would_have_to_say_why() -> None:
    # The rule .ci/run relies on, for the day an entry is needed: an advisory id, then `#` and a reason.
    for line in _entries():
        vuln_id, _, reason = line.partition("#")
        assert re.fullmatch(r"(CVE-\d{4}-\d+|GHSA(-[0-9a-z]{4}){3}|PYSEC-\d{4}-\d+)", vuln_id.strip()), line
        assert len(reason.strip()) > 10, f"say why {vuln_id.strip()} is accepted"


@pytest.mark.parametrize("lock", ["main.txt", "test.txt"])
def test_python_jose_and_ecdsa_are_not_locked(lock: str) -> None:
    pinned = {
        line.split("==")[0].strip().lower()
        for line in (ROOT / "requirements" / lock).read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith((" ", "#"))
    }
    assert "pyjwt" in pinned
    assert pinned.isdisjoint(GONE), pinned & set(GONE)


def test_python_jose_and_ecdsa_are_not_installed() -> None:
    for name in GONE:
        with pytest.raises(PackageNotFoundError):
            distribution(name)


def test_tokens_are_verified_with_pyjwt_alone() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    codes, loaded = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert codes == "200401", f"the probe's token was not verified as expected: {codes}"
    assert loaded == "['jwt']", f"expected PyJWT only, found {loaded}"
