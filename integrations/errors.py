"""The one error taxonomy the domain acts on when it consults an agency.

Each class answers a different question for the caller: the subject does not exist (decide now),
the agency is unreachable (park the application and retry later), the agency broke its contract
(an operator must look; retrying will not help), or the agency refuses us: our credentials or our TLS
set-up are wrong (an operator must fix our configuration at once; it is no outage).
"""

from __future__ import annotations


class AgencyError(Exception):
    """Base class; `agency` is "police" or "housing"."""

    def __init__(self, agency: str, message: str) -> None:
        super().__init__(f"{agency}: {message}")
        self.agency = agency
        self.message = message


class AgencyNotFound(AgencyError):
    """The agency answered 404 for this subject. `evidence_sha256` hashes that answer: a "no such person"
    is evidence a decision relies on, like any other answer."""

    def __init__(self, agency: str, message: str, *, evidence_sha256: str | None = None) -> None:
        super().__init__(agency, message)
        self.evidence_sha256 = evidence_sha256


class AgencyUnavailable(AgencyError):
    """Timeout, connection failure, 5xx after retries, or the circuit is open: retry later."""


class AgencyBadResponse(AgencyError):
    """The agency answered off-contract: unparseable body, schema mismatch, unexpected 4xx."""


# What kind of configuration error: the agency refused our token or certificate (HTTP 401/403), or no TLS
# session could be made (its certificate not trusted by our CA file, ours refused, the handshake failed).
UNAUTHORIZED = "unauthorized"
TLS_ERROR = "tls_error"


class AgencyMisconfigured(AgencyError):
    """Our side is misconfigured for this agency (`kind`: `unauthorized` or `tls_error`). Not retried
    within the call and not counted by the circuit breaker: waiting does not fix a wrong credential."""

    def __init__(self, agency: str, message: str, *, kind: str) -> None:
        super().__init__(agency, message)
        self.kind = kind
