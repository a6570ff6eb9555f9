"""Builders and shared fixtures for the certificate tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Until the project is installed into the venv (or pytest gets `pythonpath`), make `app` importable
# when pytest is run as `pytest tests/certificates` from the repository root.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from cert_builders import make_document

from app.certificates.rendering import CertificateRenderer
from app.certificates.signing import PdfSigner, ensure_dev_signing_material


@pytest.fixture(scope="session")
def renderer() -> CertificateRenderer:
    return CertificateRenderer()


@pytest.fixture(scope="session")
def signing_material(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return ensure_dev_signing_material(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def signer(signing_material: tuple[Path, Path]) -> PdfSigner:
    key_file, cert_file = signing_material
    return PdfSigner(key_file=key_file, cert_file=cert_file)


@pytest.fixture(scope="session")
def unsigned_pdf(renderer: CertificateRenderer) -> bytes:
    return renderer.render(make_document())


@pytest.fixture(scope="session")
def signed_pdf(signer: PdfSigner, unsigned_pdf: bytes) -> bytes:
    return signer.sign(unsigned_pdf)
