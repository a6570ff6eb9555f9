from __future__ import annotations

import asyncio
from contextlib import suppress

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from app.api.collaborators import Collaborators
from app.api.deps import CollaboratorsDep
from app.api.readiness import agency_reasons
from app.errors import NotFound, problem_responses
from app.i18n import Text
from app.observability import metrics_registry
from app.stats.gauges import sample_backlogs, sample_breakers

router = APIRouter(tags=["public"])


@router.get("/healthz", operation_id="liveness", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="readiness",
    summary="Readiness: the database, the identity provider's keys and the agencies answer",
    description="200 while the database answers and the identity provider's keys are loaded (OpenID Connect "
    "discovery and its JWKS, or AUTH_JWKS_URL), even with an agency down (applications then wait in "
    "`pending_agency`). Each agency is probed with our credentials (cached a few seconds): `ok`, `unauthorized` "
    "(it refuses our token or certificate: 401/403), `tls_error` (no TLS session) or `unavailable` (no answer in "
    "time, or 5xx); any other than `ok` is named in `unavailable`, with a reason in Chinese and English in "
    "`reasons`. 503 when the database is unreachable or no "
    "token could be checked (`identity_provider`: `unavailable`).",
    responses={503: {"description": "Not ready; the body says which dependency failed"}},
)
async def readyz(collaborators: CollaboratorsDep) -> JSONResponse:
    database, identity_provider, agencies = await asyncio.gather(
        _database(collaborators),
        _identity_provider(collaborators),
        collaborators.agency_probes.statuses(
            {"police": collaborators.agencies.police.http, "housing": collaborators.agencies.housing.http}
        ),
    )
    checks = {"database": database, "identity_provider": identity_provider, **agencies}
    # Agencies failing degrades (applications wait in pending_agency); without the database, or without
    # keys to check a token with, every call would fail: not ready.
    ready = database == "ok" and identity_provider == "ok"
    unavailable = sorted(name for name, state in checks.items() if state != "ok")
    body = {"status": "ready" if ready else "not_ready", "checks": checks, "unavailable": unavailable}
    return JSONResponse(
        {**body, "reasons": agency_reasons(agencies)},
        status_code=200 if ready else 503,
    )


async def _database(collaborators: Collaborators) -> str:
    try:
        async with asyncio.timeout(2):
            async with collaborators.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception:  # readiness reports, it never raises
        return "unavailable"
    return "ok"


async def _identity_provider(collaborators: Collaborators) -> str:
    try:
        async with asyncio.timeout(2):
            loaded = await collaborators.token_verifier.keys_loaded()
    except Exception:  # a timeout, or anything the key source raised: tokens cannot be checked now
        return "unavailable"
    return "ok" if loaded else "unavailable"


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics",
    description="404 when METRICS_PORT is set: the metrics are then served on that port only.",
    response_class=Response,
    responses=problem_responses(NotFound),
)
async def metrics(collaborators: CollaboratorsDep) -> Response:
    if collaborators.settings.metrics_port is not None:
        # Not on the public listener: what the metrics say (routes, backlogs, breakers) is for operators.
        raise NotFound(Text("指标仅在 METRICS_PORT 端口提供", "Metrics are served on METRICS_PORT only"))
    await sample_breakers(collaborators.agencies)
    with suppress(TimeoutError):
        async with asyncio.timeout(1):
            await sample_backlogs(collaborators.sessionmaker)
    return Response(generate_latest(metrics_registry()), media_type=CONTENT_TYPE_LATEST)
