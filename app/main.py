"""create_app(): the lifespan builds the engine, the agency clients, the signer; routers; one error shape."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from pydantic import SecretStr

from app.api.collaborators import Collaborators, install_collaborators
from app.api.health import router as health_router
from app.api.middleware import RequestMiddleware
from app.api.openapi import customize_openapi
from app.api.readiness import AgencyProbes
from app.api.slow_clients import UploadSlots
from app.applications.decision_kit import DecisionKit
from app.applications.endpoints import router as applications_router
from app.applications.endpoints.cases import read_first as application_read_first
from app.applications.endpoints.cases import served_first as application_routes_first
from app.applications.turns import FilingTurns
from app.applications.worker import AgencyRetries
from app.audit.anchors import open_anchor
from app.audit.sealing import Sealer
from app.audit.service import AuditLog
from app.auth.dev_keys import ensure_dev_keys
from app.auth.jwks import KeySource, RemoteJwks, StaticJwks
from app.auth.oidc import OidcJwks
from app.auth.principal import ClaimNames
from app.auth.tokens import TokenVerifier
from app.casework.endpoints import router as casework_router
from app.catalogue.endpoints import router as services_router
from app.certificates.endpoints import page_router, public_router
from app.certificates.endpoints import public_served_first as verify_first
from app.certificates.endpoints import router as certificates_router
from app.certificates.endpoints import served_first as certificate_routes_first
from app.certificates.issuing import CertificateIssuer
from app.certificates.pdf_pool import PdfFactory
from app.certificates.signing import ensure_dev_signing_material
from app.clock import utc_now
from app.config import Settings, load_settings
from app.credentials.endpoints import router as credentials_router
from app.credentials.endpoints import well_known_router
from app.credentials.keys import IssuerKeys
from app.credentials.service import CredentialIssuer
from app.db.session import create_engine, create_read_engine, create_sessionmaker, pool_options
from app.db.uow import UnitOfWorkFactory
from app.errors import install_error_handlers
from app.heap import freeze_startup_heap
from app.identity.subjects import SubjectHasher, load_or_create_dev_key
from app.materials.endpoints import router as materials_router
from app.notifications.dispatcher import Dispatcher, build_dispatcher
from app.notifications.endpoints import router as notifications_router
from app.observability import configure_logging, forget_this_process
from app.oversight.endpoints import router as audit_router
from app.ratelimit import RateLimiter
from app.sharing.endpoints import router as sharing_router
from app.sharing.endpoints import shared_router
from app.stations.endpoints import router as stations_router
from app.stations.registry import StationRegistry
from app.stats.endpoints import router as stats_router
from app.storage import open_store
from integrations.agencies import build_agencies
from integrations.http import AgencyCredentials, ClientPolicy

logger = logging.getLogger("cityservices")

DOCS_ASSETS = "/docs/assets"

API_DESCRIPTION = """
Shanghai city services: residence permits, no-criminal-record and household-registration certificates,
decided against the police and housing-bureau records and issued as signed PDFs.

Every `/v1` route except the public ones needs `Authorization: Bearer <JWT>` from the city's identity
provider. In development, `cityservices token --role citizen --id-number … --name …` prints one; paste it
into **Authorize**. Errors are RFC 9457 problem documents with a stable `code`.
Send `Accept-Language: en` for English titles and details (Chinese is the default).
"""

TAGS = [
    {"name": "citizen", "description": "The mobile app: a citizen's own applications and certificates"},
    {"name": "window", "description": "Clerks at the police stations' comprehensive windows"},
    {"name": "audit", "description": "Auditors: the request log, statistics, read-only views"},
    {"name": "public", "description": "No token needed: catalogue, verification, health"},
]


def _key_source(settings: Settings) -> KeySource:
    if settings.auth_jwks_file is not None:
        return StaticJwks.from_file(settings.auth_jwks_file)
    if settings.auth_jwks_url is not None:
        return RemoteJwks(str(settings.auth_jwks_url), ttl_s=settings.auth_jwks_cache_seconds)
    if settings.auth_oidc_issuer_url is not None:
        return OidcJwks(settings.auth_oidc_issuer_url, ttl_s=settings.auth_jwks_cache_seconds)
    return StaticJwks.from_file(ensure_dev_keys(settings.data_dir))


def _agency_credentials(settings: Settings, agency: str, token: SecretStr | None) -> AgencyCredentials:
    """The agency's own certificate and CA where set (POLICE_CLIENT_CERT_FILE …), else the shared ones."""
    tls = settings.agency_tls(agency)
    return AgencyCredentials(
        client_cert_file=tls.client_cert_file,
        client_key_file=tls.client_key_file,
        ca_file=tls.ca_file,
        token=token.get_secret_value() if token else None,
    )


def build_collaborators(settings: Settings) -> Collaborators:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.resolved_database_url, **pool_options(settings))
    sessionmaker = create_sessionmaker(engine)
    read_engine = create_read_engine(
        engine, pool_size=settings.database_read_pool_size, pool_timeout=settings.database_pool_timeout_seconds
    )
    hmac_key = (
        settings.audit_hmac_key.encode() if settings.audit_hmac_key else load_or_create_dev_key(settings.data_dir)
    )
    if settings.signing_key_file and settings.signing_cert_file:
        key_file, cert_file = settings.signing_key_file, settings.signing_cert_file
    else:
        key_file, cert_file = ensure_dev_signing_material(settings.data_dir)
    storage = open_store(settings.storage_url)
    pdfs = PdfFactory(
        font_file=settings.cert_font_file,
        key_file=key_file,
        cert_file=cert_file,
        processes=settings.pdf_processes,
        trusted_certs_file=settings.signing_trusted_certs,
        tsa_url=str(settings.tsa_url) if settings.tsa_url else None,
    )
    uow = UnitOfWorkFactory(sessionmaker)
    audit = AuditLog(sessionmaker=sessionmaker, hasher=SubjectHasher(hmac_key))
    agencies = build_agencies(
        police_url=str(settings.police_api_url) if settings.police_api_url else None,
        housing_url=str(settings.housing_api_url) if settings.housing_api_url else None,
        dataset_path=settings.simulator_dataset,
        policy=ClientPolicy(
            timeout_s=settings.agency_timeout_seconds,
            deadline_s=settings.agency_deadline_seconds,
            breaker_reset_s=settings.agency_breaker_reset_seconds,
        ),
        police_credentials=_agency_credentials(settings, "police", settings.police_api_token),
        housing_credentials=_agency_credentials(settings, "housing", settings.housing_api_token),
    )
    issuer = CertificateIssuer(pdfs=pdfs, public_base_url=str(settings.public_base_url), storage=storage)
    credentials = CredentialIssuer.of(
        IssuerKeys.from_files(key_file=key_file, trusted_certs_file=settings.signing_trusted_certs),
        str(settings.public_base_url),
    )
    decisions = DecisionKit(
        audit=audit,
        agencies=agencies,
        issuer=issuer,
        clock=utc_now,
        wait_limit=timedelta(seconds=settings.agency_wait_limit),
    )
    return Collaborators(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        read_engine=read_engine,
        read_sessions=create_sessionmaker(read_engine),
        uow=uow,
        audit=audit,
        agencies=agencies,
        issuer=issuer,
        storage=storage,
        decisions=decisions,
        worker=AgencyRetries(uow=uow, kit=decisions),
        claim_names=ClaimNames.from_settings(settings),
        agency_probes=AgencyProbes(),
        upload_slots=UploadSlots(settings.uploads_per_address),
        filing_turns=FilingTurns(settings.filings_at_once),
        stations=StationRegistry.load(settings.stations_file),
        credentials=credentials,
        anchor=open_anchor(settings.audit_anchor_url),
        token_verifier=TokenVerifier(
            keys=_key_source(settings), issuer=settings.expected_issuer, audience=settings.auth_audience
        ),
        limiter=RateLimiter(
            rules={
                "filing": settings.rate_limit_filing,
                "uploads": settings.rate_limit_uploads,
                "verify": settings.rate_limit_verify,
                "stations": settings.rate_limit_stations,
                "public_stats": settings.rate_limit_public_stats,
                "reissue": settings.rate_limit_reissue,
                "shares": settings.rate_limit_shares,
            },
            redis_url=settings.redis_url,
        ),
    )


def _lifespan(
    settings: Settings, *, start_worker: bool, freeze_heap: bool = False
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        collaborators = build_collaborators(settings)
        collaborators.audit.writer.start()
        sealer = Sealer(collaborators.sessionmaker)
        sealer.start()
        await collaborators.issuer.pdfs.warm_up()
        worker: asyncio.Task[None] | None = None
        dispatcher: Dispatcher | None = None
        if settings.worker_in_process and start_worker:
            from app.background import REMINDERS, run_forever

            worker = asyncio.create_task(run_forever(collaborators), name="pending-agency-worker")
            dispatcher = build_dispatcher(settings, collaborators.sessionmaker, REMINDERS)
            dispatcher.start()
        install_collaborators(app, collaborators)
        if freeze_heap:
            freeze_startup_heap()
        try:
            yield
        finally:
            install_collaborators(app, None)
            if worker is not None:
                worker.cancel()
                with suppress(asyncio.CancelledError):
                    await worker
            if dispatcher is not None:
                await dispatcher.stop()
            await collaborators.audit.writer.stop()
            await sealer.stop()
            await collaborators.aclose()
            forget_this_process()

    return lifespan


def create_served_app() -> FastAPI:
    """The app `cityservices serve` runs in each worker process: `create_app()`, its start-up heap frozen.

    With `--workers N` uvicorn spawns each worker as a fresh interpreter that inherits nothing of the
    parent's logging set-up: without configuring it here, the request log lines would be lost."""
    configure_logging()
    return create_app(freeze_heap=True)


# Verify by code; then a citizen's: an application filed and read, a proof uploaded, a certificate's PDF.
SERVED_FIRST = (
    verify_first,
    application_routes_first,
    application_read_first,
    materials_router,
    certificate_routes_first,
)


def create_app(settings: Settings | None = None, *, start_worker: bool = True, freeze_heap: bool = False) -> FastAPI:
    settings = settings or load_settings()
    common: dict[str, Any] = {
        "title": "cityservices",
        "version": "1.0.0",
        "description": API_DESCRIPTION,
        "openapi_tags": TAGS,
        "lifespan": _lifespan(settings, start_worker=start_worker, freeze_heap=freeze_heap),
        "swagger_ui_parameters": {"persistAuthorization": True},
    }
    if settings.serve_docs:
        # Swagger UI and ReDoc with their assets served from this service: no CDN, so /docs works offline
        # and no third-party script runs next to a bearer token.
        app = FastAPIOffline(static_url=DOCS_ASSETS, **common)
    else:  # production, unless DOCS_ENABLED=true
        app = FastAPI(docs_url=None, redoc_url=None, **common)
    install_error_handlers(app)
    # The hottest routes are the app's own, first: this FastAPI matches an included router's routes twice a
    # request, each through wrappers that set and restore scope keys, and tries the routers in turn (issue 29:
    # verify spent ~0.8 M of its 3.8 M instructions reaching its route).
    app.router.routes[0:0] = [route for router in SERVED_FIRST for route in router.routes]
    for router in (
        services_router,
        applications_router,
        certificates_router,
        casework_router,
        public_router,
        audit_router,
        stats_router,
        page_router,
        health_router,
        notifications_router,
        stations_router,
        sharing_router,
        shared_router,
        credentials_router,
        well_known_router,
    ):
        app.include_router(router)
    app.add_middleware(RequestMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "Accept-Language",
                "X-Request-ID",
                "If-None-Match",
            ],
            expose_headers=["X-Request-ID", "ETag", "Retry-After", "Location"],
        )
    customize_openapi(app)
    return app
