"""Logging in at oidc-provider-mock (a real OpenID Connect provider, run in a thread) as a person would:
the authorization-code flow, ending with the provider's signed ID token."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import oidc_provider_mock

CLIENT_ID = "cityservices"
REDIRECT_URI = "http://127.0.0.1:9/callback"  # never followed: the code is read from the redirect


@contextmanager
def running_provider() -> Iterator[str]:
    """Yields the issuer URL (`http://127.0.0.1:<port>`, exactly as the provider names itself)."""
    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://127.0.0.1:{server.server_port}"


def login(issuer: str, *, sub: str, claims: dict[str, Any]) -> str:
    """The ID token the provider issues to CLIENT_ID for `sub` carrying `claims`."""
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
        return str(token.json()["id_token"])
