"""Each sink's delivery state is its own: a real webhook receiver and the real NATS JetStream on this
machine, one of them failing; dead letters counted per sink; the stream's limits; Standard Webhooks."""

from __future__ import annotations

import base64
import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import nats
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from app.config import Settings
from app.notifications.broker import NatsSink, StreamLimits
from app.notifications.dispatcher import Dispatcher, DispatchPolicy, sinks_from
from app.notifications.models import SinkDelivery
from app.notifications.sinks import WebhookSink
from tests.notifications.receiver import Receiver
from tests.notifications.test_notification_delivery import add_events, later, state_of
from tests.servers import CITYSERVICES, nats_is_up

NATS_URL = "nats://127.0.0.1:4222"
BROKER_DOWN = "nats://127.0.0.1:1"  # nothing listens there
SECRET = "test-webhook-secret-0123456789"
QUICK = DispatchPolicy(backoff_base_s=0.01, backoff_max_s=0.02, lease=timedelta(seconds=30))

needs_nats = pytest.mark.skipif(not nats_is_up(), reason="no NATS server on 127.0.0.1:4222")


@pytest.fixture
async def stream() -> AsyncIterator[tuple[str, str]]:
    """A stream and subject of this test's own, deleted afterwards."""
    tag = uuid.uuid4().hex[:10]
    name, subject = f"CITYSERVICES_TEST_{tag}", f"cityservices-test.{tag}"
    yield name, subject
    client = await nats.connect(NATS_URL)
    try:
        await client.jetstream().delete_stream(name)
    except nats.js.errors.NotFoundError:
        pass
    finally:
        await client.close()


def webhook(receiver: Receiver) -> WebhookSink:
    return WebhookSink(receiver.url, secret=SECRET, timeout_s=5)


async def stream_messages(name: str) -> int:
    client = await nats.connect(NATS_URL)
    try:
        return int((await client.jetstream().stream_info(name)).state.messages)
    finally:
        await client.close()


async def sink_states(collaborators, event_id: int) -> dict[str, tuple[str, int]]:
    async with collaborators.sessionmaker() as session:
        rows = await session.execute(select(SinkDelivery).where(SinkDelivery.event_id == event_id))
        return {row.sink: (row.state, row.attempts) for row in rows.scalars()}


def dead_lettered(sink: str) -> float:
    return REGISTRY.get_sample_value("cityservices_notifications_dead_lettered_total", {"sink": sink}) or 0.0


@needs_nats
async def test_while_the_broker_is_down_the_webhook_gets_each_event_once_and_the_broker_gets_it_when_back(
    collaborators, stream
):
    name, subject = stream
    [event_id] = await add_events(collaborators, 1)
    with Receiver() as receiver:
        broker_down = Dispatcher(
            collaborators.sessionmaker, [webhook(receiver), NatsSink(BROKER_DOWN, secret=SECRET, timeout_s=0.3)], QUICK
        )
        try:
            assert await broker_down.run_once() == 1
            assert await broker_down.run_once(now=later()) == 1
            assert await broker_down.run_once(now=later(2)) == 1
        finally:
            await broker_down.stop()
        # Three attempts, and the webhook was sent the event once: the retries were the broker's alone.
        assert receiver.ids() == [event_id]
        assert await sink_states(collaborators, event_id) == {"webhook": ("sent", 1), "nats": ("failed", 3)}
        event = await state_of(collaborators, event_id)
        assert (event.state, event.attempts) == ("pending", 3) and event.last_error.startswith("nats:")

        broker_back = Dispatcher(
            collaborators.sessionmaker,
            [webhook(receiver), NatsSink(NATS_URL, secret=SECRET, timeout_s=2, subject=subject, stream=name)],
            QUICK,
        )
        try:
            assert await broker_back.run_once(now=later(3)) == 1
        finally:
            await broker_back.stop()
        assert receiver.ids() == [event_id]  # still once
    assert await stream_messages(name) == 1
    assert (await state_of(collaborators, event_id)).state == "sent"
    assert await sink_states(collaborators, event_id) == {"webhook": ("sent", 1), "nats": ("sent", 4)}


@needs_nats
async def test_a_dead_letter_is_counted_for_the_sink_that_gave_up_and_a_replay_goes_to_that_sink_only(
    collaborators, settings, stream
):
    name, subject = stream
    [event_id] = await add_events(collaborators, 1)
    policy = DispatchPolicy(max_attempts=2, backoff_base_s=0.01, backoff_max_s=0.02)
    nats_before, webhook_before = dead_lettered("nats"), dead_lettered("webhook")
    with Receiver() as receiver:
        d = Dispatcher(
            collaborators.sessionmaker, [webhook(receiver), NatsSink(BROKER_DOWN, secret=None, timeout_s=0.3)], policy
        )
        try:
            await d.run_once()
            await d.run_once(now=later())
        finally:
            await d.stop()
        assert (await state_of(collaborators, event_id)).state == "dead"
        assert (dead_lettered("nats"), dead_lettered("webhook")) == (nats_before + 1, webhook_before)

        env = {
            "DATABASE_URL": settings.resolved_database_url,
            "DATA_DIR": str(settings.data_dir),
            "PATH": "/usr/bin:/bin",
        }
        listed = subprocess.run(
            [*CITYSERVICES, "notifications", "--failed"], env=env, capture_output=True, text=True, timeout=60
        )
        assert listed.returncode == 0, listed.stderr
        [line] = [json.loads(text) for text in listed.stdout.splitlines()]
        assert (line["id"], line["undelivered_to"]) == (event_id, ["nats"])
        replayed = subprocess.run(
            [*CITYSERVICES, "notifications", "--replay", str(event_id)], env=env, capture_output=True, text=True
        )
        assert replayed.returncode == 0, replayed.stderr

        d = Dispatcher(
            collaborators.sessionmaker,
            [webhook(receiver), NatsSink(NATS_URL, secret=None, timeout_s=2, subject=subject, stream=name)],
            policy,
        )
        try:
            assert await d.run_once() == 1
        finally:
            await d.stop()
        assert receiver.ids() == [event_id]
    assert await stream_messages(name) == 1
    assert (await state_of(collaborators, event_id)).state == "sent"


@needs_nats
async def test_the_stream_is_created_within_the_limits_and_an_unbounded_one_is_brought_within_them(
    collaborators, stream
):
    name, subject = stream
    limits = StreamLimits(max_age_s=3600, max_bytes=1024 * 1024, max_msgs=100)
    client = await nats.connect(NATS_URL)
    try:
        js = client.jetstream()
        await js.add_stream(name=name, subjects=[f"{subject}.>"])  # as earlier releases made it: unbounded
        assert (await js.stream_info(name)).config.max_msgs in (None, -1)
        [event_id] = await add_events(collaborators, 1)
        d = Dispatcher(
            collaborators.sessionmaker,
            [NatsSink(NATS_URL, secret=None, timeout_s=2, subject=subject, stream=name, limits=limits)],
            QUICK,
        )
        try:
            assert await d.run_once() == 1
        finally:
            await d.stop()
        config = (await js.stream_info(name)).config
        await js.delete_stream(name)
        d = Dispatcher(
            collaborators.sessionmaker,
            [NatsSink(NATS_URL, secret=None, timeout_s=2, subject=subject, stream=name, limits=limits)],
            QUICK,
        )
        await add_events(collaborators, 1)
        try:
            assert await d.run_once() == 1
        finally:
            await d.stop()
        created = (await js.stream_info(name)).config
    finally:
        await client.close()
    assert (await state_of(collaborators, event_id)).state == "sent"
    for stream_config in (config, created):
        assert (stream_config.max_age, stream_config.max_bytes, stream_config.max_msgs) == (3600, 1024 * 1024, 100)
        assert stream_config.subjects == [f"{subject}.>"]


def test_the_stream_limits_come_from_settings():
    configured = Settings(
        notify_nats_url=NATS_URL,
        notify_nats_max_age_seconds=600,
        notify_nats_max_bytes=2048,
        notify_nats_max_msgs=10,
    )
    [sink] = sinks_from(configured)
    assert isinstance(sink, NatsSink)
    assert sink.limits == StreamLimits(max_age_s=600, max_bytes=2048, max_msgs=10)


async def test_a_standard_webhooks_receiver_verifies_every_delivery_with_the_same_secret(collaborators):
    [event_id] = await add_events(collaborators, 1)
    with Receiver(script=["fail"]) as receiver:
        d = Dispatcher(collaborators.sessionmaker, [webhook(receiver)], QUICK)
        try:
            await d.run_once()
            await d.run_once(now=later())
        finally:
            await d.stop()
    # The spec's secret notation: whsec_ and the base64 of the key's bytes.
    verifier = Webhook("whsec_" + base64.b64encode(SECRET.encode()).decode())
    first, retry = receiver.received
    for delivery in (first, retry):
        assert verifier.verify(delivery.body, delivery.headers) == delivery.payload
        assert delivery.headers["webhook-id"] == str(event_id)  # the same on a retry: receivers dedupe by it
        sent_at = datetime.fromisoformat(delivery.payload["sent_at"])
        assert int(delivery.headers["webhook-timestamp"]) == int(sent_at.timestamp())
        with pytest.raises(WebhookVerificationError):
            verifier.verify(delivery.body.replace(b'"issued"', b'"revoked"'), delivery.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(base64.b64encode(b"another-secret-0123456789").decode()).verify(first.body, first.headers)
    assert abs(datetime.now(UTC).timestamp() - int(first.headers["webhook-timestamp"])) < 60
