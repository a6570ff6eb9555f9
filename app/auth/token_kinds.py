"""Access token or ID token? Only access tokens are accepted as API tokens (docs/security.md, "Tokens and roles").

An identity provider signs both with the same key, for the same audience (the client id), so a valid
signature does not tell them apart. What does, in the order it is trusted:

1. An explicit access-token marker: the `typ` header `at+jwt` (RFC 9068 section 2.1, also written
   `application/at+jwt`), the claim `token_use: access` (Amazon Cognito), or the claim `typ: Bearer`
   (Keycloak). Such a token is accepted even when it carries a `nonce` (Keycloak copies the login's
   nonce into its access tokens).
2. An explicit ID-token marker: `token_use: id`, or the claim `typ: ID` (Keycloak).
3. Claims only an ID token carries (OpenID Connect Core 1.0 sections 2, 3.1.3.6, 3.3.2.11): `nonce`,
   `at_hash`, `c_hash`.

A token with none of these (a plain `typ: JWT` access token, as Auth0 and our development tokens are)
is an access token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
ID_TOKEN_ONLY_CLAIMS = ("nonce", "at_hash", "c_hash")


def _lower(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) else None


def is_access_token_by_marker(header: Mapping[str, Any], claims: Mapping[str, Any]) -> bool:
    return (
        _lower(header.get("typ")) in ACCESS_TOKEN_TYPES
        or _lower(claims.get("token_use")) == "access"
        or _lower(claims.get("typ")) == "bearer"
    )


def is_id_token(header: Mapping[str, Any], claims: Mapping[str, Any]) -> bool:
    """True when the token is an OpenID Connect ID token (see the module's rules)."""
    if is_access_token_by_marker(header, claims):
        return False
    if _lower(claims.get("token_use")) == "id" or _lower(claims.get("typ")) == "id":
        return True
    return any(name in claims for name in ID_TOKEN_ONLY_CLAIMS)
