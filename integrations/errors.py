"""The one error taxonomy the domain acts on when it consults an agency.

Each class answers a different question for the caller: the subject does not exist (decide now),
the agency is unreachable (park the application and retry later), or the agency broke its contract
(an operator must look; retrying will not help).
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
