"""The PDF processes (app/certificates/pdf_pool.py, app/certificates/pdf_process.py): real child processes
over their pipes, as `cityservices serve` runs them: each document comes back as its own signed PDF, and a
process that dies, a request that goes away or an error in the child leaves the next document unharmed."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.certificates.pdf_inspection import inspect_pdf
from app.certificates.pdf_pool import PdfFactory
from app.certificates.rendering import CertificateDocument
from tests.certificates.cert_builders import make_document


def _numbered(n: int) -> CertificateDocument:
    return dataclasses.replace(make_document(), serial=f"JZZ-2026-{n:08d}")


@pytest.fixture
async def pdfs(signing_material: tuple[Path, Path]) -> AsyncIterator[PdfFactory]:
    key_file, cert_file = signing_material
    factory = PdfFactory(font_file=None, key_file=key_file, cert_file=cert_file, processes=2)
    await factory.warm_up()
    yield factory
    await factory.aclose()


async def _serials(factory: PdfFactory, pdfs: list[bytes]) -> list[str | None]:
    """The serial each PDF was signed for, each signature checked as ours."""
    reports = [await asyncio.to_thread(inspect_pdf, pdf, trust_roots=factory.signer.trust_roots) for pdf in pdfs]
    assert all(report.authentic for report in reports), reports
    return [report.serial for report in reports]


async def test_each_document_comes_back_as_its_own_signed_pdf(pdfs: PdfFactory) -> None:
    docs = [_numbered(n) for n in range(1, 9)]
    produced = await asyncio.gather(*(pdfs.produce(doc) for doc in docs))
    assert await _serials(pdfs, produced) == [doc.serial for doc in docs]


async def test_a_process_that_dies_is_replaced_and_the_document_still_issued(
    pdfs: PdfFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="cityservices.certificates")
    for process in [pdfs._idle.get_nowait() for _ in range(pdfs._idle.qsize())]:
        process.proc.kill()  # as the OOM killer would
        await process.proc.wait()
        pdfs._idle.put_nowait(process)
    produced = await asyncio.gather(*(pdfs.produce(_numbered(n)) for n in (11, 12, 13)))
    assert await _serials(pdfs, produced) == ["JZZ-2026-00000011", "JZZ-2026-00000012", "JZZ-2026-00000013"]
    assert "a PDF process exited (code -9); starting another" in caplog.messages


async def test_a_request_that_goes_away_leaves_no_answer_behind_for_the_next(pdfs: PdfFactory) -> None:
    gone = [asyncio.ensure_future(pdfs.produce(_numbered(n))) for n in (21, 22)]
    await asyncio.sleep(0.01)  # both documents are in the processes' hands
    for request in gone:
        request.cancel()
    produced = await asyncio.gather(*(pdfs.produce(_numbered(n)) for n in (23, 24, 25)))
    assert await _serials(pdfs, produced) == ["JZZ-2026-00000023", "JZZ-2026-00000024", "JZZ-2026-00000025"]


async def test_an_error_in_the_child_is_raised_here_and_the_process_goes_on(pdfs: PdfFactory) -> None:
    broken = dataclasses.replace(make_document(), issued_on=None)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        await pdfs.produce(broken)
    assert await _serials(pdfs, [await pdfs.produce(_numbered(31))]) == ["JZZ-2026-00000031"]
    assert pdfs._live == 2


async def test_a_process_that_cannot_start_says_why(signing_material: tuple[Path, Path], tmp_path: Path) -> None:
    key_file, cert_file = signing_material
    factory = PdfFactory(font_file=tmp_path / "missing.ttf", key_file=key_file, cert_file=cert_file, processes=1)
    with pytest.raises(Exception, match="missing.ttf"):
        await factory.warm_up()
    assert factory._live == 0
    await factory.aclose()
