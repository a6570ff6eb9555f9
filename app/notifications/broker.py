"""Publishing the same events to NATS JetStream, for operators who prefer a broker to a webhook.

Each event goes to `<NOTIFY_NATS_SUBJECT>.<type>` (e.g. `cityservices.notifications.application.issued`)
in the stream NOTIFY_NATS_STREAM, created if missing, within limits (NOTIFY_NATS_MAX_AGE_SECONDS,
NOTIFY_NATS_MAX_BYTES, NOTIFY_NATS_MAX_MSGS; past one, the oldest events go): an unbounded stream would
fill the broker's disk when no consumer reads it. A stream found with other limits is updated to these.
The message id header (`Nats-Msg-Id`) is the
event's `id`, so JetStream itself drops a re-publication within its duplicate window (a dispatcher that
died between publishing and marking); consumers still dedupe by `id`, as webhook receivers do.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import nats
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, StreamConfig
from nats.js.errors import NotFoundError

from app.notifications.signing import delivery_body
from app.notifications.sinks import DeliveryFailed, signed_headers

DEFAULT_SUBJECT = "cityservices.notifications"
DEFAULT_STREAM = "CITYSERVICES_NOTIFICATIONS"


@dataclass(frozen=True)
class StreamLimits:
    max_age_s: float = 7 * 86400
    max_bytes: int = 1024**3
    max_msgs: int = 1_000_000

    def applied_to(self, config: StreamConfig) -> StreamConfig:
        return config.evolve(
            max_age=self.max_age_s, max_bytes=self.max_bytes, max_msgs=self.max_msgs, discard=DiscardPolicy.OLD
        )

    def held_by(self, config: StreamConfig) -> bool:
        return (config.max_age, config.max_bytes, config.max_msgs) == (self.max_age_s, self.max_bytes, self.max_msgs)


class NatsSink:
    name = "nats"

    def __init__(
        self,
        url: str,
        *,
        secret: str | None,
        timeout_s: float,
        subject: str = DEFAULT_SUBJECT,
        stream: str = DEFAULT_STREAM,
        limits: StreamLimits | None = None,
    ) -> None:
        self.url = url
        self.subject = subject
        self.stream = stream
        self.limits = limits or StreamLimits()
        self._secret = secret
        self._timeout_s = timeout_s
        self._client: Client | None = None
        self._js: JetStreamContext | None = None

    async def _jetstream(self) -> JetStreamContext:
        # Connected on first use, so a broker that is down at start delays events instead of the service.
        if self._js is None or self._client is None or self._client.is_closed:
            # Bounded: with reconnects allowed, a first connection to a server that is down could wait forever.
            client = await asyncio.wait_for(
                nats.connect(
                    self.url,
                    connect_timeout=self._timeout_s,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=self._timeout_s,
                ),
                timeout=self._timeout_s * 2,
            )
            self._client = client
            js = client.jetstream(timeout=self._timeout_s)
            try:
                config = (await js.stream_info(self.stream)).config
            except NotFoundError:
                await js.add_stream(
                    self.limits.applied_to(StreamConfig(name=self.stream, subjects=[f"{self.subject}.>"]))
                )
            else:
                if not self.limits.held_by(config):  # made unbounded by an earlier release, or limits changed
                    await js.update_stream(self.limits.applied_to(config))
            self._js = js
        return self._js

    async def deliver(self, payload: dict[str, object], *, sent_at: datetime) -> None:
        body = delivery_body(payload, sent_at=sent_at)
        headers = {
            "Nats-Msg-Id": str(payload["id"]),
            "Content-Type": "application/json",
            **signed_headers(body, self._secret),
        }
        try:
            js = await self._jetstream()
            await js.publish(f"{self.subject}.{payload['type']}", body, headers=headers, timeout=self._timeout_s)
        except (NatsError, OSError, TimeoutError) as exc:
            raise DeliveryFailed(f"nats: {type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        if self._client is not None and not self._client.is_closed:
            await self._client.close()
