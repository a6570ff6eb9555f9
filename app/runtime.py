"""Everything a request or the worker needs, built once in the lifespan and injected (never at import)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.audit.service import AuditLog
from app.auth.tokens import TokenVerifier
from app.certificates.issuing import CertificateIssuer
from app.config import Settings
from app.ratelimit import RateLimiter
from app.storage import BlobStore
from integrations.agencies import Agencies


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    audit: AuditLog
    agencies: Agencies
    issuer: CertificateIssuer
    token_verifier: TokenVerifier
    limiter: RateLimiter
    storage: BlobStore  # where material and PDF bytes live (STORAGE_URL)


# Dependencies are `async def` even when they never await: FastAPI runs plain `def` ones in a thread pool.
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime



async def _session(runtime: Annotated[Runtime, Depends(get_runtime)]):  # type: ignore[no-untyped-def]
    async with runtime.sessionmaker() as session:
        yield session


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
# scope="function": the session closes when the handler returns, before the response is sent, so
# the middleware's request-log write never waits on a connection this request still holds.
SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]
