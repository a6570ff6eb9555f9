"""The collaborators the lifespan builds once (app.main.build_collaborators), and the one way a request
reaches them. The composition root, not a service locator: the domain never sees this object, only the
arguments the routes take from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.api.readiness import AgencyProbes
from app.api.slow_clients import UploadSlots
from app.applications.decision_kit import DecisionKit
from app.applications.turns import FilingTurns
from app.applications.worker import AgencyRetries
from app.audit.anchors import Anchor
from app.audit.service import AuditLog
from app.auth.principal import ClaimNames, Principals
from app.auth.tokens import TokenVerifier
from app.certificates.issuing import CertificateIssuer
from app.config import Settings
from app.credentials.service import CredentialIssuer
from app.db.uow import UnitOfWorkFactory
from app.identity.subjects import SubjectHasher
from app.ratelimit import RateLimiter
from app.stations.registry import StationRegistry
from app.stations.slots import BookingPolicy
from app.storage import BlobStore
from integrations.agencies import Agencies


@dataclass
class Collaborators:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    read_engine: AsyncEngine  # AUTOCOMMIT, the hot reads: own pool on PostgreSQL (app.db.session.create_read_engine)
    read_sessions: async_sessionmaker[AsyncSession]  # sessions on `read_engine`, for hot reads of mapped objects
    uow: UnitOfWorkFactory
    audit: AuditLog
    agencies: Agencies
    issuer: CertificateIssuer
    token_verifier: TokenVerifier
    limiter: RateLimiter
    decisions: DecisionKit  # what filing, re-checks, supplied materials and the retry job decide with
    worker: AgencyRetries
    storage: BlobStore  # where material and PDF bytes live (STORAGE_URL)
    claim_names: ClaimNames  # where the identity provider puts roles, id number and name
    agency_probes: AgencyProbes  # readiness: each agency probed, cached a few seconds
    upload_slots: UploadSlots  # uploads in flight per client address, in this process
    filing_turns: FilingTurns  # filings this process works on at once (FILINGS_AT_ONCE)
    stations: StationRegistry  # the police stations with comprehensive windows (STATIONS_FILE)
    credentials: CredentialIssuer  # signs wallet credentials and status lists (the PDF signing key)
    anchor: Anchor | None = None  # where signed audit checkpoints are also appended (AUDIT_ANCHOR_URL)
    principals: Principals = field(default_factory=Principals)  # the principal of each recently seen token

    @property
    def hasher(self) -> SubjectHasher:
        return self.audit.hasher

    async def aclose(self) -> None:
        """Release what the collaborators hold open: the PDF processes, the agencies' connections, the
        database pools, the object store's client, the anchor. The one ending for `serve` and `worker`."""
        await self.issuer.pdfs.aclose()
        await self.agencies.aclose()
        if self.read_engine.pool is not self.engine.pool:
            await self.read_engine.dispose()
        await self.engine.dispose()
        self.storage.close()
        if self.anchor is not None:
            await self.anchor.close()

    @property
    def materials_wait_limit(self) -> timedelta:
        return timedelta(seconds=self.settings.materials_wait_limit)

    @property
    def booking(self) -> BookingPolicy:
        return BookingPolicy(
            slot_minutes=self.settings.appointment_slot_minutes,
            capacity=self.settings.appointment_slot_capacity,
            booking_days=self.settings.appointment_booking_days,
        )


def collaborators_of(app: Any) -> Collaborators | None:
    """The lifespan's collaborators (None before it ran or after it ended): the only reader of `app.state`."""
    return getattr(app.state, "collaborators", None)


def install_collaborators(app: Any, collaborators: Collaborators | None) -> None:
    app.state.collaborators = collaborators
