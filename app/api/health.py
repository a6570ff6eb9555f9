from __future__ import annotations

import asyncio
from contextlib import suppress

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from app.api.readiness import AgencyProbes
from app.observability import metrics_registry
from app.runtime import RuntimeDep
from app.stats.gauges import sample_backlogs, sample_breakers

router = APIRouter(tags=["public"])


@router.get("/healthz", operation_id="liveness", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="readiness",
    summary="Readiness: the database and the agencies answer",
    description="200 while the database answers, even with an agency down (applications then wait in "
    "`pending_agency`); each agency is probed (cached a few seconds) and named in `unavailable` when it does "
    "not answer. 503 only when the database is unreachable.",
    responses={503: {"description": "Not ready; the body says which dependency failed"}},
)
async def readyz(request: Request, runtime: RuntimeDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(2):
            async with runtime.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # readiness reports, it never raises
        checks["database"] = "unavailable"
    probes: AgencyProbes = getattr(request.app.state, "agency_probes", None) or AgencyProbes()
    request.app.state.agency_probes = probes
    checks.update(await probes.statuses({"police": runtime.agencies.police.http,
                                         "housing": runtime.agencies.housing.http}))
    # Agencies being down degrades (applications wait in pending_agency); only the database makes us unready.
    ready = checks["database"] == "ok"
    unavailable = sorted(name for name, state in checks.items() if state != "ok")
    return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks, "unavailable": unavailable},
                        status_code=200 if ready else 503)


@router.get("/metrics", operation_id="metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    await sample_breakers(runtime.agencies)
    with suppress(TimeoutError):
        async with asyncio.timeout(1):
            await sample_backlogs(runtime.sessionmaker)
    return Response(generate_latest(metrics_registry()), media_type=CONTENT_TYPE_LATEST)
