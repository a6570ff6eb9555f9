"""Where events go: the webhook (NOTIFY_WEBHOOK_URL) and, if an operator prefers a broker, NATS JetStream
(NOTIFY_NATS_URL). Each raises DeliveryFailed for anything but a confirmed receipt."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import httpx

from app.notifications.signing import SIGNATURE_HEADER, delivery_body, signature, standard_webhook_headers


class DeliveryFailed(Exception):
    """Not received: retried with backoff, dead-lettered after the limit."""


class Sink(Protocol):
    name: str

    async def deliver(self, payload: dict[str, object], *, sent_at: datetime) -> None: ...

    async def aclose(self) -> None: ...


def signed_headers(body: bytes, secret: str | None) -> dict[str, str]:
    return {SIGNATURE_HEADER: signature(body, secret)} if secret else {}


class WebhookSink:
    name = "webhook"

    def __init__(self, url: str, *, secret: str | None, timeout_s: float) -> None:
        self.url = url
        self._secret = secret
        # One client for the process (it loads the CA bundle once); a short timeout: a slow receiver is
        # retried later rather than holding the dispatcher.
        self._client = httpx.AsyncClient(
            timeout=timeout_s, follow_redirects=False, headers={"User-Agent": "cityservices-notifications/1"}
        )

    async def deliver(self, payload: dict[str, object], *, sent_at: datetime) -> None:
        body = delivery_body(payload, sent_at=sent_at)
        headers = {"Content-Type": "application/json", **signed_headers(body, self._secret)}
        if self._secret:
            headers.update(
                standard_webhook_headers(body, message_id=str(payload["id"]), sent_at=sent_at, secret=self._secret)
            )
        try:
            response = await self._client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise DeliveryFailed(f"webhook timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"webhook unreachable ({type(exc).__name__}: {exc})") from exc
        if not response.is_success:
            raise DeliveryFailed(f"webhook answered HTTP {response.status_code}")

    async def aclose(self) -> None:
        await self._client.aclose()
