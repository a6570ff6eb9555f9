"""How every agency call is made: one pooled httpx client per agency, a per-attempt timeout and a
whole-call deadline, jittered retries of idempotent reads, a circuit breaker, the request id passed
on, errors mapped to `integrations.errors`, and one log line per call.

Privacy: URLs carry id numbers, so nothing here logs a URL or an exception text that might hold one;
log lines name the route template instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import ssl
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

# The request in flight, defined with the logs and sent on to the agencies as X-Request-ID.
from app.observability import AGENCY_CONFIGURATION_ERRORS, request_id_var
from integrations.breaker import CircuitBreaker, CircuitOpen
from integrations.errors import (
    TLS_ERROR,
    UNAUTHORIZED,
    AgencyBadResponse,
    AgencyMisconfigured,
    AgencyNotFound,
    AgencyUnavailable,
)

# httpx logs every request at INFO with its full URL, id number included.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

log = logging.getLogger("integrations.agency")

"""Set by the app per request; sent to the agency as X-Request-ID so both logs can be joined."""

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class AgencyResponse(Generic[T]):
    data: T
    sha256: str  # of the raw body bytes: the evidence a decision relied on
    dataset: str
    elapsed_ms: float


@dataclass(frozen=True)
class ClientPolicy:
    timeout_s: float = 1.0  # per attempt
    deadline_s: float = 3.0  # the whole call, retries and backoff included
    attempts: int = 3
    backoff_initial_s: float = 0.05
    backoff_max_s: float = 0.5
    breaker_threshold: int = 5  # consecutive failed calls (each after its own retries)
    breaker_reset_s: float = 30.0
    max_connections: int = 100
    max_keepalive_connections: int = 20

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.deadline_s <= 0 or self.attempts < 1 or self.breaker_threshold < 1:
            raise ValueError("timeouts must be positive and attempts and breaker threshold at least 1")


@dataclass(frozen=True)
class AgencyCredentials:
    """How we prove who we are to an agency: a client certificate (mutual TLS, with the CA that signs
    the agency's server certificate) and/or a bearer token. Secrets stay out of logs and reprs."""

    client_cert_file: Path | None = None
    client_key_file: Path | None = None
    ca_file: Path | None = None
    token: str | None = field(default=None, repr=False)

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.client_cert_file is None and self.ca_file is None:
            return None  # httpx's default: the certifi bundle, no client certificate
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        if self.ca_file is None:
            import certifi

            context.load_verify_locations(certifi.where())
        if self.client_cert_file is not None:
            context.load_cert_chain(str(self.client_cert_file), str(self.client_key_file or self.client_cert_file))
        return context

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def make_http_client(
    *,
    base_url: str,
    policy: ClientPolicy,
    transport: httpx.AsyncBaseTransport | None = None,
    credentials: AgencyCredentials | None = None,
) -> httpx.AsyncClient:
    """The one pooled client for an agency; build it once at start-up (it loads the CA bundle)."""
    credentials = credentials or AgencyCredentials()
    context = credentials.ssl_context()
    return httpx.AsyncClient(
        base_url=base_url,
        transport=transport,
        verify=context if context is not None else True,
        timeout=httpx.Timeout(policy.timeout_s),
        limits=httpx.Limits(
            max_connections=policy.max_connections,
            max_keepalive_connections=policy.max_keepalive_connections,
        ),
        headers={"Accept": "application/json", "User-Agent": "cityservices", **credentials.headers()},
        follow_redirects=False,
    )


PROBE_OK = "ok"
PROBE_UNAUTHORIZED = UNAUTHORIZED
PROBE_TLS_ERROR = TLS_ERROR
PROBE_UNAVAILABLE = "unavailable"


def _tls_failure(exc: BaseException, url: httpx.URL) -> bool:
    """Did the TLS session fail? httpx wraps the ssl module's error (their certificate not trusted, a
    handshake refused). A TLS 1.3 server that refuses our client certificate (or its absence) does so
    after the handshake, by closing or resetting the connection before any answer: over https, that is
    taken for it too (a call retries that first, as it would an outage: see `_certain_tls_failure`)."""
    if url.scheme == "https" and isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return True
    return _certain_tls_failure(exc)


def _certain_tls_failure(exc: BaseException) -> bool:
    """The ssl module itself failed the session: no retry can succeed with the same configuration."""
    seen: BaseException | None = exc
    for _ in range(10):  # a short chain; bounded in case of a cycle
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class _RetryableStatus(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


_RETRYABLE = (httpx.TransportError, TimeoutError, _RetryableStatus)


def _retryable(exc: BaseException) -> bool:
    # A certain TLS failure is our configuration (or theirs), not a blip: retrying only delays the alert. A
    # connection closed right after the handshake may be either: it is retried first.
    return isinstance(exc, _RETRYABLE) and not _certain_tls_failure(exc)


@dataclass
class _CallLog:
    agency: str
    dataset: str
    route: str
    request_id: str
    outcome: str = "error"
    status: int | None = None
    attempts: int = 0

    def emit(self, elapsed_ms: float) -> None:
        fields = {
            "agency": self.agency,
            "dataset": self.dataset,
            "route": f"GET {self.route}",
            "outcome": self.outcome,
            "status": self.status,
            "attempts": self.attempts,
            "elapsed_ms": round(elapsed_ms, 1),
            "request_id": self.request_id,
        }
        level = {"ok": logging.INFO, "not_found": logging.INFO, "misconfigured": logging.ERROR}.get(
            self.outcome, logging.WARNING
        )
        text = " ".join(f"{key}={value}" for key, value in fields.items())
        log.log(level, "agency call %s", text, extra={"agency_call": fields})


class AgencyHttp:
    """One agency's pooled client, breaker and call discipline; the typed clients sit on top."""

    def __init__(self, *, agency: str, client: httpx.AsyncClient, policy: ClientPolicy) -> None:
        self.agency = agency
        self.policy = policy
        self._client = client
        # The kind of the last configuration error a real call met (`unauthorized`, `tls_error`), until a
        # call is answered again: readiness names it even when its own probe of the base URL passes.
        self.configuration_error: str | None = None
        self.breaker = CircuitBreaker(
            name=agency,
            threshold=policy.breaker_threshold,
            reset_s=policy.breaker_reset_s,
            counts=(AgencyUnavailable,),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def probe(self, *, timeout_s: float) -> str:
        """How the agency answers right now, for readiness only: one attempt, no breaker, no data asked
        for (its base URL), with our credentials (token, client certificate) as every call sends them.

        `ok`: any answer below 500 but 401/403 (a 404 included: it answered); `unauthorized`: it refuses
        our credentials (401/403), so every filing would fail; `tls_error`: no TLS session (its
        certificate is not trusted, or it refuses ours); `unavailable`: no answer in time, or 5xx."""
        try:
            async with asyncio.timeout(timeout_s):
                response = await self._client.get("/", headers={"X-Request-ID": uuid.uuid4().hex})
        except (httpx.HTTPError, TimeoutError, OSError) as exc:
            return PROBE_TLS_ERROR if _tls_failure(exc, self._client.base_url) else PROBE_UNAVAILABLE
        if response.status_code in (401, 403):
            return PROBE_UNAUTHORIZED
        if response.status_code >= 500:
            return PROBE_UNAVAILABLE
        # Its base URL lets us in, but a real call was refused since (a route that wants another role):
        # that stays the answer until a real call is answered again.
        return self.configuration_error or PROBE_OK

    async def get(
        self,
        route: str,
        *,
        model: type[T],
        dataset: str,
        path: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> AgencyResponse[T]:
        """GET `route` (a template such as `/population/v1/persons/{id_number}`) and parse it as `model`."""
        started = time.perf_counter()
        call = _CallLog(self.agency, dataset, route, request_id_var.get() or uuid.uuid4().hex)
        url = route.format_map({key: quote(value, safe="") for key, value in (path or {}).items()})
        try:
            try:
                async with self.breaker.guard():
                    response = await self._get_within_deadline(url, query, call)
            except CircuitOpen:
                call.outcome = "circuit_open"
                raise AgencyUnavailable(self.agency, "circuit open: recent calls failed") from None
            call.status = response.status_code
            data = self._interpret(response, model, call)
            return AgencyResponse(
                data=data,
                sha256=hashlib.sha256(response.content).hexdigest(),
                dataset=dataset,
                elapsed_ms=(time.perf_counter() - started) * 1000,
            )
        except asyncio.CancelledError:
            call.outcome = "cancelled"  # our caller gave up; that says nothing about the agency
            raise
        finally:
            call.emit((time.perf_counter() - started) * 1000)

    async def _get_within_deadline(self, url: str, query: Mapping[str, str] | None, call: _CallLog) -> httpx.Response:
        policy = self.policy
        started = time.monotonic()
        try:
            # The deadline bounds the whole call even when an attempt hangs past its own timeout
            # (the ASGI transport, for one, ignores httpx timeouts).
            async with asyncio.timeout(policy.deadline_s):
                # Nearly every call is answered at its first attempt, which builds no retry machinery (tenacity's
                # cost a call about 0.1 ms of the worker's CPU; issue 29). The retries wait as they would have.
                try:
                    return await self._attempt(url, query, call)
                except Exception as exc:
                    if policy.attempts == 1 or not _retryable(exc):
                        raise
                    first_wait = random.uniform(0, min(policy.backoff_max_s, policy.backoff_initial_s))
                    self._log_retry(call, exc)
                    await asyncio.sleep(first_wait)
                retrying = AsyncRetrying(
                    stop=stop_after_attempt(policy.attempts - 1)
                    | stop_before_delay(policy.deadline_s - (time.monotonic() - started)),
                    # the waits after the second attempt, as after the first the exponential would have doubled
                    wait=wait_random_exponential(multiplier=2 * policy.backoff_initial_s, max=policy.backoff_max_s),
                    retry=retry_if_exception(_retryable),
                    before_sleep=lambda state: self._log_retry(
                        call, state.outcome.exception() if state.outcome else None
                    ),
                    reraise=True,
                )
                async for attempt in retrying:
                    with attempt:
                        return await self._attempt(url, query, call)
        except TimeoutError:
            call.outcome = "unavailable"
            raise AgencyUnavailable(self.agency, "no answer within the deadline") from None
        except _RetryableStatus as exc:
            call.outcome = "unavailable"
            raise AgencyUnavailable(self.agency, f"answered {exc.status} on every attempt") from None
        except httpx.TransportError as exc:
            if _tls_failure(exc, self._client.base_url):
                raise self._misconfigured(call, TLS_ERROR, f"no TLS session: {type(exc).__name__}") from None
            call.outcome = "unavailable"
            raise AgencyUnavailable(self.agency, f"transport error: {type(exc).__name__}") from None
        except httpx.HTTPError as exc:  # e.g. a body that cannot be decoded
            call.outcome = "bad_response"
            raise AgencyBadResponse(self.agency, f"unreadable response: {type(exc).__name__}") from None
        raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover

    async def _attempt(self, url: str, query: Mapping[str, str] | None, call: _CallLog) -> httpx.Response:
        call.attempts += 1
        async with asyncio.timeout(self.policy.timeout_s):
            response = await self._client.get(url, params=query, headers={"X-Request-ID": call.request_id})
        if response.status_code >= 500 or response.status_code == 429:
            call.status = response.status_code
            raise _RetryableStatus(response.status_code)
        return response

    def _misconfigured(self, call: _CallLog, kind: str, message: str) -> AgencyMisconfigured:
        """Counted and logged at once (an alert fires on the counter), never retried as an outage."""
        call.outcome = "misconfigured"
        self.configuration_error = kind
        AGENCY_CONFIGURATION_ERRORS.labels(self.agency, kind).inc()
        return AgencyMisconfigured(self.agency, message, kind=kind)

    def _log_retry(self, call: _CallLog, exc: BaseException | None) -> None:
        reason = f"HTTP {exc.status}" if isinstance(exc, _RetryableStatus) else type(exc).__name__
        log.info(
            "agency retry agency=%s route=GET %s attempt=%d reason=%s request_id=%s",
            call.agency,
            call.route,
            call.attempts,
            reason,
            call.request_id,
        )

    def _interpret(self, response: httpx.Response, model: type[T], call: _CallLog) -> T:
        status = response.status_code
        if status in (401, 403):
            raise self._misconfigured(call, UNAUTHORIZED, f"refused our credentials: HTTP {status} from {call.route}")
        self.configuration_error = None  # it answered us: whatever was wrong with our side is fixed
        if status == 404:
            call.outcome = "not_found"
            raise AgencyNotFound(
                self.agency,
                f"no such subject at {call.route}",
                evidence_sha256=hashlib.sha256(response.content).hexdigest(),
            )
        if not 200 <= status < 300:
            call.outcome = "bad_response"
            raise AgencyBadResponse(self.agency, f"unexpected HTTP {status} from {call.route}")
        try:
            data = model.model_validate_json(response.content)
        except ValidationError as exc:
            call.outcome = "bad_response"
            # Only locations and error types: the input values are personal data.
            where = ", ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '<body>'}: {err['type']}" for err in exc.errors()[:5]
            )
            raise AgencyBadResponse(self.agency, f"off-contract body from {call.route} ({where})") from None
        call.outcome = "ok"
        return data
