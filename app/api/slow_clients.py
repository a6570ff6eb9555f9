"""Bounds on what a slow or stalled client can hold: time to send a body, uploads in flight per address.

A stalled upload holds a connection, a task and its buffered bytes for as long as the client likes; 30
of them pinned ~300 MB in a review. A body must keep arriving (no pause longer than the idle timeout)
and be complete within the total timeout, else 408 and the connection closes; and one address may
have only a few uploads in flight at once in a process (more: 429). The reverse proxy adds the global
limits (docs/deployment.md).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException
from starlette.types import Message, Receive


class BodyTimeout(HTTPException):
    """An HTTPException so that FastAPI's body reader lets it through (as for BodyTooLarge)."""

    def __init__(self) -> None:
        super().__init__(
            status_code=408, detail="The request body did not arrive in time", headers={"Connection": "close"}
        )


def deadlined(receive: Receive, *, idle_s: float, total_s: float) -> Receive:
    """`receive` that raises BodyTimeout while the body is still arriving too slowly. Once the body is
    complete it passes through untouched: a streamed answer waits on it for the disconnect."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + total_s
    body_done = False

    async def wrapped() -> Message:
        nonlocal body_done
        if body_done:
            return await receive()
        remaining = min(idle_s, deadline - loop.time())
        if remaining <= 0:
            raise BodyTimeout()
        try:
            async with asyncio.timeout(remaining):
                message = await receive()
        except TimeoutError:
            raise BodyTimeout() from None
        if message["type"] != "http.request" or not message.get("more_body", False):
            body_done = True
        return message

    return wrapped


class UploadSlots:
    """Uploads in flight per client address, in this process."""

    def __init__(self, per_address: int) -> None:
        self.per_address = per_address
        self._in_flight: Counter[str] = Counter()

    @contextmanager
    def hold(self, address: str) -> Iterator[bool]:
        """Yields False (holding nothing) when the address already has its share in flight."""
        if self._in_flight[address] >= self.per_address:
            yield False
            return
        self._in_flight[address] += 1
        try:
            yield True
        finally:
            self._in_flight[address] -= 1
            if self._in_flight[address] <= 0:
                del self._in_flight[address]
