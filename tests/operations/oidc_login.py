"""Logging in at oidc-provider-mock (a real OpenID Connect provider, run in a thread) as a person would:
the authorization-code flow, ending with the provider's signed access token and ID token.

Out of the box the provider's access tokens are opaque strings; a stock provider's are JWTs, which is
what the service checks. So the provider is given authlib's own access-token generator hook
(`OAUTH2_ACCESS_TOKEN_GENERATOR`) issuing RFC 9068 tokens the way stock providers do: `typ: at+jwt`,
signed with the provider's key (the one its JWKS publishes), `aud` the client id, the user's claims,
and no `jti` (RFC 9068 makes it optional; Auth0 and Azure AD leave it out).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import flask
import httpx
import oidc_provider_mock
import werkzeug.serving
from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "cityservices"
REDIRECT_URI = "http://127.0.0.1:9/callback"  # never followed: the code is read from the redirect
ACCESS_TOKEN_SECONDS = 3600


def _rfc9068_access_token(client: Any, grant_type: str, user: Any, scope: str) -> str:
    """authlib calls this inside the token request: the provider's storage and key are at hand."""
    published = flask.g.oidc_provider_mock_storage.jwk.as_dict(is_private=True)
    key = RSAKey.import_key(published)
    now = int(time.time())
    claims = {
        **user.claims,
        "iss": flask.request.host_url.rstrip("/"),
        "sub": user.sub,
        "aud": client.get_client_id(),
        "client_id": client.get_client_id(),
        "scope": scope,
        "iat": now,
        "exp": now + ACCESS_TOKEN_SECONDS,
    }
    header = {"alg": "RS256", "typ": "at+jwt", **({"kid": published["kid"]} if published.get("kid") else {})}
    return str(jwt.encode(header, claims, key))


@contextmanager
def running_provider() -> Iterator[str]:
    """Yields the issuer URL (`http://127.0.0.1:<port>`, exactly as the provider names itself)."""
    app = flask.Flask("oidc-provider")
    app.config["OAUTH2_ACCESS_TOKEN_GENERATOR"] = _rfc9068_access_token
    oidc_provider_mock.init_app(app)
    app.secret_key = secrets.token_bytes(16)
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass(frozen=True)
class Tokens:
    access_token: str
    id_token: str


def login(issuer: str, *, sub: str, claims: dict[str, Any]) -> Tokens:
    """The tokens the provider issues to CLIENT_ID for `sub` carrying `claims`."""
    with httpx.Client(base_url=issuer, timeout=10) as http:
        assert http.put(f"/users/{quote(sub, safe='')}", json=claims).status_code == 204
        config = http.get("/.well-known/openid-configuration").json()
        authorize = http.post(
            config["authorization_endpoint"],
            params={
                "client_id": CLIENT_ID,
                "redirect_uri": REDIRECT_URI,
                "response_type": "code",
                "scope": "openid profile",
                "nonce": secrets.token_hex(8),
                "state": "s",
            },
            data={"sub": sub},
        )
        assert authorize.status_code in (302, 303), authorize.text
        code = parse_qs(urlsplit(authorize.headers["location"]).query)["code"][0]
        token = http.post(
            config["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
            },
            auth=(CLIENT_ID, "secret"),
        )
        assert token.status_code == 200, token.text
        body = token.json()
        return Tokens(access_token=str(body["access_token"]), id_token=str(body["id_token"]))
