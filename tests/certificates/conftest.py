"""Builders and shared fixtures for the certificate tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.certificates.rendering import CertificateRenderer
from app.certificates.signing import PdfSigner, ensure_dev_signing_material
from tests.certificates.cert_builders import make_document


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
