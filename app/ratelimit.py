"""Rate limits (429 with Retry-After): per citizen on filing and uploads, per client address on public
verification. Shared by every service process through Redis when REDIS_URL is set, in-process otherwise."""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from app.errors import TooManyRequests
from app.i18n import Text

logger = logging.getLogger("cityservices.ratelimit")


class RateLimiter:
    def __init__(self, *, rules: dict[str, str], redis_url: str | None) -> None:
        uri = f"async+{redis_url}" if redis_url else "async+memory://"
        self._strategy = MovingWindowRateLimiter(storage_from_string(uri))
        self._rules: dict[str, RateLimitItem] = {name: parse(rule) for name, rule in rules.items()}

    async def check(self, rule: str, key: str) -> None:
        """Count one hit for `key` under `rule`; raise 429 when over the limit."""
        item = self._rules[rule]
        try:
            allowed = await self._strategy.hit(item, rule, key)
            if allowed:
                return
            reset_at, _ = await self._strategy.get_window_stats(item, rule, key)
        except TooManyRequests:
            raise
        except Exception:
            # The limiter's store being down must not stop the service: degrade to no limit, loudly.
            logger.warning("rate-limit store unavailable; request allowed", exc_info=True)
            return
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise TooManyRequests(
            Text(f"请求过于频繁，请 {retry_after} 秒后再试", f"Too many requests; try again in {retry_after} s"),
            headers={"Retry-After": str(retry_after)},
        )
