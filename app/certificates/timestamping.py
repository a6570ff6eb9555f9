"""RFC 3161 time stamps (TSA_URL) fetched with httpx.

pyHanko's own HTTP time stampers need `requests` (an optional extra since pyHanko 0.38) or aiohttp;
the service speaks httpx everywhere else. pyHanko asks a `TimeStamper` for one thing only, the TSA's
answer to a request (`async_request_tsa_response`); building the request, checking the nonce and the
token stay pyHanko's. Each signature runs in an event loop of its own (pyHanko's sync API calls
`asyncio.run`), so the client is a synchronous one kept for the process, called from a thread.
"""

from __future__ import annotations

import asyncio
import threading

import httpx
from asn1crypto import tsp
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError, set_tsp_headers

REPLY_MEDIA_TYPE = "application/timestamp-reply"


class HttpxTimeStamper(TimeStamper):
    """POSTs the DER time-stamp request to `url` and parses the DER reply (RFC 3161 §3.4)."""

    def __init__(self, url: str, *, timeout_s: float = 5.0) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # pyHanko leaves it unannotated
        self.url = url
        self._timeout_s = timeout_s
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def _http(self) -> httpx.Client:
        # Made on first use, in the process that signs (a pool process is spawned after the signer's
        # configuration is known), and reused: creating a client loads the CA bundle.
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self._timeout_s, follow_redirects=False)
            return self._client

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return await asyncio.to_thread(self._post, req.dump())

    def _post(self, body: bytes) -> tsp.TimeStampResp:
        try:
            response = self._http().post(self.url, content=body, headers=set_tsp_headers({}))
        except httpx.HTTPError as exc:
            raise TimestampRequestError(f"time-stamp authority unreachable ({type(exc).__name__})") from exc
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if response.status_code != 200 or media_type != REPLY_MEDIA_TYPE:
            raise TimestampRequestError(
                f"time-stamp authority answered HTTP {response.status_code} ({media_type or 'no content type'})"
            )
        return tsp.TimeStampResp.load(response.content)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
