"""OpenID Connect discovery (AUTH_OIDC_ISSUER_URL): the provider's own document names its JWKS.

`{issuer}/.well-known/openid-configuration` is read once (and again if it failed), and must name the
same issuer, exactly (OpenID Connect Discovery 1.0 section 4.3: a mismatch means the document is not the
issuer's). Its `jwks_uri` is then a `RemoteJwks` like AUTH_JWKS_URL, with the same cache and refresh
rules. Until discovery succeeds, tokens cannot be checked (`KeysUnavailable`: a 503, not a 401).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from app.auth.jwks import KeysUnavailable, RemoteJwks

log = logging.getLogger(__name__)

DISCOVERY_PATH = "/.well-known/openid-configuration"


class DiscoveryFailed(Exception):
    pass


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + DISCOVERY_PATH


def jwks_uri_from(document: Any, *, issuer: str) -> str:
    """The JWKS URL a discovery document names, once it is shown to be this issuer's."""
    if not isinstance(document, dict):
        raise DiscoveryFailed("the discovery document is not a JSON object")
    named = document.get("issuer")
    if named != issuer:
        if isinstance(named, str) and named.rstrip("/") == issuer.rstrip("/"):
            # Exact comparison is the rule (tokens' `iss` must equal it too); the fix is one character.
            raise DiscoveryFailed(
                f"the provider calls itself {named!r}: set AUTH_OIDC_ISSUER_URL to exactly that (trailing slash)"
            )
        raise DiscoveryFailed(f"the discovery document names issuer {named!r}, not {issuer!r}")
    jwks_uri = document.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
        raise DiscoveryFailed("the discovery document has no http(s) jwks_uri")
    return jwks_uri


class OidcJwks:
    """A `KeySource` found through discovery; afterwards a `RemoteJwks` does the work."""

    def __init__(
        self,
        issuer: str,
        *,
        ttl_s: float = 300,
        min_retry_interval_s: float = 10,
        timeout_s: float = 5.0,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self._ttl_s = ttl_s
        self._min_retry_s = min_retry_interval_s
        self._timeout_s = timeout_s
        self._http = http
        self._clock = clock
        self._jwks: RemoteJwks | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    @property
    def jwks(self) -> RemoteJwks | None:
        return self._jwks

    async def key_for(self, kid: str) -> dict[str, Any] | None:
        if self._jwks is None:
            await self._discover()
        if self._jwks is None:
            raise KeysUnavailable(f"OpenID Connect discovery at {discovery_url(self.issuer)} has not succeeded")
        return await self._jwks.key_for(kid)

    async def sole_kid(self) -> str | None:
        if self._jwks is None:
            await self._discover()
        return await self._jwks.sole_kid() if self._jwks is not None else None

    async def loaded(self) -> bool:
        """Discovery succeeded and its JWKS is loaded (for readiness); tries again when allowed."""
        if self._jwks is None:
            await self._discover()
        return self._jwks is not None and await self._jwks.loaded()

    async def _discover(self) -> None:
        async with self._lock:
            now = self._clock()
            if self._jwks is not None or (
                self._attempted_at is not None and now - self._attempted_at < self._min_retry_s
            ):
                return
            self._attempted_at = now
            http = self._http or httpx.AsyncClient()
            try:
                response = await http.get(
                    discovery_url(self.issuer), timeout=self._timeout_s, headers={"Accept": "application/json"}
                )
                if response.status_code != 200:
                    raise DiscoveryFailed(f"HTTP {response.status_code}")
                jwks_uri = jwks_uri_from(response.json(), issuer=self.issuer)
            except (httpx.HTTPError, ValueError, DiscoveryFailed) as exc:
                log.warning(
                    "OpenID Connect discovery at %s failed (%s: %s)",
                    discovery_url(self.issuer),
                    type(exc).__name__,
                    exc,
                )
                return
            finally:
                if self._http is None:
                    await http.aclose()
            log.info("OpenID Connect discovery: keys at %s", jwks_uri)
            self._jwks = RemoteJwks(jwks_uri, http=self._http, ttl_s=self._ttl_s, clock=self._clock)

    async def aclose(self) -> None:
        if self._jwks is not None:
            await self._jwks.aclose()
