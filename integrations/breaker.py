"""A circuit breaker per agency, so a dead agency costs callers nothing but an immediate "unavailable".

Backed by purgatory (an asyncio circuit breaker, in-memory state). It is wrapped here so that the
rest of `integrations` depends on two names only, and swapping the library touches one file.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from purgatory import AsyncCircuitBreakerFactory

# purgatory signals an open circuit by raising its state object; it is not re-exported at top level.
from purgatory.domain.model import OpenedState


class CircuitOpen(Exception):
    """The circuit is open: the call was not attempted."""


class CircuitBreaker:
    """Opens after `threshold` consecutive failed calls; lets calls through again after `reset_s`.

    Only exceptions of the types in `counts` are failures. Anything else leaving the guarded block
    (the agency answered, even if with a 404) proves the agency is up and resets the count.
    """

    def __init__(self, *, name: str, threshold: int, reset_s: float, counts: tuple[type[BaseException], ...]) -> None:
        self.name = name
        self.reset_s = reset_s
        self._threshold = threshold
        self._counts = counts
        self._factory = self._new_factory()

    def _new_factory(self) -> AsyncCircuitBreakerFactory:
        return AsyncCircuitBreakerFactory(
            default_threshold=self._threshold,
            default_ttl=self.reset_s,
            # A caller cancelled (client went away, a sibling check failed) says nothing about the
            # agency's health: never let it open the circuit.
            exclude=[(BaseException, self._is_not_failure)],
        )

    def _is_not_failure(self, exc: BaseException) -> bool:
        return isinstance(exc, asyncio.CancelledError) or not isinstance(exc, self._counts)

    @asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        breaker = await self._factory.get_breaker(self.name)
        try:
            await breaker.__aenter__()
        except OpenedState as exc:
            raise CircuitOpen(self.name) from exc
        try:
            yield
        except BaseException as exc:
            await breaker.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        else:
            await breaker.__aexit__(None, None, None)

    async def state(self) -> str:
        """ "closed", "opened" or "half-opened" (purgatory's names); for readiness checks and tests.

        purgatory moves an open circuit to half-open only when the next call arrives; this reports
        "half-opened" as soon as the reset interval has passed, which is what a caller means."""
        context = (await self._factory.get_breaker(self.name)).context
        opened_at = context.opened_at
        # purgatory stamps opened_at with time.time(), so compare on that clock.
        if context.state == "opened" and opened_at is not None and time.time() > opened_at + self.reset_s:
            return "half-opened"
        return context.state

    def reset(self) -> None:
        """Forget all failures and close the circuit (tests, or an operator who knows better)."""
        self._factory = self._new_factory()
