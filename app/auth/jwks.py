"""Where the identity provider's public keys come from.

A `KeySource` answers one question: which JWK has this `kid`? Two implementations:

- `StaticJwks`: a JWKS read once from a file (`AUTH_JWKS_FILE`, or the development key pair).
- `RemoteJwks`: a JWKS fetched with httpx from `AUTH_JWKS_URL`, cached for `ttl_s`; an unknown `kid`
  triggers a refresh, but at most one fetch per `min_refresh_interval_s` (or `ttl_s`, if shorter), so a
  caller spraying random `kid`s cannot make us hammer the identity provider. A failed fetch keeps the
  keys we already have.

Why our own cache and not PyJWT's `PyJWKClient`: that client fetches with urllib, synchronously, so every
refresh would stall the event loop (every request in the process) for as long as the identity provider
takes to answer; and it refetches on every unknown `kid`, with no lower bound on the interval. Parsing
and checking the keys themselves is PyJWT's (`jwt.PyJWK`, in app.auth.tokens). See docs/security.md.

Nothing here decides which algorithm a key is for or whether a token is valid: that is
`app.auth.tokens`. Nothing here logs token content (not even the `kid`, which the caller controls).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import httpx

log = logging.getLogger(__name__)

MAX_JWKS_BYTES = 1024 * 1024
MAX_KEYS = 100
MAX_KID_LENGTH = 256


class KeysUnavailable(Exception):
    """The key source has no keys at all (e.g. the identity provider has never answered).

    Distinct from "unknown kid": the token may be fine, we simply cannot check it now (a 503, not a 401).
    """


class InvalidJwks(ValueError):
    """The document is not a usable JWK Set."""


@runtime_checkable
class KeySource(Protocol):
    async def key_for(self, kid: str) -> dict[str, Any] | None:
        """The JWK (a dict, as published) with this `kid`, or None if there is none."""
        ...


def parse_jwks(document: Any) -> dict[str, dict[str, Any]]:
    """Index a JWK Set by `kid`. Keys without a `kid` are skipped; a `kid` used twice is an error.

    Only shape is checked here (kid, kty); whether a key is acceptable for verification is decided
    by the verifier, which refuses anything that is not an RSA or P-256 EC public key for signing.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise InvalidJwks('a JWK Set must be a JSON object with a "keys" list')
    keys = document["keys"]
    if len(keys) > MAX_KEYS:
        raise InvalidJwks(f"a JWK Set of more than {MAX_KEYS} keys is not accepted")
    indexed: dict[str, dict[str, Any]] = {}
    for position, jwk in enumerate(keys):
        if not isinstance(jwk, Mapping) or not isinstance(jwk.get("kty"), str):
            raise InvalidJwks(f"key #{position} is not a JWK object with a kty")
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH:
            log.warning("JWKS key #%d has no usable kid; ignored", position)
            continue
        if kid in indexed:
            raise InvalidJwks(f"kid {kid!r} appears more than once")
        indexed[kid] = dict(jwk)
    return indexed


class StaticJwks:
    """A fixed JWK Set (from a file or a dict)."""

    def __init__(self, keys: Mapping[str, Mapping[str, Any]]):
        self._keys = {kid: dict(jwk) for kid, jwk in keys.items()}

    @classmethod
    def from_dict(cls, jwks: Mapping[str, Any]) -> StaticJwks:
        return cls(parse_jwks(jwks))

    @classmethod
    def from_file(cls, path: str | Path) -> StaticJwks:
        raw = Path(path).read_bytes()
        if len(raw) > MAX_JWKS_BYTES:
            raise InvalidJwks(f"{path}: larger than {MAX_JWKS_BYTES} bytes")
        try:
            document = json.loads(raw)
        except ValueError as exc:
            raise InvalidJwks(f"{path}: not JSON ({exc})") from exc
        return cls(parse_jwks(document))

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(self._keys)

    async def key_for(self, kid: str) -> dict[str, Any] | None:
        jwk = self._keys.get(kid)
        return dict(jwk) if jwk is not None else None


class RemoteJwks:
    """A JWK Set fetched over HTTP(S) and cached.

    - The first `key_for` fetches. After that the set is refetched when older than `ttl_s`
      (a failed refetch keeps serving the old set and is retried after `min_refresh_interval_s`).
    - An unknown `kid` refetches, unless a fetch was attempted less than `min_refresh_interval_s` ago.
    - Concurrent callers share one fetch.
    - With no keys ever loaded, `key_for` raises `KeysUnavailable`.

    Pass the application's shared `httpx.AsyncClient` as `http` (creating one costs ~15 ms); without
    one, a client is made on first use and closed by `aclose()`.
    """

    def __init__(
        self,
        url: str,
        *,
        http: httpx.AsyncClient | None = None,
        ttl_s: float = 300,
        min_refresh_interval_s: float = 60,
        timeout_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        if ttl_s <= 0 or min_refresh_interval_s < 0:
            raise ValueError("ttl_s must be > 0 and min_refresh_interval_s >= 0")
        self.url = url
        self._http = http
        self._owns_http = http is None
        self._ttl_s = ttl_s
        # A lifetime shorter than the refresh interval must still take effect (AUTH_JWKS_CACHE_SECONDS=10
        # means "fetch every 10 s"): the interval only keeps unknown kids from fetching more often than that.
        self._min_interval_s = min(min_refresh_interval_s, ttl_s)
        self._timeout_s = timeout_s
        self._clock = clock
        self._keys: dict[str, dict[str, Any]] | None = None
        self._loaded_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last fetch attempt, successful or not
        self._lock = asyncio.Lock()
        self.fetch_count = 0  # attempts made; for metrics and tests

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    # -- public -------------------------------------------------------------------------------------

    async def key_for(self, kid: str) -> dict[str, Any] | None:
        if self._is_stale():
            await self._refresh(reason="stale")
        if self._keys is None:
            raise KeysUnavailable(f"no keys could be loaded from {self.url}")
        jwk = self._keys.get(kid)
        if jwk is None and self._may_attempt():
            await self._refresh(reason="unknown kid", want_kid=kid)
            jwk = self._keys.get(kid) if self._keys is not None else None
        return dict(jwk) if jwk is not None else None

    async def sole_kid(self) -> str | None:
        """The set's only `kid`, if it holds exactly one key: OpenID Connect Core 1.0 section 10.1 lets a provider
        with a single key leave `kid` out of its tokens."""
        if self._is_stale():
            await self._refresh(reason="stale")
        return next(iter(self._keys)) if self._keys is not None and len(self._keys) == 1 else None

    async def loaded(self) -> bool:
        """Are keys at hand? Never loaded yet: try now (no more often than the minimum interval)."""
        if self._keys is None and self._may_attempt():
            await self._refresh(reason="readiness")
        return self._keys is not None

    async def refresh(self) -> bool:
        """Fetch now, whatever the cache state. True if the set was replaced."""
        async with self._lock:
            return await self._fetch()

    # -- internals ----------------------------------------------------------------------------------

    def _is_stale(self) -> bool:
        if self._keys is None:
            # Never loaded: try, but not more often than the minimum interval.
            return self._may_attempt()
        assert self._loaded_at is not None
        return self._clock() - self._loaded_at >= self._ttl_s and self._may_attempt()

    def _may_attempt(self) -> bool:
        return self._attempted_at is None or self._clock() - self._attempted_at >= self._min_interval_s

    async def _refresh(self, *, reason: str, want_kid: str | None = None) -> None:
        if self._lock.locked() and self._keys is not None and want_kid is None:
            # Someone is already refreshing a merely stale set: keep serving what we have.
            return
        async with self._lock:
            # Re-check after waiting: another caller may have just fetched.
            if want_kid is not None and self._keys is not None and want_kid in self._keys:
                return
            if not self._may_attempt():
                return
            log.info("refreshing JWKS from %s (%s)", self.url, reason)
            await self._fetch()

    async def _fetch(self) -> bool:
        self._attempted_at = self._clock()
        self.fetch_count += 1
        try:
            document = await self._get_document()
            keys = parse_jwks(document)
        except Exception as exc:  # noqa: BLE001 - any failure (network, TLS, URL, body) keeps the old keys
            kept = "keeping the previous keys" if self._keys is not None else "no keys loaded"
            log.warning("JWKS fetch from %s failed (%s: %s); %s", self.url, type(exc).__name__, exc, kept)
            return False
        if not keys:
            log.warning("JWKS from %s holds no usable keys; keeping the previous keys", self.url)
            return False
        self._keys = keys
        self._loaded_at = self._clock()
        return True

    async def _get_document(self) -> Any:
        if self._http is None:
            self._http = httpx.AsyncClient()
        async with self._http.stream(
            "GET", self.url, headers={"Accept": "application/json"}, timeout=self._timeout_s
        ) as response:
            if response.status_code != 200:
                raise InvalidJwks(f"HTTP {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise InvalidJwks(f"response larger than {MAX_JWKS_BYTES} bytes")
        try:
            return json.loads(bytes(body))
        except ValueError as exc:
            raise InvalidJwks(f"not JSON ({exc})") from exc
