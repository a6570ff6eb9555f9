"""Token verification (app.auth.tokens), key sources (app.auth.jwks) and dev keys (app.auth.dev_keys).

Tokens here are built two ways: with the project's own signer (`sign_token`, PyJWT) and by hand
with `cryptography` + `hmac`, so the attack tokens (alg none, HS256 keyed with the public key, JWE shape)
are exactly what an attacker would send, and valid tokens are proven to interoperate with a signer
that is not PyJWT.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import stat
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from app.auth import dev_keys
from app.auth.dev_keys import ensure_dev_keys, mint_dev_token
from app.auth.jwks import InvalidJwks, KeySource, RemoteJwks, StaticJwks
from app.auth.tokens import ALLOWED_ALGORITHMS, InvalidToken, TokenVerifier, sign_token

ISSUER = "https://idp.example.gov.cn"
AUDIENCE = "cityservices"


# -- helpers ----------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_int(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def ec_jwk(key: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "kid": kid,
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }


def rsa_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "n": b64url_int(numbers.n), "e": b64url_int(numbers.e), "use": "sig"}


def pem_private(key: Any) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def pem_public(key: Any) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def raw_jws(header: dict[str, Any], claims: Any, sign) -> str:
    """A compact JWS built by hand; `sign(signing_input: bytes) -> bytes`."""
    signing_input = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode("ascii")
    return signing_input.decode("ascii") + "." + b64url(sign(signing_input))


def es256_signer(key: ec.EllipticCurvePrivateKey):
    def sign(data: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return sign


def rs256_signer(key: rsa.RSAPrivateKey):
    return lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-42",
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "roles": ["citizen"],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not DROP}


DROP = object()


class Keys:
    """One EC and one RSA key, published in a static JWKS."""

    def __init__(self) -> None:
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec_kid = "ec-1"
        self.rsa_kid = "rsa-1"
        self.jwks = {"keys": [ec_jwk(self.ec, self.ec_kid), rsa_jwk(self.rsa, self.rsa_kid)]}

    def es256(self, payload: Any, **header: Any) -> str:
        header = {"alg": "ES256", "typ": "JWT", "kid": self.ec_kid, **header}
        return raw_jws(header, payload, es256_signer(self.ec))

    def rs256(self, payload: Any, **header: Any) -> str:
        return raw_jws({"alg": "RS256", "kid": self.rsa_kid, **header}, payload, rs256_signer(self.rsa))


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


@pytest.fixture
def verifier(keys: Keys) -> TokenVerifier:
    return TokenVerifier(keys=StaticJwks.from_dict(keys.jwks), issuer=ISSUER, audience=AUDIENCE)


async def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as info:
        await verifier.verify(token)
    assert info.value.reason  # a short machine reason, always
    return info.value.reason


# -- valid tokens -----------------------------------------------------------------------------------


async def test_dev_es256_token_verifies(tmp_path: Path) -> None:
    jwks_path = ensure_dev_keys(tmp_path)
    verifier = TokenVerifier(keys=StaticJwks.from_file(jwks_path), issuer="cityservices-dev", audience="cityservices")
    token = mint_dev_token(
        tmp_path,
        issuer="cityservices-dev",
        audience="cityservices",
        roles=["citizen"],
        id_number="11010519491231002X",
        name="张三",
    )
    verified = await verifier.verify(token)
    assert verified["roles"] == ["citizen"]
    assert verified["id_number"] == "11010519491231002X"
    assert verified["name"] == "张三"
    assert verified["iss"] == "cityservices-dev" and verified["aud"] == "cityservices"
    for claim in ("sub", "jti", "iat", "exp", "nbf"):
        assert claim in verified


async def test_rs256_token_from_rsa_jwks_verifies(keys: Keys, verifier: TokenVerifier) -> None:
    payload = claims(roles=["clerk"], station_id="310105-HQLB")
    assert await verifier.verify(keys.rs256(payload)) == payload


async def test_tokens_signed_by_pyjwt_and_by_hand_both_verify(keys: Keys, verifier: TokenVerifier) -> None:
    payload = claims()
    by_pyjwt_rsa = sign_token(payload, pem_private(keys.rsa), algorithm="RS256", kid=keys.rsa_kid)
    by_pyjwt_ec = sign_token(payload, pem_private(keys.ec), algorithm="ES256", kid=keys.ec_kid)
    assert await verifier.verify(by_pyjwt_rsa) == payload
    assert await verifier.verify(by_pyjwt_ec) == payload
    assert await verifier.verify(keys.es256(payload)) == payload


async def test_audience_list_containing_ours_is_accepted(keys: Keys, verifier: TokenVerifier) -> None:
    assert (await verifier.verify(keys.es256(claims(aud=["other", AUDIENCE]))))["aud"] == ["other", AUDIENCE]


def test_sign_token_refuses_other_algorithms(keys: Keys) -> None:
    assert ALLOWED_ALGORITHMS == ("RS256", "ES256")
    with pytest.raises(ValueError):
        sign_token(claims(), "secret", algorithm="HS256", kid="x")


# -- refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "not-a-jwt-at-all!",
        "eyJhbGciOiJFUzI1NiJ9.e30",  # two parts
        "a.b.c.d",  # four parts
        "!!!.e30.sig",  # header not base64url
        b64url(b"not json") + ".e30.c2ln",
        b64url(b"[1,2]") + ".e30.c2ln",  # header not an object
        b64url(b'{"alg":"ES256","kid":"ec-1"}') + "..c2ln",  # empty payload segment
        b64url(b'{"alg":"ES256","kid":"ec-1"}') + ".e30.c2ln=",  # padding is not base64url
    ],
)
async def test_malformed_tokens_are_refused(verifier: TokenVerifier, token: str) -> None:
    assert await refused(verifier, token) == "malformed"


async def test_payload_that_is_not_an_object_is_malformed(keys: Keys, verifier: TokenVerifier) -> None:
    assert await refused(verifier, keys.es256([1, 2, 3])) == "malformed"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
async def test_alg_none_is_refused(keys: Keys, verifier: TokenVerifier, alg: str) -> None:
    token = raw_jws({"alg": alg, "kid": keys.ec_kid}, claims(), lambda data: b"")
    assert token.endswith(".")
    assert await refused(verifier, token) == "algorithm_not_allowed"
    # ...and with a signature segment present, too
    assert await refused(verifier, token + "c2ln") == "algorithm_not_allowed"


async def test_missing_alg_is_refused(keys: Keys, verifier: TokenVerifier) -> None:
    token = raw_jws({"kid": keys.ec_kid}, claims(), es256_signer(keys.ec))
    assert await refused(verifier, token) == "algorithm_not_allowed"


@pytest.mark.parametrize(
    "hs_alg,digest", [("HS256", hashlib.sha256), ("HS384", hashlib.sha384), ("HS512", hashlib.sha512)]
)
@pytest.mark.parametrize("which", ["ec", "rsa"])
async def test_hmac_signed_with_the_public_key_is_refused(
    keys: Keys, verifier: TokenVerifier, hs_alg: str, digest, which: str
) -> None:
    """CVE-2024-33663: HMAC keyed with the PEM (or the JWK JSON) of the real public key, real kid."""
    private = keys.ec if which == "ec" else keys.rsa
    kid = keys.ec_kid if which == "ec" else keys.rsa_kid
    jwk_json = json.dumps(next(k for k in keys.jwks["keys"] if k["kid"] == kid)).encode()
    for secret in (pem_public(private), pem_public(private).strip(), jwk_json):
        token = raw_jws(
            {"alg": hs_alg, "typ": "JWT", "kid": kid},
            claims(),
            lambda data, secret=secret: hmac.new(secret, data, digest).digest(),
        )
        assert await refused(verifier, token) == "algorithm_not_allowed"


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256", "ES384", "ES512", "EdDSA", "ES256K", "RSA-OAEP"])
async def test_other_algorithms_are_refused(keys: Keys, verifier: TokenVerifier, alg: str) -> None:
    token = raw_jws({"alg": alg, "kid": keys.rsa_kid}, claims(), rs256_signer(keys.rsa))
    assert await refused(verifier, token) == "algorithm_not_allowed"


async def test_algorithm_must_match_the_keys_type(keys: Keys, verifier: TokenVerifier) -> None:
    # RS256 claimed for the EC key's kid and ES256 claimed for the RSA key's kid
    token = raw_jws({"alg": "RS256", "kid": keys.ec_kid}, claims(), rs256_signer(keys.rsa))
    assert await refused(verifier, token) == "algorithm_not_allowed"
    token = raw_jws({"alg": "ES256", "kid": keys.rsa_kid}, claims(), es256_signer(keys.ec))
    assert await refused(verifier, token) == "algorithm_not_allowed"


async def test_unknown_kid_is_refused(keys: Keys, verifier: TokenVerifier) -> None:
    assert await refused(verifier, keys.es256(claims(), kid="no-such-key")) == "unknown_kid"


async def test_missing_or_odd_kid_is_refused(keys: Keys, verifier: TokenVerifier) -> None:
    no_kid = raw_jws({"alg": "ES256"}, claims(), es256_signer(keys.ec))
    assert await refused(verifier, no_kid) == "missing_kid"
    assert await refused(verifier, keys.es256(claims(), kid=12)) == "malformed"
    assert await refused(verifier, keys.es256(claims(), kid="k" * 300)) == "malformed"


async def test_signature_by_another_key_with_the_same_kid_is_refused(keys: Keys, verifier: TokenVerifier) -> None:
    impostor_ec = ec.generate_private_key(ec.SECP256R1())
    token = raw_jws({"alg": "ES256", "kid": keys.ec_kid}, claims(), es256_signer(impostor_ec))
    assert await refused(verifier, token) == "bad_signature"
    impostor_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = sign_token(claims(), pem_private(impostor_rsa), algorithm="RS256", kid=keys.rsa_kid)
    assert await refused(verifier, token) == "bad_signature"


async def test_tampered_payload_and_truncated_signature_are_refused(keys: Keys, verifier: TokenVerifier) -> None:
    token = keys.es256(claims(roles=["citizen"]))
    header, _, signature = token.split(".")
    forged_payload = b64url(json.dumps(claims(roles=["auditor"])).encode())
    assert await refused(verifier, f"{header}.{forged_payload}.{signature}") == "bad_signature"
    assert await refused(verifier, f"{header}.{token.split('.')[1]}.{signature[:-4]}") == "bad_signature"
    assert await refused(verifier, f"{header}.{token.split('.')[1]}.") == "bad_signature"


async def test_expired_beyond_leeway_is_refused(keys: Keys, verifier: TokenVerifier) -> None:
    now = int(time.time())
    token = keys.es256(claims(iat=now - 3600, exp=now - 120))
    assert await refused(verifier, token) == "expired"


async def test_expiry_within_leeway_is_accepted(keys: Keys, verifier: TokenVerifier) -> None:
    now = int(time.time())
    assert await verifier.verify(keys.es256(claims(iat=now - 3600, exp=now - 30)))


async def test_leeway_is_configurable(keys: Keys) -> None:
    strict = TokenVerifier(keys=StaticJwks.from_dict(keys.jwks), issuer=ISSUER, audience=AUDIENCE, leeway_s=0)
    now = int(time.time())
    assert await refused(strict, keys.es256(claims(iat=now - 3600, exp=now - 30))) == "expired"


async def test_not_before_in_the_future_beyond_leeway_is_refused(keys: Keys, verifier: TokenVerifier) -> None:
    now = int(time.time())
    assert await refused(verifier, keys.es256(claims(nbf=now + 300, exp=now + 900))) == "not_yet_valid"
    # within the leeway: accepted
    assert await verifier.verify(keys.es256(claims(nbf=now + 30)))


async def test_issued_in_the_future_beyond_leeway_is_refused(keys: Keys, verifier: TokenVerifier) -> None:
    now = int(time.time())
    assert await refused(verifier, keys.es256(claims(iat=now + 300, exp=now + 900))) == "issued_in_future"
    assert await verifier.verify(keys.es256(claims(iat=now + 30)))


async def test_wrong_issuer_is_refused(keys: Keys, verifier: TokenVerifier) -> None:
    assert await refused(verifier, keys.es256(claims(iss="https://evil.example"))) == "wrong_issuer"
    assert await refused(verifier, keys.es256(claims(iss=[ISSUER]))) == "invalid_claim"


@pytest.mark.parametrize("aud", ["other-service", ["other-service"], [], "cityservices-admin"])
async def test_wrong_audience_is_refused(keys: Keys, verifier: TokenVerifier, aud: Any) -> None:
    assert await refused(verifier, keys.es256(claims(aud=aud))) == "wrong_audience"


@pytest.mark.parametrize("missing", ["sub", "exp", "iat", "iss", "aud"])
async def test_missing_required_claim_is_refused(keys: Keys, verifier: TokenVerifier, missing: str) -> None:
    assert await refused(verifier, keys.es256(claims(**{missing: DROP}))) == "missing_claim"


async def test_an_access_token_without_jti_is_accepted(keys: Keys, verifier: TokenVerifier) -> None:
    # RFC 9068 section 2.2 makes jti optional; stock providers (Auth0, Azure AD) leave it out.
    payload = claims(jti=DROP)
    assert await verifier.verify(keys.es256(payload)) == payload
    assert await verifier.verify(keys.rs256(payload)) == payload


@pytest.mark.parametrize(
    "override",
    [
        {"exp": str(int(time.time()) + 600)},  # a numeric string is not a JSON number
        {"exp": [1]},  # a list where a number belongs is refused cleanly, never a TypeError
        {"exp": {"a": 1}},
        {"exp": None},
        {"exp": True},
        {"iat": "now"},
        {"nbf": "later"},
        {"sub": 42},
        {"sub": ""},
        {"jti": ""},
        {"jti": 7},
        {"aud": 5},
        {"aud": [AUDIENCE, 5]},
    ],
)
async def test_ill_typed_claims_are_refused(keys: Keys, verifier: TokenVerifier, override: dict) -> None:
    assert await refused(verifier, keys.es256(claims(**override))) == "invalid_claim"


async def test_jwe_shaped_token_is_refused(keys: Keys, verifier: TokenVerifier) -> None:
    jwe_header = {"alg": "RSA-OAEP", "enc": "A256GCM", "zip": "DEF", "kid": keys.rsa_kid}
    parts = [b64url(json.dumps(jwe_header).encode())] + [b64url(os.urandom(n)) for n in (256, 12, 64, 16)]
    token = ".".join(parts)
    assert await refused(verifier, token) == "jwe_not_allowed"
    # a JWE header squeezed into three parts is refused too
    three = raw_jws({"alg": "ES256", "enc": "A256GCM", "kid": keys.ec_kid}, claims(), es256_signer(keys.ec))
    assert await refused(verifier, three) == "jwe_not_allowed"


async def test_oversized_token_is_refused_before_parsing(keys: Keys, verifier: TokenVerifier) -> None:
    token = keys.es256(claims(padding="x" * 9000))
    assert len(token) > 8192
    assert await refused(verifier, token) == "token_too_large"
    assert await refused(verifier, "a" * 100_000) == "token_too_large"


async def test_critical_header_extensions_are_refused(keys: Keys, verifier: TokenVerifier) -> None:
    assert await refused(verifier, keys.es256(claims(), crit=["exp"], exp=1)) == "unsupported_header"


async def test_keys_in_the_header_are_ignored(keys: Keys, verifier: TokenVerifier) -> None:
    """A token carrying its own key (jwk/jku/x5u) is checked against OUR key for its kid only."""
    attacker = ec.generate_private_key(ec.SECP256R1())
    token = raw_jws(
        {
            "alg": "ES256",
            "kid": keys.ec_kid,
            "jwk": ec_jwk(attacker, keys.ec_kid),
            "jku": "https://evil.example/jwks",
        },
        claims(),
        es256_signer(attacker),
    )
    assert await refused(verifier, token) == "bad_signature"


@pytest.mark.parametrize(
    "bad_jwk",
    [
        {"kty": "oct", "k": b64url(b"secret")},
        {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"},
        {"kty": "OKP", "crv": "Ed25519", "x": "AA"},
        "rsa-1024",
        "ec-enc",
        "ec-wrong-alg",
    ],
)
async def test_unsuitable_published_keys_are_refused(bad_jwk: Any) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    if bad_jwk == "rsa-1024":
        small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        jwk = rsa_jwk(small, "k")
        token = raw_jws({"alg": "RS256", "kid": "k"}, claims(), rs256_signer(small))
    else:
        if bad_jwk == "ec-enc":
            jwk = {**ec_jwk(ec_key, "k"), "use": "enc"}
        elif bad_jwk == "ec-wrong-alg":
            jwk = {**ec_jwk(ec_key, "k"), "alg": "RS256"}
        else:
            jwk = {**bad_jwk, "kid": "k"}
        token = raw_jws({"alg": "ES256", "kid": "k"}, claims(), es256_signer(ec_key))
    verifier = TokenVerifier(keys=StaticJwks.from_dict({"keys": [jwk]}), issuer=ISSUER, audience=AUDIENCE)
    assert await refused(verifier, token) == "unsupported_key"


async def test_private_members_in_a_published_jwk_are_not_used(keys: Keys) -> None:
    """A JWKS that (wrongly) carries the private `d` still only verifies."""
    jwk = ec_jwk(keys.ec, keys.ec_kid)
    jwk["d"] = b64url(keys.ec.private_numbers().private_value.to_bytes(32, "big"))
    verifier = TokenVerifier(keys=StaticJwks.from_dict({"keys": [jwk]}), issuer=ISSUER, audience=AUDIENCE)
    assert await verifier.verify(keys.es256(claims()))


def test_invalid_token_carries_no_token_content(keys: Keys, verifier: TokenVerifier) -> None:
    secret_marker = "SECRET-ID-310101199001011234"
    token = keys.es256(claims(iss=secret_marker))
    with pytest.raises(InvalidToken) as info:
        asyncio.run(verifier.verify(token))
    assert info.value.reason == "wrong_issuer"
    assert secret_marker not in str(info.value) and secret_marker not in info.value.detail
    assert info.value.__cause__ is None and info.value.__suppress_context__


# -- static JWKS ------------------------------------------------------------------------------------


def test_static_jwks_validation(tmp_path: Path, keys: Keys) -> None:
    with pytest.raises(InvalidJwks):
        StaticJwks.from_dict({"keys": [ec_jwk(keys.ec, "same"), rsa_jwk(keys.rsa, "same")]})
    with pytest.raises(InvalidJwks):
        StaticJwks.from_dict({"not_keys": []})
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(InvalidJwks):
        StaticJwks.from_file(bad)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"keys": [ec_jwk(keys.ec, "a"), {"kty": "EC", "crv": "P-256"}]}))
    source = StaticJwks.from_file(good)
    assert source.kids == {"a"}  # the key without a kid is skipped
    assert isinstance(source, KeySource)


# -- remote JWKS ------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeIdp:
    """The identity provider's JWKS endpoint, as an httpx MockTransport."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.requests = 0
        self.status = 200
        self.body: bytes | None = None

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        assert request.url.path == "/.well-known/jwks.json"
        if self.status != 200:
            return httpx.Response(self.status, text="down")
        body = self.body if self.body is not None else json.dumps(self.jwks).encode()
        return httpx.Response(200, content=body)


URL = "https://idp.example.gov.cn/.well-known/jwks.json"


@pytest.fixture
def idp(keys: Keys) -> FakeIdp:
    return FakeIdp({"keys": [ec_jwk(keys.ec, keys.ec_kid)]})


@pytest.fixture
async def remote(idp: FakeIdp):
    clock = FakeClock()
    async with httpx.AsyncClient(transport=httpx.MockTransport(idp.handler)) as http:
        source = RemoteJwks(URL, http=http, ttl_s=300, min_refresh_interval_s=60, clock=clock)
        source.clock = clock  # type: ignore[attr-defined]
        yield source


async def test_remote_jwks_is_cached(idp: FakeIdp, remote: RemoteJwks, keys: Keys) -> None:
    verifier = TokenVerifier(keys=remote, issuer=ISSUER, audience=AUDIENCE)
    for _ in range(5):
        await verifier.verify(keys.es256(claims()))
    assert idp.requests == 1
    remote.clock.now += 299  # type: ignore[attr-defined]
    assert await remote.key_for(keys.ec_kid)
    assert idp.requests == 1
    remote.clock.now += 2  # past the TTL
    assert await remote.key_for(keys.ec_kid)
    assert idp.requests == 2


async def test_remote_jwks_unknown_kid_refreshes_and_finds_a_rotated_key(
    idp: FakeIdp, remote: RemoteJwks, keys: Keys
) -> None:
    verifier = TokenVerifier(keys=remote, issuer=ISSUER, audience=AUDIENCE)
    await verifier.verify(keys.es256(claims()))
    assert idp.requests == 1
    remote.clock.now += 61  # type: ignore[attr-defined]
    # the IdP rotates: adds the RSA key
    idp.jwks = {"keys": [ec_jwk(keys.ec, keys.ec_kid), rsa_jwk(keys.rsa, keys.rsa_kid)]}
    assert await verifier.verify(keys.rs256(claims()))
    assert idp.requests == 2


async def test_remote_jwks_refresh_on_unknown_kid_is_rate_limited(idp: FakeIdp, remote: RemoteJwks, keys: Keys) -> None:
    verifier = TokenVerifier(keys=remote, issuer=ISSUER, audience=AUDIENCE)
    await verifier.verify(keys.es256(claims()))
    assert idp.requests == 1
    remote.clock.now += 61  # type: ignore[attr-defined]
    # an attacker sprays random kids: one refresh, then none until the interval has passed
    for _ in range(50):
        assert await refused(verifier, keys.es256(claims(), kid=uuid.uuid4().hex)) == "unknown_kid"
    assert idp.requests == 2
    remote.clock.now += 59  # type: ignore[attr-defined]
    await asyncio.gather(*(remote.key_for(uuid.uuid4().hex) for _ in range(20)))
    assert idp.requests == 2
    remote.clock.now += 1  # type: ignore[attr-defined]
    await asyncio.gather(*(remote.key_for(uuid.uuid4().hex) for _ in range(20)))
    assert idp.requests == 3
    # the real key still works throughout
    assert await verifier.verify(keys.es256(claims()))
    assert idp.requests == 3


async def test_remote_jwks_concurrent_cold_start_fetches_once(idp: FakeIdp, remote: RemoteJwks, keys: Keys) -> None:
    results = await asyncio.gather(*(remote.key_for(keys.ec_kid) for _ in range(25)))
    assert all(r is not None and r["kid"] == keys.ec_kid for r in results)
    assert idp.requests == 1


async def test_remote_jwks_failure_keeps_the_old_keys(
    idp: FakeIdp, remote: RemoteJwks, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    verifier = TokenVerifier(keys=remote, issuer=ISSUER, audience=AUDIENCE)
    await verifier.verify(keys.es256(claims()))
    idp.status = 503
    remote.clock.now += 301  # type: ignore[attr-defined]
    token = keys.es256(claims())
    with caplog.at_level("WARNING", logger="app.auth.jwks"):
        assert await verifier.verify(token)
    assert idp.requests == 2
    assert "JWKS fetch" in caplog.text
    assert token not in caplog.text and token.split(".")[1] not in caplog.text
    # while it stays down we retry at most once per interval, and keep serving
    for _ in range(10):
        assert await verifier.verify(keys.es256(claims()))
    assert idp.requests == 2
    # garbage and an empty set are failures too
    for body in (b"<html>", b'{"keys": []}', b'{"keys": "x"}'):
        idp.status, idp.body = 200, body
        remote.clock.now += 61  # type: ignore[attr-defined]
        assert await verifier.verify(keys.es256(claims()))
    assert idp.requests == 5


async def test_remote_jwks_never_loaded_means_keys_unavailable(idp: FakeIdp, remote: RemoteJwks, keys: Keys) -> None:
    idp.status = 500
    verifier = TokenVerifier(keys=remote, issuer=ISSUER, audience=AUDIENCE)
    assert await refused(verifier, keys.es256(claims())) == "keys_unavailable"
    assert await refused(verifier, keys.es256(claims())) == "keys_unavailable"
    assert idp.requests == 1  # not retried within the interval
    idp.status = 200
    remote.clock.now += 60  # type: ignore[attr-defined]
    assert await verifier.verify(keys.es256(claims()))
    assert idp.requests == 2


async def test_remote_jwks_refuses_an_oversized_document(idp: FakeIdp, remote: RemoteJwks, keys: Keys) -> None:
    idp.body = b'{"keys": [' + b" " * (2 * 1024 * 1024) + b"]}"
    verifier = TokenVerifier(keys=remote, issuer=ISSUER, audience=AUDIENCE)
    assert await refused(verifier, keys.es256(claims())) == "keys_unavailable"


# -- remembered tokens (the verified-token cache) -----------------------------------------------------


async def test_a_remembered_token_answers_the_same_claims(keys: Keys, verifier: TokenVerifier) -> None:
    token = keys.es256(claims())
    first = await verifier.verify(token)
    first["roles"] = ["auditor"]  # what a caller does with its copy does not reach the cache
    again = await verifier.verify(token)
    assert again["roles"] == ["citizen"]
    assert again["sub"] == first["sub"]


async def test_a_remembered_token_is_refused_once_expired(keys: Keys) -> None:
    clock = FakeClock()
    clock.now = time.time()
    verifier = TokenVerifier(keys=StaticJwks.from_dict(keys.jwks), issuer=ISSUER, audience=AUDIENCE, clock=clock)
    now = int(clock.now)
    token = keys.es256(claims(iat=now, exp=now + 600))
    assert await verifier.verify(token)
    clock.now = now + 599
    assert await verifier.verify(token)  # still within its lifetime
    clock.now = now + 600 + verifier.leeway_s + 1
    assert await refused(verifier, token) == "expired"


async def test_a_remembered_token_past_exp_gets_the_full_check_with_its_leeway(keys: Keys) -> None:
    clock = FakeClock()
    clock.now = time.time()
    verifier = TokenVerifier(keys=StaticJwks.from_dict(keys.jwks), issuer=ISSUER, audience=AUDIENCE, clock=clock)
    now = int(clock.now)
    token = keys.es256(claims(iat=now - 60, exp=now + 5))
    assert await verifier.verify(token)
    clock.now = now + 30  # past exp, within the leeway: the same answer as for a token never seen
    assert await verifier.verify(token)


async def test_a_remembered_token_is_refused_after_its_key_is_rotated_away(
    idp: FakeIdp, remote: RemoteJwks, keys: Keys
) -> None:
    verifier = TokenVerifier(keys=remote, issuer=ISSUER, audience=AUDIENCE)
    token = keys.es256(claims())
    assert await verifier.verify(token)
    assert await verifier.verify(token)
    # the IdP rotates: the EC key is withdrawn, the RSA key published; the set is refetched after its TTL
    idp.jwks = {"keys": [rsa_jwk(keys.rsa, keys.rsa_kid)]}
    remote.clock.now += 301  # type: ignore[attr-defined]
    assert await refused(verifier, token) == "unknown_kid"
    assert await verifier.verify(keys.rs256(claims()))


async def test_a_remembered_token_is_refused_when_its_kid_names_another_key(
    idp: FakeIdp, remote: RemoteJwks, keys: Keys
) -> None:
    verifier = TokenVerifier(keys=remote, issuer=ISSUER, audience=AUDIENCE)
    token = keys.es256(claims())
    assert await verifier.verify(token)
    # the same kid now publishes a different key: the remembered token was signed by the old one
    idp.jwks = {"keys": [ec_jwk(ec.generate_private_key(ec.SECP256R1()), keys.ec_kid)]}
    remote.clock.now += 301  # type: ignore[attr-defined]
    assert await refused(verifier, token) == "bad_signature"


async def test_tokens_pushed_out_of_the_bounded_memory_are_checked_again(keys: Keys) -> None:
    verifier = TokenVerifier(keys=StaticJwks.from_dict(keys.jwks), issuer=ISSUER, audience=AUDIENCE, cache_size=2)
    issued = [claims() for _ in range(5)]
    tokens = [keys.es256(c) for c in issued]
    for _ in range(2):
        for c, token in zip(issued, tokens, strict=True):
            assert (await verifier.verify(token))["jti"] == c["jti"]


async def test_remote_jwks_over_real_http(keys: Keys) -> None:
    """The same, against a real local HTTP server (and RemoteJwks making its own client)."""
    hits = []
    document = json.dumps({"keys": [rsa_jwk(keys.rsa, keys.rsa_kid)]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    source = RemoteJwks(f"http://127.0.0.1:{server.server_port}/jwks", min_refresh_interval_s=60)
    try:
        verifier = TokenVerifier(keys=source, issuer=ISSUER, audience=AUDIENCE)
        assert await verifier.verify(keys.rs256(claims()))
        assert await verifier.verify(keys.rs256(claims()))
        assert await refused(verifier, keys.rs256(claims(), kid="rotated?")) == "unknown_kid"
        assert hits == ["/jwks"]  # the unknown kid came within a minute of the first fetch
    finally:
        await source.aclose()
        server.shutdown()
        server.server_close()


# -- development keys -------------------------------------------------------------------------------


def test_dev_keys_are_made_once_with_private_permissions(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = ensure_dev_keys(data_dir)
    private = data_dir / dev_keys.PRIVATE_KEY_FILE
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    jwks = json.loads(first.read_text())
    assert len(jwks["keys"]) == 1
    jwk = jwks["keys"][0]
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256" and jwk["alg"] == "ES256" and jwk["kid"]
    assert "d" not in jwk
    pem_before = private.read_bytes()
    assert ensure_dev_keys(data_dir) == first
    assert private.read_bytes() == pem_before
    assert json.loads(first.read_text()) == jwks
    # a lost JWKS is rebuilt from the private key, with the same kid
    first.unlink()
    assert json.loads(ensure_dev_keys(data_dir).read_text()) == jwks
    assert not [p for p in data_dir.iterdir() if p.name.startswith(".tmp")]


def _ensure_in_subprocess(data_dir: str) -> str:
    return ensure_dev_keys(Path(data_dir)).read_text()


def test_dev_keys_concurrent_processes_agree(tmp_path: Path) -> None:
    data_dir = tmp_path / "shared"
    with ProcessPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(_ensure_in_subprocess, [str(data_dir)] * 8))
    assert len(set(results)) == 1
    kid = json.loads(results[0])["keys"][0]["kid"]
    token = mint_dev_token(data_dir, issuer="i", audience="a", roles=["auditor"])
    jwks = StaticJwks.from_file(data_dir / dev_keys.JWKS_FILE)
    verifier = TokenVerifier(keys=jwks, issuer="i", audience="a")
    assert json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["kid"] == kid
    assert asyncio.run(verifier.verify(token))["roles"] == ["auditor"]
    assert not [p for p in data_dir.iterdir() if p.name.startswith(".tmp")]


async def test_mint_dev_token_claims_and_stable_subject(tmp_path: Path) -> None:
    id_number = "11010519491231002X"
    verifier = TokenVerifier(keys=StaticJwks.from_file(ensure_dev_keys(tmp_path)), issuer="i", audience="a")
    citizen = {"issuer": "i", "audience": "a", "roles": ["citizen"], "id_number": id_number, "name": "张三"}
    one = await verifier.verify(mint_dev_token(tmp_path, **citizen))
    two = await verifier.verify(mint_dev_token(tmp_path, **citizen, ttl_s=60))
    assert one["sub"] == two["sub"] and id_number not in one["sub"]
    assert one["jti"] != two["jti"]
    assert two["exp"] - two["iat"] == 60
    clerk = await verifier.verify(
        mint_dev_token(tmp_path, issuer="i", audience="a", roles=["clerk"], name="李四", station_id="310105-HQLB")
    )
    assert clerk["station_id"] == "310105-HQLB" and clerk["sub"] != one["sub"] and "id_number" not in clerk
    explicit = await verifier.verify(mint_dev_token(tmp_path, issuer="i", audience="a", roles=[], sub="someone"))
    assert explicit["sub"] == "someone" and explicit["roles"] == []
    # a token from another installation's dev key is refused here
    other_dir = tmp_path / "other"
    stranger = mint_dev_token(other_dir, issuer="i", audience="a", roles=["citizen"])
    assert await refused(verifier, stranger) == "unknown_kid"
    with pytest.raises(ValueError):
        mint_dev_token(tmp_path, issuer="i", audience="a", roles=["citizen"], ttl_s=0)


# -- access tokens only -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "extra"),
    [
        ({"typ": "at+jwt"}, {}),  # RFC 9068
        ({"typ": "application/at+jwt"}, {}),
        ({"typ": "at+jwt"}, {"nonce": "n"}),  # the explicit marker wins over an ID-token-like claim
        ({}, {"token_use": "access"}),  # Amazon Cognito
        ({}, {"typ": "Bearer", "nonce": "n"}),  # Keycloak copies the login's nonce into its access tokens
        ({"typ": "JWT"}, {}),  # a plain JWT access token (Auth0, our development tokens)
    ],
    ids=["at+jwt", "application/at+jwt", "at+jwt-with-nonce", "token_use-access", "keycloak-bearer", "plain-jwt"],
)
async def test_access_tokens_are_accepted(keys: Keys, verifier: TokenVerifier, header: dict, extra: dict) -> None:
    payload = claims(**extra)
    assert await verifier.verify(keys.es256(payload, **header)) == payload


@pytest.mark.parametrize(
    ("header", "extra"),
    [
        ({}, {"token_use": "id"}),
        ({}, {"typ": "ID"}),
        ({"typ": "JWT"}, {"nonce": "n-123"}),
        ({}, {"at_hash": "x4nDSs0jTHMvjBvjXFs4sg"}),
        ({}, {"c_hash": "LDktKdoQak3Pk0cnXxCltA"}),
    ],
    ids=["token_use-id", "keycloak-ID", "jwt-with-nonce", "at_hash", "c_hash"],
)
async def test_id_tokens_are_refused(keys: Keys, verifier: TokenVerifier, header: dict, extra: dict) -> None:
    assert await refused(verifier, keys.es256(claims(**extra), **header)) == "id_token_not_accepted"
