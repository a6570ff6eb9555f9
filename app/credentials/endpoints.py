"""Wallet credentials (SD-JWT VC), the issuer's published keys and the Token Status Lists (docs/sharing.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from app.api.deps import (
    Citizen,
    CollaboratorsDep,
    ContextDep,
    UnitOfWorkDep,
    audit_action,
    known_query_params_only,
)
from app.api.query_params import UnknownParameter
from app.certificates.errors import CertificateNotFound, CertificateNotInForce
from app.clock import utc_now
from app.credentials import service, statuslist
from app.credentials.errors import InvalidHolderKey, StatusListNotFound
from app.errors import ConcurrentChange, Forbidden, Unauthenticated, problem_responses

router = APIRouter(prefix="/v1")
well_known_router = APIRouter(tags=["public"])

HolderJwk = Annotated[
    str | None,
    Query(
        # base64url only (so ASCII): an RSA-4096 JWK fits, and the request line stays far below the header limit.
        max_length=2048,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The wallet's public key as a JWK (EC P-256 or RSA), base64url-encoded JSON: the credential is "
        "then bound to it (`cnf.jwk`), and a presentation needs a key-binding JWT signed with it.",
    ),
]


@router.get(
    "/certificates/{serial}/credential",
    operation_id="get_certificate_credential",
    dependencies=[known_query_params_only, audit_action("certificate.credential")],
    summary="The certificate as an SD-JWT VC for a wallet",
    description="`application/dc+sd-jwt`: the issuer-signed JWT (`vct` naming the service, `iss` the service's "
    "public base URL, `status` a reference into `GET /v1/status-lists/{id}`) followed by one disclosure per "
    "field (`service`, `serial`, `holder_name`, `id_number_masked`, `id_number`, `issued_at`, `expires_at`, "
    "`details`). The wallet keeps them all and shows a verifier only those it chooses. Only of a certificate "
    "in force (else 409 `CERTIFICATE_NOT_VALID`).",
    tags=["citizen"],
    response_class=Response,
    responses={
        200: {"content": {service.CREDENTIAL_MEDIA_TYPE: {"schema": {"type": "string"}}}, "description": "SD-JWT VC"},
        **problem_responses(
            Unauthenticated,
            Forbidden,
            CertificateNotFound,
            CertificateNotInForce,
            InvalidHolderKey,
            ConcurrentChange,
            UnknownParameter,
        ),
    },
)
async def get_credential(
    serial: str,
    principal: Citizen,
    collaborators: CollaboratorsDep,
    work: UnitOfWorkDep,
    ctx: ContextDep,
    holder_jwk: HolderJwk = None,
) -> Response:
    token = await service.credential(
        work=work,
        hasher=collaborators.hasher,
        issuer=collaborators.credentials,
        clock=utc_now,
        ctx=ctx,
        principal=principal,
        serial=serial,
        holder_jwk=holder_jwk,
    )
    return Response(token, media_type=service.CREDENTIAL_MEDIA_TYPE, headers={"Cache-Control": "no-store"})


@router.get(
    "/status-lists/{list_id}",
    operation_id="get_status_list",
    summary="A Token Status List (public)",
    description="`application/statuslist+jwt`, signed with the credentials' issuer key: one bit per credential, "
    "set when its certificate is revoked or replaced. Fetched whole, so the service cannot tell which "
    "credential a verifier checks.",
    tags=["public"],
    response_class=Response,
    responses={
        200: {"content": {statuslist.MEDIA_TYPE: {"schema": {"type": "string"}}}, "description": "Status List Token"},
        **problem_responses(StatusListNotFound),
    },
)
async def get_status_list(
    list_id: Annotated[int, Path(ge=1, le=2**31 - 1)], collaborators: CollaboratorsDep, work: UnitOfWorkDep
) -> Response:
    token = await service.status_list_token(
        session=work.session, issuer=collaborators.credentials, list_id=list_id, now=utc_now()
    )
    # Cacheable for as long as the token's `ttl` says a verifier may keep it.
    headers = {"Cache-Control": f"public, max-age={statuslist.TTL_SECONDS}"}
    return Response(token, media_type=statuslist.MEDIA_TYPE, headers=headers)


@well_known_router.get(
    "/.well-known/jwt-vc-issuer",
    operation_id="jwt_vc_issuer_metadata",
    summary="JWT VC Issuer Metadata: the keys that sign wallet credentials and status lists",
    description="`{issuer, jwks}`; the current key and, after a rotation, the earlier ones (SIGNING_TRUSTED_CERTS), "
    "so that credentials issued before it still verify.",
)
async def jwt_vc_issuer(collaborators: CollaboratorsDep) -> dict[str, Any]:
    return collaborators.credentials.metadata()
