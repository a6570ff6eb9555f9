"""Rendering and signing, the CPU-heavy part of issuing, kept off the event loop.

With `processes` > 0 the work runs in a small pool of its own processes (spawned, not forked, so no
event-loop or thread state is inherited), so it neither holds the request loop's GIL nor is limited
to one core; with 0 it runs in threads of this process (tests, scripts)."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from app.certificates.rendering import CertificateDocument, CertificateRenderer
from app.certificates.signing import PdfSigner
from app.heap import freeze_startup_heap
from app.observability import PDF_POOL_QUEUE

logger = logging.getLogger("cityservices.certificates")

_process_renderer: CertificateRenderer | None = None
_process_signer: PdfSigner | None = None


def _init_process(font_file: Path | None, key_file: Path, cert_file: Path, tsa_url: str | None) -> None:
    global _process_renderer, _process_signer
    _process_renderer = CertificateRenderer(font_file=font_file)
    _process_signer = PdfSigner(key_file=key_file, cert_file=cert_file, tsa_url=tsa_url)
    freeze_startup_heap()


def _produce_in_process(doc: CertificateDocument) -> bytes:
    assert _process_renderer is not None and _process_signer is not None
    return _process_signer.sign(_process_renderer.render(doc), reason=f"{doc.title} {doc.serial}")


def _ready() -> bool:
    return _process_signer is not None


class PdfFactory:
    def __init__(
        self,
        *,
        font_file: Path | None,
        key_file: Path,
        cert_file: Path,
        processes: int,
        trusted_certs_file: Path | None = None,
        tsa_url: str | None = None,
    ) -> None:
        self._config = (font_file, key_file, cert_file, tsa_url)
        self._processes = processes
        # The signer here serves verification (trust roots, earlier keys included) and audit
        # checkpoints; with processes it signs no documents (the pool's processes do).
        self.signer = PdfSigner(
            key_file=key_file, cert_file=cert_file, trusted_certs_file=trusted_certs_file, tsa_url=tsa_url
        )
        self._renderer = CertificateRenderer(font_file=font_file) if processes == 0 else None
        self._executor = self._new_executor()

    def _new_executor(self) -> Executor:
        if self._processes == 0:
            return ThreadPoolExecutor(max_workers=2, thread_name_prefix="pdf")
        return ProcessPoolExecutor(
            max_workers=self._processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_process,
            initargs=self._config,
        )

    def _produce_in_thread(self, doc: CertificateDocument) -> bytes:
        assert self._renderer is not None
        return self.signer.sign(self._renderer.render(doc), reason=f"{doc.title} {doc.serial}")

    async def warm_up(self) -> None:
        """Start the pool's processes now, not on the first citizen's request."""
        if self._processes:
            await asyncio.get_running_loop().run_in_executor(self._executor, _ready)

    async def produce(self, doc: CertificateDocument) -> bytes:
        with PDF_POOL_QUEUE.track_inprogress():
            return await self._produce(doc)

    async def _produce(self, doc: CertificateDocument) -> bytes:
        loop = asyncio.get_running_loop()
        if self._processes == 0:
            return await loop.run_in_executor(self._executor, self._produce_in_thread, doc)
        try:
            return await loop.run_in_executor(self._executor, _produce_in_process, doc)
        except BrokenProcessPool:
            # A pool process died (OOM, a kill): replace the pool once rather than fail every issuance after.
            logger.error("PDF process pool broke; starting a new one")
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new_executor()
            return await loop.run_in_executor(self._executor, _produce_in_process, doc)

    async def aclose(self) -> None:
        # Wait for the pool's processes to exit: leaving spawned children to interpreter exit was seen
        # to hang the parent (and to orphan the children when the parent was then killed).
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)
