"""Readiness of the agencies, probed rather than inferred (docs/runbook.md).

The circuit breaker only knows about past calls: an agency whose URL points at a dead port looks fine
until an application needs it. So /readyz asks each agency directly, concurrently, and keeps the answer
a few seconds, so that a load balancer polling every second (or an attacker hammering /readyz) costs
the agencies at most one request per agency per CACHE_SECONDS.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Protocol

CACHE_SECONDS = 3.0
PROBE_TIMEOUT_SECONDS = 1.0


class Probeable(Protocol):
    async def probe(self, *, timeout_s: float) -> str:
        """`ok`, `unauthorized`, `tls_error` or `unavailable`."""
        ...


class AgencyProbes:
    def __init__(self, *, cache_s: float = CACHE_SECONDS, timeout_s: float = PROBE_TIMEOUT_SECONDS) -> None:
        self._cache_s = cache_s
        self._timeout_s = timeout_s
        self._known: dict[str, tuple[float, str]] = {}
        self._lock = asyncio.Lock()

    async def statuses(self, agencies: Mapping[str, Probeable]) -> dict[str, str]:
        """Each agency's probe (`ok`, `unauthorized`, `tls_error`, `unavailable`), at most CACHE_SECONDS old."""
        async with self._lock:  # concurrent /readyz calls share one round of probes
            now = time.monotonic()
            stale = [name for name in agencies if name not in self._known or self._known[name][0] <= now]
            if stale:
                results = await asyncio.gather(*(agencies[n].probe(timeout_s=self._timeout_s) for n in stale))
                for name, state in zip(stale, results, strict=True):
                    self._known[name] = (time.monotonic() + self._cache_s, state)
            return {name: self._known[name][1] for name in agencies}


# What each agency state means for an operator, in both languages: `unauthorized` and `tls_error` are our
# configuration (alerted at once, docs/runbook.md), `unavailable` is theirs (applications wait).
_REASONS = {
    "unauthorized": (
        "{agency} 拒绝了我们的凭据（HTTP 401/403）：请检查令牌与客户端证书配置",
        "{agency} refuses our credentials (HTTP 401/403): check its token and client certificate settings",
    ),
    "tls_error": (
        "无法与 {agency} 建立 TLS 会话：请检查 CA 文件与客户端证书",
        "no TLS session with {agency}: check its CA file and our client certificate",
    ),
    "unavailable": ("{agency} 未在时限内应答或返回 5xx", "{agency} did not answer in time, or answered 5xx"),
}


def agency_reasons(states: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """A reason in Chinese and English for each agency that is not `ok`."""
    return {
        agency: {"zh": zh.format(agency=agency), "en": en.format(agency=agency)}
        for agency, state in states.items()
        if (texts := _REASONS.get(state)) is not None
        for zh, en in [texts]
    }
