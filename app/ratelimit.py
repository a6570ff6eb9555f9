"""Rate limits (429 with Retry-After): per citizen on filing and uploads, per client address on public
verification. Shared by every service process through Redis when REDIS_URL is set, in-process otherwise."""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from app.errors import TooManyRequests
from app.i18n import Text

logger = logging.getLogger("cityservices.ratelimit")


class MemoryMovingWindow:
    """The moving window `limits` keeps (at most `amount` hits in any `expiry` seconds), in this process
    and synchronously: per key, the times of its hits in the last window. `limits`' async memory store
    does the same through two awaited calls, a lock and a background expiry task on every public
    verification; this is a deque operation or two. Keys idle for a whole window are swept out, at most
    once per window, so memory follows the addresses seen in the last minute."""

    def __init__(self, amount: int, expiry_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.amount = amount
        self.expiry_s = expiry_s
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._sweep_at = clock() + expiry_s

    def hit(self, key: str) -> float | None:
        """Count one hit for `key`: None if allowed, else the seconds until the next would be."""
        now = self._clock()
        if now >= self._sweep_at:
            self._sweep(now)
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        start = now - self.expiry_s
        while hits and hits[0] <= start:
            hits.popleft()
        if len(hits) < self.amount:
            hits.append(now)
            return None
        return hits[0] + self.expiry_s - now

    def _sweep(self, now: float) -> None:
        start = now - self.expiry_s
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= start]:
            del self._hits[key]
        self._sweep_at = now + self.expiry_s


class RateLimiter:
    def __init__(self, *, rules: dict[str, str], redis_url: str | None) -> None:
        self._rules: dict[str, RateLimitItem] = {name: parse(rule) for name, rule in rules.items()}
        self._strategy: MovingWindowRateLimiter | None = None
        self._windows: dict[str, MemoryMovingWindow] = {}
        if redis_url:
            self._strategy = MovingWindowRateLimiter(storage_from_string(f"async+{redis_url}"))
        else:
            self._windows = {
                name: MemoryMovingWindow(item.amount, item.get_expiry()) for name, item in self._rules.items()
            }

    async def check_address(self, rule: str, client_addr: str | None) -> None:
        """`check` keyed by the caller's address: the public routes, which know no one."""
        await self.check(rule, client_addr or "unknown")

    async def check(self, rule: str, key: str) -> None:
        """Count one hit for `key` under `rule`; raise 429 when over the limit."""
        if self._strategy is None:
            wait = self._windows[rule].hit(key)
            if wait is not None:
                raise _too_many(wait)
            return
        item = self._rules[rule]
        try:
            allowed = await self._strategy.hit(item, rule, key)
            if allowed:
                return
            reset_at, _ = await self._strategy.get_window_stats(item, rule, key)
        except Exception:
            # The limiter's store being down must not stop the service: degrade to no limit, loudly.
            logger.warning("rate-limit store unavailable; request allowed", exc_info=True)
            return
        raise _too_many(reset_at - time.time())


def _too_many(wait_s: float) -> TooManyRequests:
    retry_after = max(1, math.ceil(wait_s))
    return TooManyRequests(
        Text(f"请求过于频繁，请 {retry_after} 秒后再试", f"Too many requests; try again in {retry_after} s"),
        headers={"Retry-After": str(retry_after)},
    )
