"""Verifying the identity provider's JWTs (docs/security.md, "Tokens and roles").

This is the only module that imports PyJWT. The rules:

- The algorithm comes from our configuration (`ALLOWED_ALGORITHMS`) and from the JWK the `kid` names
  (RSA -> RS256, EC P-256 -> ES256), never from the token. The header is read unverified only to
  find the `kid` and to refuse, early, a token whose `alg` is not that one algorithm (`none`, HS*,
  an RSA `alg` on an EC key, ...). PyJWT is always called with `algorithms=[<that one algorithm>]` and
  a key object built for it, so an HS256 token "signed" with the public key can never verify.
- Compact JWS only: a 5-part (JWE) token is refused before PyJWT sees it, and so is anything over
  `MAX_TOKEN_LENGTH` characters or outside the base64url alphabet.
- `exp`, `iat`, `iss`, `aud`, `sub` are required; `nbf` and `jti` are optional (RFC 9068 makes `jti`
  optional in an access token, and stock providers leave it out); `exp`/`nbf`/`iat` allow `leeway_s` of
  clock skew. PyJWT checks them and this module checks them again, more strictly (numbers must be JSON
  numbers, not strings or booleans; `iat` must not be in the future), and turns the failure into a short
  machine `reason` rather than the library's message text.
- Access tokens only: an OpenID Connect ID token is refused (`ID_TOKEN`, see app.auth.token_kinds).

Roles and the claims each role needs are checked elsewhere (app.auth's FastAPI dependencies).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jwt
from jwt.exceptions import PyJWKError, PyJWTError
from jwt.types import Options

from app.auth.jwks import MAX_KID_LENGTH, KeySource, KeysUnavailable
from app.auth.token_kinds import is_id_token

ALLOWED_ALGORITHMS = ("RS256", "ES256")
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")
MAX_TOKEN_LENGTH = 8 * 1024
# `sub` names the caller in every record we keep (String(255) columns): a longer one could not be stored.
MAX_SUB_LENGTH = 255
MIN_RSA_BITS = 2048
# An identity provider issues short-lived tokens; one valid for longer than a day is a stolen-forever
# credential (or a forged `exp`), so it is refused however good its signature.
MAX_LIFETIME_S = 24 * 3600
# Verified tokens remembered (exact token string -> claims): a client sends the same token on every
# request until it expires, and the full check (ES256 + claims) is most of an authenticated read's
# token cost. Bounded so that a flood of distinct valid tokens costs memory only up to this many.
VERIFIED_CACHE_SIZE = 10_000

# Reasons (InvalidToken.reason). All mean 401 except KEYS_UNAVAILABLE, which means we could not check.
MALFORMED = "malformed"
TOKEN_TOO_LARGE = "token_too_large"
JWE_NOT_ALLOWED = "jwe_not_allowed"
UNSUPPORTED_HEADER = "unsupported_header"
ALGORITHM_NOT_ALLOWED = "algorithm_not_allowed"
MISSING_KID = "missing_kid"
UNKNOWN_KID = "unknown_kid"
UNSUPPORTED_KEY = "unsupported_key"
KEYS_UNAVAILABLE = "keys_unavailable"
BAD_SIGNATURE = "bad_signature"
MISSING_CLAIM = "missing_claim"
INVALID_CLAIM = "invalid_claim"
EXPIRED = "expired"
EXPIRES_TOO_LATE = "expires_too_late"
NOT_YET_VALID = "not_yet_valid"
ISSUED_IN_FUTURE = "issued_in_future"
WRONG_ISSUER = "wrong_issuer"
WRONG_AUDIENCE = "wrong_audience"
ID_TOKEN = "id_token_not_accepted"

_SEGMENT = re.compile(r"^[A-Za-z0-9_-]*$")
_EC_ALG_BY_CURVE = {"P-256": "ES256"}


class InvalidToken(Exception):
    """The token is not acceptable. `reason` is a short machine string (see the constants above);
    `detail` is a human sentence that never contains token content."""

    def __init__(self, reason: str, detail: str | None = None):
        super().__init__(reason if detail is None else f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail or reason.replace("_", " ")


def _b64url_decode(segment: str) -> bytes:
    if not _SEGMENT.match(segment):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _b64url_uint(value: Any) -> int:
    if not isinstance(value, str) or not value:
        raise ValueError("not a base64url integer")
    return int.from_bytes(_b64url_decode(value), "big")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_unicode(claims: dict[str, Any]) -> bool:
    try:
        json.dumps(claims, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, TypeError, ValueError):
        return False
    return True


def _algorithm_for_key(jwk: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The one algorithm this JWK may verify, and the JWK reduced to its public members.

    Raises InvalidToken(UNSUPPORTED_KEY) for anything but an RSA (>= 2048 bit) or EC P-256 signing key.
    """
    kty = jwk.get("kty")
    if kty == "RSA":
        alg = "RS256"
        try:
            bits = _b64url_uint(jwk.get("n")).bit_length()
            _b64url_uint(jwk.get("e"))
        except (ValueError, binascii.Error):
            raise InvalidToken(UNSUPPORTED_KEY, "the RSA key is malformed") from None
        if bits < MIN_RSA_BITS:
            raise InvalidToken(UNSUPPORTED_KEY, f"RSA keys under {MIN_RSA_BITS} bits are not accepted")
        public = {"kty": "RSA", "n": jwk["n"], "e": jwk["e"]}
    elif kty == "EC":
        curve_alg = _EC_ALG_BY_CURVE.get(str(jwk.get("crv")))
        if curve_alg is None:
            raise InvalidToken(UNSUPPORTED_KEY, "only the P-256 curve is accepted")
        alg = curve_alg
        if not isinstance(jwk.get("x"), str) or not isinstance(jwk.get("y"), str):
            raise InvalidToken(UNSUPPORTED_KEY, "the EC key is malformed")
        public = {"kty": "EC", "crv": jwk["crv"], "x": jwk["x"], "y": jwk["y"]}
    else:
        raise InvalidToken(UNSUPPORTED_KEY, "only RSA and EC signing keys are accepted")
    if alg not in ALLOWED_ALGORITHMS:
        raise InvalidToken(UNSUPPORTED_KEY, "the key's algorithm is not allowed")
    if "alg" in jwk and jwk["alg"] != alg:
        raise InvalidToken(UNSUPPORTED_KEY, "the key is published for another algorithm")
    if "use" in jwk and jwk["use"] != "sig":
        raise InvalidToken(UNSUPPORTED_KEY, "the key is not published for signatures")
    key_ops = jwk.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        raise InvalidToken(UNSUPPORTED_KEY, "the key is not published for verification")
    return alg, public


def _split(token: str) -> tuple[dict[str, Any], str]:
    """Cheap structural checks before any cryptography: returns the unverified header and the alg."""
    if not isinstance(token, str):
        raise InvalidToken(MALFORMED, "the token is not a string")
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken(TOKEN_TOO_LARGE, f"tokens over {MAX_TOKEN_LENGTH} characters are refused")
    parts = token.split(".")
    if len(parts) == 5:
        raise InvalidToken(JWE_NOT_ALLOWED, "encrypted tokens (JWE) are not accepted")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise InvalidToken(MALFORMED, "a token has three dot-separated parts")
    try:
        header = json.loads(_b64url_decode(parts[0]))
        _b64url_decode(parts[1])
        _b64url_decode(parts[2])
    except (ValueError, binascii.Error):
        raise InvalidToken(MALFORMED, "the token is not base64url-encoded JSON") from None
    if not isinstance(header, dict):
        raise InvalidToken(MALFORMED, "the token header is not a JSON object")
    if "enc" in header or "zip" in header:
        raise InvalidToken(JWE_NOT_ALLOWED, "encrypted tokens (JWE) are not accepted")
    if "crit" in header or header.get("b64") is False:
        raise InvalidToken(UNSUPPORTED_HEADER, "critical header extensions are not supported")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
        raise InvalidToken(ALGORITHM_NOT_ALLOWED, "only RS256 and ES256 are accepted")
    return header, alg


class _Verified(NamedTuple):
    kid: str
    jwk: dict[str, Any]  # the key as published when the token was checked
    claims: dict[str, Any]
    until: float  # the token's `exp`: never served from the cache past it


class TokenVerifier:
    """Verifies bearer tokens against a `KeySource`.

    `await verify(token)` returns the claims (a dict) or raises `InvalidToken`.

    A token that passed the full check is remembered (LRU, `VERIFIED_CACHE_SIZE` entries) until its
    `exp`, without the leeway: within the leeway, and for every token seen the first time, the full
    check runs. A remembered token is served only while its `kid` still names the very key it was
    checked with, so a key rotated away (or replaced under the same kid) refuses it at once. Refusals
    are never remembered.
    """

    def __init__(
        self,
        *,
        keys: KeySource,
        issuer: str,
        audience: str,
        leeway_s: int = 60,
        clock: Callable[[], float] = time.time,
        cache_size: int = VERIFIED_CACHE_SIZE,
    ):
        if not issuer or not audience:
            raise ValueError("issuer and audience must be configured")
        if leeway_s < 0:
            raise ValueError("leeway_s must be >= 0")
        self._keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway_s = int(leeway_s)
        # PyJWT key objects built from JWKs, by the JWK's public members (so a rotated key under an
        # old kid is never confused with its predecessor).
        self._key_cache: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}
        self._clock = clock
        self._cache_size = max(0, cache_size)
        # Insertion order is recency order: a hit is moved to the end, the oldest is evicted first.
        self._verified: dict[str, _Verified] = {}
        # Built once: PyJWT reads it, it never changes.
        self._options: Options = {
            "verify_signature": True,
            "verify_aud": True,
            "verify_iat": True,
            "verify_exp": True,
            "verify_nbf": True,
            "verify_iss": True,
            "verify_sub": True,
            "verify_jti": True,
            "require": list(REQUIRED_CLAIMS),
        }

    @property
    def keys(self) -> KeySource:
        """Where the identity provider's keys come from (for readiness, metrics and tests)."""
        return self._keys

    async def keys_loaded(self) -> bool:
        """Can tokens be checked at all: are the identity provider's keys at hand (for readiness)?

        A key source that cannot fail (a JWKS file) has no `loaded`; a remote one loads on demand."""
        loaded = getattr(self._keys, "loaded", None)
        return True if loaded is None else bool(await loaded())

    async def verify(self, token: str) -> dict[str, Any]:
        hit = self._verified.get(token) if isinstance(token, str) else None
        if hit is not None:
            jwk: dict[str, Any] | None = None
            if self._clock() < hit.until:
                try:
                    jwk = await self._keys.key_for(hit.kid)
                except KeysUnavailable:
                    jwk = None  # the full check below says why
            # Out of the cache either way; put back last (most recently used) if still good.
            self._verified.pop(token, None)
            if jwk is not None and jwk == hit.jwk:
                self._verified[token] = hit
                return dict(hit.claims)  # a copy: callers may not change what the cache holds
        claims, kid, key_used = await self._verify_fully(token)
        if self._cache_size and kid is not None:
            if len(self._verified) >= self._cache_size:
                del self._verified[next(iter(self._verified))]
            self._verified[token] = _Verified(kid, key_used, dict(claims), float(claims["exp"]))
        return claims

    async def _verify_fully(self, token: str) -> tuple[dict[str, Any], str | None, dict[str, Any]]:
        """The full check. Returns the claims, the kid the token itself names (None when it names none
        and the set's sole key was used: such a token is not remembered, since whether it may omit its
        kid depends on how many keys the set holds) and the key it was checked with."""
        header, header_alg = _split(token)
        named_kid = header.get("kid")

        kid = named_kid
        if kid is None and hasattr(self._keys, "sole_kid"):
            # Only a remote identity provider's set (OpenID Connect Core 1.0 section 10.1: kid may be omitted when it holds one key).
            with contextlib.suppress(KeysUnavailable):
                kid = await self._keys.sole_kid()
        if kid is None:
            raise InvalidToken(MISSING_KID, "the token names no key (kid)")
        if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH:
            raise InvalidToken(MALFORMED, "the token's kid is not a short string")
        try:
            jwk = await self._keys.key_for(kid)
        except KeysUnavailable:
            raise InvalidToken(KEYS_UNAVAILABLE, "the identity provider's keys cannot be loaded") from None
        if jwk is None:
            raise InvalidToken(UNKNOWN_KID, "the token is signed with a key we do not know")

        alg, public = _algorithm_for_key(jwk)
        if header_alg != alg:
            # e.g. RS256 claimed for an EC key; the key decides, not the token.
            raise InvalidToken(ALGORITHM_NOT_ALLOWED, "the token's algorithm does not match its key")
        key = self._library_key(alg, public)

        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                options=self._options,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
            )
        except (PyJWTError, TypeError, ValueError):
            # Whatever PyJWT raised (TypeError/ValueError: an odd claim value reaching its comparisons),
            # the token is refused; to say why, check the signature on its own and read the claims.
            raise InvalidToken(*self._why_refused(token, key, alg)) from None

        problem = self._claims_problem(claims)
        if problem is None and is_id_token(header, claims):
            # An ID token says who logged in to a client, not what an API may be asked: the client sent the
            # wrong one of its two tokens (OpenID Connect Core 1.0 section 2, RFC 9068 section 1).
            problem = ID_TOKEN, "an ID token is not an access token; send the access token"
        if problem is not None:
            raise InvalidToken(*problem)
        return claims, (kid if named_kid is not None else None), jwk

    # -- internals ----------------------------------------------------------------------------------

    def _library_key(self, alg: str, public: dict[str, str]) -> Any:
        cache_key = (alg, tuple(sorted(public.items())))
        key = self._key_cache.get(cache_key)
        if key is None:
            try:
                key = jwt.PyJWK(public, algorithm=alg).key
            except (PyJWKError, PyJWTError, ValueError, TypeError):
                raise InvalidToken(UNSUPPORTED_KEY, "the published key cannot be loaded") from None
            if len(self._key_cache) > 256:
                self._key_cache.clear()
            self._key_cache[cache_key] = key
        return key

    def _why_refused(self, token: str, key: Any, alg: str) -> tuple[str, str]:
        try:
            payload = jwt.api_jws.decode(token, key, algorithms=[alg])
        except (PyJWTError, TypeError, ValueError):
            return BAD_SIGNATURE, "the signature does not verify"
        # The signature is good, so the payload is authentic: find out what is wrong with it.
        try:
            verified_claims = json.loads(payload)
        except ValueError:
            return MALFORMED, "the token's claims are not JSON"
        return self._claims_problem(verified_claims) or (INVALID_CLAIM, "a claim is invalid")

    def _claims_problem(self, claims: Any) -> tuple[str, str] | None:
        """Our own check of the standard claims: (reason, detail), or None if they are acceptable."""
        if not isinstance(claims, dict):
            return MALFORMED, "the token's claims are not a JSON object"
        for name in REQUIRED_CLAIMS:
            if name not in claims:
                return MISSING_CLAIM, f"the token has no {name} claim"
        for name in ("exp", "iat", "nbf"):
            if name in claims and not _is_number(claims[name]):
                return INVALID_CLAIM, f"{name} must be a number"
        for name in ("sub", "jti", "iss"):
            if name in claims and (not isinstance(claims[name], str) or not claims[name]):
                return INVALID_CLAIM, f"{name} must be a non-empty string"
        if len(claims["sub"]) > MAX_SUB_LENGTH:
            return INVALID_CLAIM, f"sub is longer than {MAX_SUB_LENGTH} characters"
        if not _is_unicode(claims):
            # JSON may escape a lone surrogate ("\ud800"): a string no database or log line can hold.
            return INVALID_CLAIM, "the token's claims are not valid Unicode"

        if claims["iss"] != self.issuer:
            return WRONG_ISSUER, "the token is from another issuer"
        aud = claims["aud"]
        audiences = [aud] if isinstance(aud, str) else aud
        if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
            return INVALID_CLAIM, "aud must be a string or a list of strings"
        if self.audience not in audiences:
            return WRONG_AUDIENCE, "the token is meant for another audience"

        now = self._clock()
        if now > claims["exp"] + self.leeway_s:
            return EXPIRED, "the token has expired"
        if claims["exp"] > now + MAX_LIFETIME_S + self.leeway_s:
            return EXPIRES_TOO_LATE, "the token expires more than a day from now"
        if "nbf" in claims and claims["nbf"] > now + self.leeway_s:
            return NOT_YET_VALID, "the token is not valid yet"
        if claims["iat"] > now + self.leeway_s:
            return ISSUED_IN_FUTURE, "the token claims to be issued in the future"
        return None


def sign_token(claims: Mapping[str, Any], private_key_pem: bytes | str, *, algorithm: str, kid: str) -> str:
    """Sign claims as a compact JWS (for development tokens and tests; the service never signs).

    `algorithm` must be one of ALLOWED_ALGORITHMS.
    """
    if algorithm not in ALLOWED_ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALLOWED_ALGORITHMS}")
    pem = private_key_pem.decode("ascii") if isinstance(private_key_pem, bytes) else private_key_pem
    return jwt.encode(dict(claims), pem, algorithm=algorithm, headers={"kid": kid, "typ": "JWT"})
