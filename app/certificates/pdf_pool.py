"""Rendering and signing, the CPU-heavy part of issuing, kept off the event loop.

With `processes` > 0 the work runs in that many PDF processes of this serving process
(app/certificates/pdf_process.py), each spoken to over its stdin and stdout by the event loop itself: no
helper thread of ours needs the GIL to hand a document over or to take a PDF back. (A ProcessPoolExecutor
hands over through two such threads; while the loop was busy they waited the GIL's switch interval at each
step: a hand-off of 8 ms of work took 60 ms at the median, 1.8 s at the 90th percentile, against 11 ms over
the pipes; docs/perf/2026-12-07-pdf-pipes.md.) With 0 it runs in threads of this process (tests, scripts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from app.certificates import pdf_process
from app.certificates.rendering import CertificateDocument, CertificateRenderer
from app.certificates.signing import PdfSigner
from app.observability import PDF_POOL_QUEUE

logger = logging.getLogger("cityservices.certificates")

STOP_SECONDS = 10.0  # for a PDF process to finish its document and exit once its stdin is closed
# What a process that died (OOM, a kill) leaves its reader and writer with.
_GONE = (asyncio.IncompleteReadError, BrokenPipeError, ConnectionResetError)


class PdfProcessFailed(RuntimeError):
    """A PDF process could not start (its key, its font) or could not be reached."""


class _PdfProcess:
    """One child process and its pipes; one document at a time."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, config: tuple[Any, ...]) -> _PdfProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            pdf_process.__name__,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        process = cls(proc)
        try:
            ok, error = await process.exchange(config)  # answered once its renderer and signer are ready
        except BaseException:
            await process.discard()
            raise
        if not ok:
            await process.discard()
            raise error
        return process

    async def exchange(self, request: Any) -> tuple[bool, Any]:
        """Send one frame; the answer: (True, the value) or (False, the exception the child raised)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(pdf_process.frame(request))
        await self.proc.stdin.drain()
        (size,) = pdf_process.HEADER.unpack(await self.proc.stdout.readexactly(pdf_process.HEADER.size))
        answer: tuple[bool, Any] = pickle.loads(await self.proc.stdout.readexactly(size))
        return answer

    async def discard(self) -> None:
        """Kill it whatever it holds, and reap it."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        await self.proc.wait()

    async def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), STOP_SECONDS)
        except TimeoutError:
            await self.discard()


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
        self._threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pdf") if processes == 0 else None
        # The processes belong to the event loop that starts them (their pipes are its transports): one
        # factory serves one loop, the lifespan's or a command's.
        self._idle: asyncio.Queue[_PdfProcess] = asyncio.Queue()
        self._live = 0  # started and not known dead: idle, or working on a document
        self._exchanges: set[asyncio.Task[bytes]] = set()

    async def warm_up(self) -> None:
        """Start the PDF processes now, not on the first citizen's request."""
        while self._live < self._processes:
            self._idle.put_nowait(await self._add())

    async def produce(self, doc: CertificateDocument) -> bytes:
        with PDF_POOL_QUEUE.track_inprogress():
            if self._threads is not None:
                return await asyncio.get_running_loop().run_in_executor(self._threads, self._produce_in_thread, doc)
            # Shielded: a request that goes away must not leave half an answer in a process's pipe.
            exchange = asyncio.ensure_future(self._produce_in_process(doc))
            self._exchanges.add(exchange)
            exchange.add_done_callback(self._exchanges.discard)
            return await asyncio.shield(exchange)

    def _produce_in_thread(self, doc: CertificateDocument) -> bytes:
        assert self._renderer is not None
        return pdf_process.produce(self._renderer, self.signer, doc)

    async def _produce_in_process(self, doc: CertificateDocument) -> bytes:
        process = await self._take()
        healthy = False
        try:
            try:
                ok, value = await process.exchange(doc)
            except _GONE:
                # A PDF process died: replace it, and try this document once on the new one.
                await process.discard()
                logger.error("a PDF process exited (code %s); starting another", process.proc.returncode)
                process = await self._start()
                ok, value = await process.exchange(doc)
            healthy = True
        except _GONE as exc:
            raise PdfProcessFailed("the PDF process exited while working on the document") from exc
        finally:
            await self._give_back(process, healthy=healthy)
        if not ok:
            raise value  # the child's own error (a timestamp authority down, ...); the process goes on
        pdf: bytes = value
        return pdf

    async def _take(self) -> _PdfProcess:
        if self._idle.empty() and self._live < self._processes:
            return await self._add()
        return await self._idle.get()

    async def _add(self) -> _PdfProcess:
        """One more process, counted as live from the moment it is asked for."""
        self._live += 1
        try:
            return await self._start()
        except BaseException:
            self._live -= 1
            raise

    async def _give_back(self, process: _PdfProcess, *, healthy: bool) -> None:
        if healthy:
            self._idle.put_nowait(process)
            return
        self._live -= 1
        await process.discard()  # whatever it holds (half a frame) must not reach the next document

    async def _start(self) -> _PdfProcess:
        try:
            return await _PdfProcess.start(self._config)
        except _GONE as exc:
            raise PdfProcessFailed("a PDF process exited as it started (see its log above)") from exc

    async def aclose(self) -> None:
        # Wait for the documents under way, then close each process's stdin: it exits after its document.
        if self._exchanges:
            await asyncio.wait(set(self._exchanges), timeout=STOP_SECONDS)
        if self._threads is not None:
            await asyncio.to_thread(self._threads.shutdown, wait=True, cancel_futures=True)
        processes = []
        while not self._idle.empty():
            processes.append(self._idle.get_nowait())
        self._live -= len(processes)
        await asyncio.gather(*(p.stop() for p in processes))
