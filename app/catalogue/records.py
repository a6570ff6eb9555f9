"""Our own records, as a service sees them: the certificates the applicant already holds.

Some services decide on what the city itself issued, not only on what the agencies say (a renewal
needs the permit it renews). The catalogue states what it needs through this interface; the
applications layer implements it over the certificates table, scoped to one applicant, so a service
can never read another person's certificate (an unknown serial and someone else's look the same).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Protocol


@dataclass(frozen=True)
class HeldCertificate:
    serial: str
    service: str
    status: str  # issued | revoked | superseded (as recorded; expiry is judged against `expires_on`)
    expires_on: date  # the last valid day, Shanghai time
    facts: dict[str, str]  # what the document states, label -> value (e.g. 居住地址)
    pdf_sha256: str  # the evidence a check relied on: the document exactly as issued

    def current_on(self, day: date) -> bool:
        """Issued, not revoked or replaced, and not past its last day."""
        return self.status == "issued" and day <= self.expires_on


@dataclass(frozen=True)
class CertificateFamily:
    """Certificates a person holds one of at a time (docs/api.md#one-valid-residence-permit: the residence permit,
    new, renewed or moved). Issuing one supersedes every other of the family that its holder `still_holds` (valid, or
    for a permit still renewable), and the database keeps one newest per person (`name` keys it)."""

    name: str
    services: frozenset[str]
    still_holds: Callable[[HeldCertificate, date], bool]


class OwnRecords(Protocol):
    async def certificate(self, serial: str) -> HeldCertificate | None:
        """The applicant's own certificate with this serial; None when there is none or it is not theirs."""
        ...

    async def certificates(self, services: frozenset[str]) -> list[HeldCertificate]:
        """Every certificate the applicant holds of these services, any status."""
        ...
