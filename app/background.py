"""The background loop, composed from the collaborators: retries of applications waiting on an agency
(and material requests left unanswered), a signed audit checkpoint every AUDIT_CHECKPOINT_SECONDS, and the
backlog gauges. Run in-process by `serve` or alone by `cityservices worker`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from app.api.collaborators import Collaborators
from app.audit.checkpoints import make_checkpoint
from app.stats.gauges import sample_backlogs, sample_breakers

logger = logging.getLogger("cityservices.worker")

POLL_SECONDS = 1.0
SAMPLE_SECONDS = 15.0  # how often the worker refreshes the backlog gauges its /metrics shows


async def run_forever(
    collaborators: Collaborators, *, poll_seconds: float = POLL_SECONDS, stop: asyncio.Event | None = None
) -> None:
    """Until cancelled, or until `stop` is set: then the pass under way finishes first (a drain)."""
    stop = stop or asyncio.Event()
    last_checkpoint = last_sample = 0.0
    while not stop.is_set():
        try:
            tried = await collaborators.worker.process_due()
            if time.monotonic() - last_checkpoint >= collaborators.settings.audit_checkpoint_seconds:
                await make_checkpoint(
                    uow=collaborators.uow, signer=collaborators.issuer.pdfs.signer, anchor=collaborators.anchor
                )
                last_checkpoint = time.monotonic()
            if time.monotonic() - last_sample >= SAMPLE_SECONDS:
                await sample_backlogs(collaborators.sessionmaker)
                await sample_breakers(collaborators.agencies)
                last_sample = time.monotonic()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("worker pass failed; trying again")
            tried = 0
        if not tried:
            with contextlib.suppress(TimeoutError):  # asyncio.timeout: wait_for can swallow a cancellation (3.11)
                async with asyncio.timeout(poll_seconds):
                    await stop.wait()
    logger.info("worker stopped: drained")
