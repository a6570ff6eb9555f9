"""Micro-benchmarks of the hot pieces (pytest-benchmark). Not part of the test suite (`tests/` only):

    pytest bench/micro -p no:xdist --benchmark-sort=mean [--benchmark-json bench/results/micro.json]

Each measures one piece on one core, as the service calls it: rendering, signing (and pyHanko's naive
defaults for comparison), address normalisation, token verification, the audit append (record +
commit on a SQLite temp DB).
"""

from __future__ import annotations

import asyncio
import io
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.auth.dev_keys import ensure_dev_keys, mint_dev_token
from app.auth.jwks import StaticJwks
from app.auth.tokens import TokenVerifier
from app.certificates.rendering import CertificateRenderer
from app.certificates.signing import PdfSigner, ensure_dev_signing_material
from app.identity.address import normalize_address
from bench.naive import document

ADDRESSES = [
    "上海市长宁区虹桥路1号5号楼301室",
    "上海长宁区虹桥路１号５号楼３０１室",
    "上海市浦东新区世纪大道一百号二十三号楼三〇一室",
    "上海市  静安区 南京西路1266弄 05号 0301室",
    "上海市徐汇区漕溪北路（近南丹路）88号A座12层",
    "上海市闵行区七莘路3000弄12号1602室。",
]


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def signing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    key_file, cert_file = ensure_dev_signing_material(tmp_path_factory.mktemp("signing"))
    return key_file, cert_file


@pytest.fixture(scope="module")
def renderer() -> CertificateRenderer:
    return CertificateRenderer()


def test_render(benchmark: Any, renderer: CertificateRenderer) -> None:
    counter = itertools.count()
    pdf = benchmark(lambda: renderer.render(document(next(counter))))
    assert pdf.startswith(b"%PDF-")


def test_sign(benchmark: Any, renderer: CertificateRenderer, signing: tuple[Path, Path]) -> None:
    signer = PdfSigner(key_file=signing[0], cert_file=signing[1])
    pdf = renderer.render(document(1))
    signed = benchmark(signer.sign, pdf)
    assert len(signed) > len(pdf)


def test_sign_pyhanko_defaults_naive(benchmark: Any, renderer: CertificateRenderer, signing: tuple[Path, Path]) -> None:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    naive = signers.SimpleSigner.load(str(signing[0]), str(signing[1]))
    meta = signers.PdfSignatureMetadata(field_name="Signature", subfilter=fields.SigSeedSubFilter.PADES)
    pdf = renderer.render(document(1))

    def sign() -> bytes:
        return bytes(signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=naive).getvalue())

    benchmark.pedantic(sign, rounds=30, warmup_rounds=2)


def test_render_and_sign(benchmark: Any, renderer: CertificateRenderer, signing: tuple[Path, Path]) -> None:
    signer = PdfSigner(key_file=signing[0], cert_file=signing[1])
    counter = itertools.count()
    benchmark(lambda: signer.sign(renderer.render(document(next(counter)))))


def test_normalize_address(benchmark: Any) -> None:
    def all_six() -> list[str]:
        return [normalize_address(a) for a in ADDRESSES]

    out = benchmark(all_six)
    assert out[0] == out[1]


def test_token_verification(benchmark: Any, loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    jwks_path = ensure_dev_keys(tmp_path)
    verifier = TokenVerifier(keys=StaticJwks.from_file(jwks_path), issuer="cityservices-dev", audience="cityservices")
    token = mint_dev_token(
        tmp_path,
        issuer="cityservices-dev",
        audience="cityservices",
        roles=["citizen"],
        id_number="330106198803120150",
        name="张伟",
    )
    claims = benchmark(lambda: loop.run_until_complete(verifier.verify(token)))
    assert claims["id_number"] == "330106198803120150"


def test_audit_append(benchmark: Any, loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    """One request event added to a unit of work, then its commit (insert, commit; sealed later) on SQLite."""
    import app.models  # noqa: F401  (every table on the metadata)
    from app.audit.models import EVENTS_TABLE, insert_row
    from app.db.base import Base
    from app.db.session import create_engine, create_sessionmaker
    from app.db.uow import UnitOfWork

    engine = create_engine(f"sqlite+aiosqlite:///{Path(tmp_path) / 'audit.db'}")

    async def setup() -> None:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)

    loop.run_until_complete(setup())
    maker = create_sessionmaker(engine)

    async def append() -> None:
        async with maker() as session:
            work = UnitOfWork(session)
            event = {
                "kind": "request",
                "action": "application.read",
                "outcome": "success",
                "request_id": "bench",
                "actor_sub": "dev-0123456789abcdef",
                "actor_role": "citizen",
                "channel": "online",
                "method": "GET",
                "route": "/v1/applications/{application_id}",
                "status_code": 200,
                "latency_ms": 3.2,
                "client_addr": "127.0.0.1",
                "occurred_at": datetime.now(UTC),
            }
            work.add_event(EVENTS_TABLE, insert_row(event))
            await work.commit()

    benchmark(lambda: loop.run_until_complete(append()))
    loop.run_until_complete(engine.dispose())
