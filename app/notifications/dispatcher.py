"""Delivering the outbox at least once: claim due events, send each to every sink, mark the outcome.

Each sink's state of each event is its own (app.notifications.models.SinkDelivery): a sink that received
an event is not sent it again when another sink fails and the event is retried, so a broker that is
down does not make webhook receivers get duplicates; a dead letter names the sinks that gave up.

A dispatcher runs in `cityservices worker`, and inside `serve` in development. Several may share one
outbox: a claim (app.notifications.repository.claim_due) leases its events, so no two dispatchers send
an event in the same round; a dispatcher that dies after sending but before marking leaves its events
due again when the lease ends, and they are sent again with the same `id` (receivers dedupe by it).
A failure is retried with exponential backoff and, after `max_attempts`, dead-lettered for an operator
(`cityservices notifications --failed`, `--replay ID`). The same loop writes expiry reminders and the
day-before reminders of appointments at a window, from the scans it is given.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.queue import Backoff
from app.db.uow import UnitOfWorkFactory
from app.notifications import outbox, repository
from app.notifications.broker import NatsSink, StreamLimits
from app.notifications.models import SKIPPED, OutboxEvent
from app.notifications.outbox import Announcement
from app.notifications.repository import SinkOutcome
from app.notifications.sinks import DeliveryFailed, Sink, WebhookSink
from app.observability import NOTIFICATIONS_DEAD_LETTERED, log_fields

logger = logging.getLogger("cityservices.notifications")

DELIVERIES = Counter("cityservices_notifications_total", "Notification delivery attempts", ["outcome"])
# An event's delivery: each sink that was sent it this round, with its error (None: received).
Attempt = dict[str, str | None]
# A reminder scan: given a session and the time, what is due to be announced now.
ReminderScan = Callable[[AsyncSession, datetime], Awaitable[list[Announcement]]]


@dataclass(frozen=True)
class DispatchPolicy:
    max_attempts: int = 12
    lease: timedelta = timedelta(seconds=60)
    batch: int = 50
    concurrency: int = 8
    backoff_base_s: float = 2.0
    backoff_max_s: float = 3600.0
    poll_seconds: float = 0.5
    # After a wake, the commits of the next few tens of ms join the same round: under load one claim,
    # one read of the sinks and one mark for several filings' notifications instead of one each.
    debounce_seconds: float = 0.05
    reminder_scan_seconds: float = 300.0

    def retry_delay(self, attempts: int) -> timedelta:
        """2 s, 4 s, 8 s … up to an hour, with jitter so a recovering receiver is not hit all at once."""
        return Backoff(self.backoff_base_s, self.backoff_max_s).delay(attempts)


@dataclass
class Dispatcher:
    sessionmaker: async_sessionmaker[AsyncSession]
    sinks: list[Sink]
    policy: DispatchPolicy = field(default_factory=DispatchPolicy)
    # What is due to be announced without a change to announce it (a certificate about to end, tomorrow's
    # appointments): scans the composition hands in, so that this package reads no domain's tables.
    reminders: Sequence[ReminderScan] = ()
    _task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)
    _wake: asyncio.Event | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # Each step of a round (the claim, the marks, a reminder scan) is a unit of work of its own: the
        # deliveries between them must not hold a transaction open.
        self._uow = UnitOfWorkFactory(self.sessionmaker)

    async def run_once(self, *, now: datetime | None = None) -> int:
        """One round: deliver every due event (up to a batch); return how many were tried."""
        now = now or datetime.now(UTC)
        async with self._uow() as work:
            events = await repository.claim_due(
                work.session, now=now, lease_until=now + self.policy.lease, limit=self.policy.batch
            )
            received = await repository.sinks_that_received(work.session, [e.id for e in events])
            await work.commit()
        if not events:
            return 0
        if not self.sinks:
            # Nowhere to send (no webhook, no broker): the feed still shows them; replayable later.
            async with self._uow() as work:
                await repository.mark_sent(work.session, [e.id for e in events], now=now, state=SKIPPED)
                await work.commit()
            return len(events)
        limit = asyncio.Semaphore(self.policy.concurrency)

        async def attempt(event: OutboxEvent) -> Attempt:
            async with limit:
                return await self._deliver(event, received=received[event.id])

        attempts = await asyncio.gather(*(attempt(e) for e in events))
        await self._mark(list(zip(events, attempts, strict=True)), now=datetime.now(UTC))
        return len(events)

    async def _deliver(self, event: OutboxEvent, *, received: set[str]) -> Attempt:
        """Send the event to each sink that has not received it, each on its own: one that fails keeps
        the event from none of the others."""
        payload = event.payload()
        attempt: Attempt = {}
        for sink in self.sinks:
            if sink.name in received:
                continue
            try:
                await sink.deliver(payload, sent_at=datetime.now(UTC))
            except DeliveryFailed as exc:
                logger.warning(
                    "notification not delivered",
                    extra=log_fields(
                        event_id=event.id, type=event.type, sink=sink.name, attempts=event.attempts, error=str(exc)
                    ),
                )
                attempt[sink.name] = str(exc)
            else:
                attempt[sink.name] = None
        return attempt

    async def _mark(self, attempts: list[tuple[OutboxEvent, Attempt]], *, now: datetime) -> None:
        delivered: list[int] = []
        outcomes: list[SinkOutcome] = []
        counted: list[tuple[str, list[str]]] = []  # each event's outcome, and the sinks that gave up on it
        async with self._uow() as work:
            for event, attempt in attempts:
                exhausted = event.attempts >= self.policy.max_attempts
                failed = {sink: error for sink, error in attempt.items() if error is not None}
                outcomes += [SinkOutcome(event.id, sink, error, dead=exhausted) for sink, error in attempt.items()]
                if not failed:
                    delivered.append(event.id)
                    counted.append(("delivered", []))
                    continue
                counted.append(("dead", list(failed)) if exhausted else ("retry", []))
                retry_at = None if exhausted else now + self.policy.retry_delay(event.attempts)
                error = "; ".join(f"{sink}: {message}" for sink, message in failed.items())
                await repository.mark_failed(work.session, event.id, error=error, retry_at=retry_at)
            await repository.record_sink_outcomes(work.session, outcomes, now=now)
            await repository.mark_sent(work.session, delivered, now=now)
            await work.commit()
        for outcome, dead_to in counted:
            DELIVERIES.labels(outcome).inc()
            for sink in dead_to:
                NOTIFICATIONS_DEAD_LETTERED.labels(sink).inc()

    async def remind(self, *, now: datetime | None = None) -> int:
        """Write what each reminder scan finds due (at most once each: their dedupe keys); how many."""
        now = now or datetime.now(UTC)
        written = 0
        for scan in self.reminders:
            # The scan and the writes are two units of work: on SQLite a transaction that read and then
            # writes can lose to another writer.
            async with self._uow() as work:
                due = await scan(work.session, now)
            written += await self._write_once(due)
        return written

    async def _write_once(self, announcements: list[Announcement]) -> int:
        written = 0
        async with self._uow() as work:
            for announcement in announcements:
                written += await repository.add_once(work.session, announcement.row())
            await work.commit()
        return written

    async def run_forever(self) -> None:
        self._wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        unsubscribe = outbox.on_outbox_commit(lambda: _ignore(loop.call_soon_threadsafe(self._wake_up)))
        last_scan = float("-inf")
        ready = False
        try:
            while True:
                tried = 0
                try:
                    if time.monotonic() - last_scan >= self.policy.reminder_scan_seconds:
                        await self.remind()
                        last_scan = time.monotonic()
                    tried = await self.run_once()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("notification round failed; trying again")
                if not ready:
                    ready = True
                    logger.info("notification dispatcher ready", extra=log_fields(sinks=[s.name for s in self.sinks]))
                if tried < self.policy.batch:  # a round short of a batch took everything due: no empty round after it
                    await self._wait_for_work()
        finally:
            unsubscribe()

    async def _wait_for_work(self) -> None:
        """Until a commit in this process writes to the outbox (then a debounce), or the poll's timeout (events
        of other processes, retries come due). A wake during the round that just ended returns at once: its
        event stays set until cleared here, just before the next round claims."""
        assert self._wake is not None
        woken = False
        with suppress(TimeoutError):  # asyncio.timeout: wait_for can swallow stop()'s cancellation (3.11)
            async with asyncio.timeout(self.policy.poll_seconds):
                await self._wake.wait()
                woken = True
        if woken:
            await asyncio.sleep(self.policy.debounce_seconds)
        self._wake.clear()

    def _wake_up(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run_forever(), name="notification-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for sink in self.sinks:
            await sink.aclose()


def _ignore(_: object) -> None:
    pass


def sinks_from(settings: Settings) -> list[Sink]:
    sinks: list[Sink] = []
    if settings.notify_webhook_url is not None:
        sinks.append(
            WebhookSink(
                str(settings.notify_webhook_url),
                secret=settings.notify_webhook_secret,
                timeout_s=settings.notify_timeout_seconds,
            )
        )
    if settings.notify_nats_url is not None:
        sinks.append(
            NatsSink(
                settings.notify_nats_url,
                secret=settings.notify_webhook_secret,
                timeout_s=settings.notify_timeout_seconds,
                limits=StreamLimits(
                    max_age_s=settings.notify_nats_max_age_seconds,
                    max_bytes=settings.notify_nats_max_bytes,
                    max_msgs=settings.notify_nats_max_msgs,
                ),
            )
        )
    return sinks


def build_dispatcher(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], reminders: Sequence[ReminderScan]
) -> Dispatcher:
    return Dispatcher(
        sessionmaker, sinks_from(settings), DispatchPolicy(max_attempts=settings.notify_max_attempts), reminders
    )
