"""Fail loudly, naming the module, if a private API we lean on changes shape (pyproject.toml bounds these
libraries; a new release that passes here may be allowed by raising the bound and `scripts/lock.sh`)."""

from __future__ import annotations

import inspect
import re
import tomllib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parents[2]


def test_pyhanko_still_translates_a_pyca_key_to_asn1():
    from asn1crypto import keys
    from pyhanko.keys.internal import translate_pyca_cryptography_key_to_asn1

    translated = translate_pyca_cryptography_key_to_asn1(ec.generate_private_key(ec.SECP256R1()))
    assert isinstance(translated, keys.PrivateKeyInfo), "pyhanko.keys.internal changed: see app/certificates/signing.py"


def test_pyhanko_async_sign_still_takes_the_arguments_our_override_passes_on():
    from pyhanko.sign import signers

    from app.certificates.cms_signer import CachedKeySigner

    theirs = inspect.signature(signers.SimpleSigner.async_sign).parameters
    ours = inspect.signature(CachedKeySigner.async_sign).parameters
    assert list(theirs) == list(ours), (
        "pyHanko's Signer.async_sign changed its parameters; review CachedKeySigner.async_sign in "
        f"app/certificates/cms_signer.py (theirs: {list(theirs)})"
    )
    assert inspect.iscoroutinefunction(signers.SimpleSigner.async_sign)


def test_pyhanko_signed_attribute_settings_still_have_the_fields_we_check():
    from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

    fields = set(inspect.signature(PdfCMSSignedAttributes).parameters)
    assert {"adobe_revinfo_attr", "cades_signed_attrs"} <= fields, fields


def test_purgatory_still_raises_its_opened_state_and_keeps_a_context():
    from purgatory import AsyncCircuitBreakerFactory
    from purgatory.domain.model import OpenedState

    assert issubclass(OpenedState, Exception)
    parameters = inspect.signature(AsyncCircuitBreakerFactory).parameters
    assert {"default_threshold", "default_ttl", "exclude"} <= set(parameters)


async def test_purgatory_breaker_context_still_has_state_and_opened_at():
    from integrations.breaker import CircuitBreaker

    breaker = CircuitBreaker(name="shape", threshold=1, reset_s=60, counts=(OSError,))
    with pytest.raises(OSError):
        async with breaker.guard():
            raise OSError("down")
    assert await breaker.state() == "opened"


def test_sniffio_is_what_httpcore_asks_on_every_request():
    # Why sniffio stays declared though our code never imports it (pyproject.toml): without it this import
    # fails, uncached, on every connection httpcore hands out.
    import httpcore._synchronization as sync

    assert "import sniffio" in inspect.getsource(sync.current_async_library)


def test_reportlab_renders_with_its_c_accelerators():
    # Why pyproject.toml asks for reportlab[accel]: without rl_accel these fall back to pure Python.
    from reportlab.lib import rl_accel

    assert inspect.isbuiltin(rl_accel.calcChecksum) and inspect.isbuiltin(rl_accel.fp_str)


def _pins(path: Path) -> dict[str, str]:
    return {
        m[0].lower().replace("_", "-"): m[1]
        for m in re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+) \\$", path.read_text(), re.MULTILINE)
    }


def _declared(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


@pytest.mark.parametrize(("lock", "extras"), [("main.txt", ()), ("test.txt", ("test", "demo"))])
def test_the_lock_covers_every_declared_dependency(lock, extras):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = _declared(project["dependencies"] + [r for e in extras for r in project["optional-dependencies"][e]])
    pinned = _pins(ROOT / "requirements" / lock)
    missing = sorted(declared - set(pinned))
    assert missing == [], f"requirements/{lock} lacks {missing}: run `bash scripts/lock.sh` and commit"
    assert all("--hash=sha256:" in block for block in (ROOT / "requirements" / lock).read_text().split("==")[1:])
