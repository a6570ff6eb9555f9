"""The background loop, composed from the collaborators: retries of applications waiting on an agency
(and material requests left unanswered), a signed audit checkpoint every AUDIT_CHECKPOINT_SECONDS, the
deletion of uploads no application used within UNATTACHED_MATERIAL_HOURS, the request log's coming
months' partitions every hour (PostgreSQL), and the backlog gauges. Run
in-process by `serve` or alone by `cityservices worker`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from datetime import timedelta

from app.api.collaborators import Collaborators
from app.applications.reminders import expiring_certificates
from app.audit.checkpoints import make_checkpoint
from app.audit.partitions import ensure_partitions
from app.audit.sealing import Sealer
from app.certificates import repository as certificates
from app.clock import utc_now
from app.materials.retention import delete_unattached
from app.notifications.dispatcher import ReminderScan, build_dispatcher
from app.stations.announcements import tomorrows_appointments
from app.stats.gauges import sample_backlogs, sample_breakers
from app.worker_health import Heartbeat

logger = logging.getLogger("cityservices.worker")

POLL_SECONDS = 1.0
SAMPLE_SECONDS = 15.0  # how often the worker refreshes the backlog gauges its /metrics shows
RETENTION_SECONDS = 60.0  # how often it deletes materials no application used in time
# How often it makes sure this month's and the next two months' partitions of the request log exist: two
# months of slack, so hourly is plenty, and a worker restarted late still creates them in its first pass.
PARTITIONS_SECONDS = 3600.0
# What the notification dispatcher announces without a change to announce it.
REMINDERS: tuple[ReminderScan, ...] = (expiring_certificates, tomorrows_appointments)


async def run_forever(
    collaborators: Collaborators,
    *,
    poll_seconds: float = POLL_SECONDS,
    stop: asyncio.Event | None = None,
    heartbeat: Heartbeat | None = None,
) -> None:
    """Until cancelled, or until `stop` is set: then the pass under way finishes first (a drain).

    `heartbeat` is beaten at every turn of the loop (WORKER_HEALTH_PORT reports it)."""
    stop = stop or asyncio.Event()
    # Never done yet: the first pass does each. Not 0.0: `time.monotonic()` counts from the machine's boot,
    # and on a machine up for less than an hour the first pass skipped the hourly jobs (partitions, retention).
    last_checkpoint = last_sample = last_retention = last_partitions = float("-inf")
    while not stop.is_set():
        if heartbeat is not None:
            heartbeat.beat()
        try:
            tried = await collaborators.worker.process_due()
            if time.monotonic() - last_checkpoint >= collaborators.settings.audit_checkpoint_seconds:
                await make_checkpoint(
                    uow=collaborators.uow, signer=collaborators.issuer.pdfs.signer, anchor=collaborators.anchor
                )
                last_checkpoint = time.monotonic()
            if time.monotonic() - last_retention >= RETENTION_SECONDS:
                await delete_unattached(
                    uow=collaborators.uow,
                    audit=collaborators.audit,
                    storage=collaborators.storage,
                    now=utc_now(),
                    keep_for=timedelta(hours=collaborators.settings.unattached_material_hours),
                    other_holders=(certificates.holds_bytes,),
                )
                last_retention = time.monotonic()
            if time.monotonic() - last_partitions >= PARTITIONS_SECONDS:
                created = await ensure_partitions(collaborators.engine, now=utc_now())
                if created:
                    logger.info("request log partitions created: %s", ", ".join(created))
                last_partitions = time.monotonic()
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


async def work_until_stopped(collaborators: Collaborators, *, heartbeat: Heartbeat | None = None) -> None:
    """`cityservices worker`: the loop with its own sealer and notification dispatcher, until SIGTERM or
    Ctrl-C; then the collaborators are released."""
    # SIGTERM (docker stop, Kubernetes) drains like Ctrl-C: the current pass finishes, then cleanup.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # The worker's own events (and any a dead process left unsealed) are sealed here too.
    sealer = Sealer(collaborators.sessionmaker)
    sealer.start()
    dispatcher = build_dispatcher(collaborators.settings, collaborators.sessionmaker, REMINDERS)
    dispatcher.start()
    try:
        await run_forever(collaborators, stop=stop, heartbeat=heartbeat)
    finally:
        await dispatcher.stop()
        await sealer.stop()
        await collaborators.aclose()
