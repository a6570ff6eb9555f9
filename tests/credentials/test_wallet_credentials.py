"""Certificates for wallets over HTTP (docs/sharing.md): the SD-JWT VC, the issuer's keys, the Token Status
List, and the verifier that refuses what is forged, tampered with, revoked or expired."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from app.credentials import sdjwt, statuslist
from app.credentials.encoding import b64url_decode
from app.credentials.keys import public_jwk
from tests.builders import LI_NA, ZHANG_WEI
from tests.credentials.helpers import (
    ISSUER,
    PERMIT_VCT,
    credential_of,
    holder_key,
    issued_permit,
    key_binding_jwt,
    payload_of,
    verify,
)

ALL_CLAIMS = {"service", "serial", "holder_name", "id_number_masked", "id_number", "issued_at", "expires_at", "details"}


async def test_the_credential_is_an_sd_jwt_vc_with_one_disclosure_per_field(client, tokens):
    serial, headers = await issued_permit(client, tokens)
    credential = await credential_of(client, serial, headers)
    header = jwt.get_unverified_header(credential.split("~")[0])
    assert header["typ"] == "dc+sd-jwt" and header["alg"] == "ES256"
    payload = payload_of(credential)
    assert payload["iss"] == ISSUER and payload["vct"] == PERMIT_VCT and payload["_sd_alg"] == "sha-256"
    assert payload["status"]["status_list"]["uri"].startswith(f"{ISSUER}/v1/status-lists/")
    assert "holder_name" not in payload and ZHANG_WEI[0] not in json.dumps(payload, ensure_ascii=False)
    disclosures = credential.split("~")[1:-1]
    assert len(disclosures) == len(ALL_CLAIMS) and len(payload["_sd"]) >= len(ALL_CLAIMS)

    check = await verify(client, credential, expected_vct=PERMIT_VCT)
    assert check.valid, check
    assert check.status == "valid" and set(check.claims) == ALL_CLAIMS
    assert check.claims["serial"] == serial and check.claims["id_number"] == ZHANG_WEI[0]
    assert check.claims["details"] == {"居住地址": ZHANG_WEI[2]}


async def test_the_issuer_key_is_published_and_signs_the_credential(client, tokens):
    serial, headers = await issued_permit(client, tokens)
    credential = await credential_of(client, serial, headers)
    metadata = (await client.get("/.well-known/jwt-vc-issuer")).json()
    assert metadata["issuer"] == ISSUER
    keys = {k["kid"]: k for k in metadata["jwks"]["keys"]}
    assert all("d" not in k for k in keys.values())  # public members only
    kid = jwt.get_unverified_header(credential.split("~")[0])["kid"]
    key = jwt.PyJWK(keys[kid])
    assert jwt.decode(credential.split("~")[0], key.key, algorithms=["ES256"])["vct"] == PERMIT_VCT


async def test_a_holder_discloses_some_claims_and_the_others_cannot_be_recovered(client, tokens):
    serial, headers = await issued_permit(client, tokens)
    credential = await credential_of(client, serial, headers)
    shown = sdjwt.present(credential, keep={"holder_name", "expires_at"})
    check = await verify(client, shown)
    assert check.valid and set(check.claims) == {"holder_name", "expires_at"}
    # Nothing of the withheld claims is in what the verifier got: not in the clear, not in any decoded part.
    decoded = [base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)) for p in shown.replace(".", "~").split("~") if p]
    seen = shown + "".join(d.decode("utf-8", "replace") for d in decoded)
    for secret in (ZHANG_WEI[0], "0150", serial, "虹桥路", "居住地址"):  # (the type, vct, is in the clear)
        assert secret not in seen, secret
    # Guessing a withheld value does not help: its digest also needs the 128-bit salt it was issued with.
    payload = payload_of(shown)
    guess = sdjwt.digest(base64.urlsafe_b64encode(json.dumps(["", "id_number", ZHANG_WEI[0]]).encode()).decode())
    assert guess not in payload["_sd"]


async def test_a_tampered_disclosure_is_refused(client, tokens):
    serial, headers = await issued_permit(client, tokens)
    credential = await credential_of(client, serial, headers)
    jwt_part, *disclosures, _ = credential.split("~")
    tampered = []
    for disclosure in disclosures:
        salt, name, value = json.loads(b64url_decode(disclosure))
        if name == "holder_name":
            value = "李四"
        tampered.append(sdjwt.b64url(json.dumps([salt, name, value], ensure_ascii=False).encode()))
    check = await verify(client, "~".join([jwt_part, *tampered]) + "~")
    assert not check.valid and check.problem == "DISCLOSURE_NOT_SIGNED"
    # A disclosure the issuer never signed, added beside the real ones, is refused the same way.
    extra = sdjwt.make_disclosure("holder_name", "李四")
    check = await verify(client, sdjwt.present(credential, keep={"serial"}) + extra + "~")
    assert not check.valid and check.problem == "DISCLOSURE_NOT_SIGNED"
    # One sent twice, too.
    one = sdjwt.present(credential, keep={"serial"})
    check = await verify(client, one + one.split("~")[1] + "~")
    assert not check.valid and check.problem == "DUPLICATE_DISCLOSURE"


async def test_a_changed_payload_or_a_forged_signature_is_refused(client, tokens):
    serial, headers = await issued_permit(client, tokens)
    credential = await credential_of(client, serial, headers)
    jwt_part, rest = credential.split("~", 1)
    head, body, signature = jwt_part.split(".")
    payload = payload_of(credential)
    longer = sdjwt.b64url(json.dumps({**payload, "exp": payload["exp"] + 10**8}).encode())
    check = await verify(client, f"{head}.{longer}.{signature}~{rest}")
    assert not check.valid and check.problem == "BAD_SIGNATURE"

    forger = ec.generate_private_key(ec.SECP256R1())
    real_kid = jwt.get_unverified_header(jwt_part)["kid"]
    for kid in (real_kid, public_jwk(forger.public_key())["kid"]):
        forged = jwt.encode(payload, forger, algorithm="ES256", headers={"typ": "dc+sd-jwt", "kid": kid})
        check = await verify(client, f"{forged}~{rest}")
        assert not check.valid and check.problem in ("BAD_SIGNATURE", "UNKNOWN_KEY")

    unsigned = jwt.encode(payload, None, algorithm="none", headers={"typ": "dc+sd-jwt", "kid": real_kid})
    assert (await verify(client, f"{unsigned}~{rest}")).problem == "BAD_SIGNATURE"

    check = await verify_untrusted(client, credential)
    assert not check.valid and check.problem == "UNTRUSTED_ISSUER"


async def verify_untrusted(client, credential):
    from app.credentials.verifier import verify_credential

    return await verify_credential(credential, http=client, trusted_issuers=["https://elsewhere.example"])


async def test_vct_and_expiry_are_checked(client, tokens, collaborators):
    serial, headers = await issued_permit(client, tokens)
    credential = await credential_of(client, serial, headers)
    check = await verify(client, credential, expected_vct="urn:cityservices:vct:kinship-certificate")
    assert not check.valid and check.problem == "WRONG_VCT"
    # The issuer's own signature on a credential whose time is up: refused as expired.
    jwt_part, rest = credential.split("~", 1)
    lapsed = {**payload_of(credential), "iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}
    expired = collaborators.credentials.keys.sign(lapsed, typ="dc+sd-jwt")
    check = await verify(client, f"{expired}~{rest}")
    assert not check.valid and check.problem == "EXPIRED"


async def _bit(client, credential: str) -> int:
    reference = payload_of(credential)["status"]["status_list"]
    response = await client.get(reference["uri"].removeprefix(ISSUER))
    assert response.status_code == 200 and response.headers["content-type"] == statuslist.MEDIA_TYPE
    token = jwt.decode(response.text, options={"verify_signature": False})
    assert jwt.get_unverified_header(response.text)["typ"] == "statuslist+jwt"
    assert token["sub"] == reference["uri"] and token["status_list"]["bits"] == 1
    return statuslist.status_at(token["status_list"]["lst"], reference["idx"])


async def test_revocation_sets_the_status_bit_and_the_verifier_refuses(client, tokens):
    serial, headers = await issued_permit(client, tokens)
    credential = await credential_of(client, serial, headers)
    assert await _bit(client, credential) == 0
    response = await client.post(
        f"/v1/certificates/{serial}/revoke", headers=tokens.clerk(), json={"reason_code": "LOST", "reason": "丢失"}
    )
    assert response.status_code == 200
    assert await _bit(client, credential) == 1
    check = await verify(client, credential)
    assert not check.valid and check.problem == "REVOKED" and check.status == "invalid"
    refused = await client.get(f"/v1/certificates/{serial}/credential", headers=headers)
    assert refused.status_code == 409 and refused.json()["code"] == "CERTIFICATE_NOT_VALID"


async def test_supersession_sets_the_status_bit(client, tokens):
    serial, headers = await issued_permit(client, tokens)
    credential = await credential_of(client, serial, headers)
    again = await credential_of(client, serial, headers)  # a second copy points at the same entry
    assert payload_of(again)["status"] == payload_of(credential)["status"]
    new = (await client.post(f"/v1/certificates/{serial}/reissue", headers=headers)).json()
    assert await _bit(client, credential) == 1
    assert (await verify(client, credential)).problem == "REVOKED"
    fresh = await credential_of(client, new["serial"], headers)
    assert (await verify(client, fresh)).valid and await _bit(client, fresh) == 0


async def test_the_status_list_is_public_and_unknown_lists_are_404(client, tokens):
    missing = await client.get("/v1/status-lists/9999")
    assert missing.status_code == 404 and missing.json()["code"] == "STATUS_LIST_NOT_FOUND"
    assert (await client.get("/v1/status-lists/0")).status_code == 422
    assert (await client.get("/v1/status-lists/abc")).status_code == 422


async def test_only_the_owner_gets_the_credential(client, tokens):
    serial, headers = await issued_permit(client, tokens)
    stranger = await client.get(f"/v1/certificates/{serial}/credential", headers=tokens.citizen(*LI_NA[:2]))
    assert stranger.status_code == 404 and stranger.json()["code"] == "CERTIFICATE_NOT_FOUND"
    assert (await client.get(f"/v1/certificates/{serial}/credential", headers=tokens.clerk())).status_code == 403
    assert (await client.get(f"/v1/certificates/{serial}/credential")).status_code == 401
    unknown = await client.get(f"/v1/certificates/{serial}/credential?holder=1", headers=headers)
    assert unknown.status_code == 422 and unknown.json()["code"] == "UNKNOWN_PARAMETER"


async def test_a_credential_bound_to_the_wallet_key_needs_its_key_binding(client, tokens):
    serial, headers = await issued_permit(client, tokens)
    key, public = holder_key()
    credential = await credential_of(client, serial, headers, holder_jwk=public)
    assert payload_of(credential)["cnf"]["jwk"]["crv"] == "P-256"
    shown = sdjwt.present(credential, keep={"holder_name"})
    proof = key_binding_jwt(key, shown, aud="https://employer.example", nonce="n-123")
    check = await verify(client, shown + proof, audience="https://employer.example", nonce="n-123")
    assert check.valid, check
    assert (await verify(client, shown + proof, audience="https://employer.example", nonce="other")).problem == (
        "BAD_KEY_BINDING"
    )
    thief, _ = holder_key()
    stolen = key_binding_jwt(thief, shown, aud="https://employer.example", nonce="n-123")
    check = await verify(client, shown + stolen, audience="https://employer.example", nonce="n-123")
    assert check.problem == "BAD_KEY_BINDING"
    # Copied without the wallet's key, it is refused whatever the verifier asks.
    assert (await verify(client, shown)).problem == "KEY_BINDING_MISSING"


@pytest.mark.parametrize(
    ("holder_jwk", "code"),
    [
        ("not-base64!", "VALIDATION_FAILED"),  # not even base64url: refused by the parameter's own pattern
        ("A" * 2049, "VALIDATION_FAILED"),
        (sdjwt.b64url(b"[1,2]"), "INVALID_HOLDER_KEY"),
        (sdjwt.b64url(json.dumps({"kty": "oct", "k": "c2VjcmV0"}).encode()), "INVALID_HOLDER_KEY"),
        (sdjwt.b64url(json.dumps({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}).encode()), "INVALID_HOLDER_KEY"),
    ],
)
async def test_an_unusable_holder_key_is_a_422_problem(client, tokens, holder_jwk, code):
    serial, headers = await issued_permit(client, tokens)
    response = await client.get(
        f"/v1/certificates/{serial}/credential", headers=headers, params={"holder_jwk": holder_jwk}
    )
    assert response.status_code == 422 and response.json()["code"] == code


async def test_a_private_holder_key_is_refused(client, tokens):
    serial, headers = await issued_permit(client, tokens)
    key = ec.generate_private_key(ec.SECP256R1())
    private = jwt.algorithms.ECAlgorithm.to_jwk(key, as_dict=True)
    encoded = sdjwt.b64url(json.dumps(private).encode())
    response = await client.get(
        f"/v1/certificates/{serial}/credential", headers=headers, params={"holder_jwk": encoded}
    )
    assert response.status_code == 422 and response.json()["code"] == "INVALID_HOLDER_KEY"


async def test_after_a_key_rotation_earlier_credentials_still_verify(client, tokens, settings, data_dir, tmp_path):
    import httpx

    from app.certificates.signing import DEV_CERT_FILENAME, ensure_dev_signing_material
    from app.main import create_app

    serial, headers = await issued_permit(client, tokens)
    before = await credential_of(client, serial, headers)
    new_key, new_cert = ensure_dev_signing_material(tmp_path)
    rotated = settings.model_copy(
        update={
            "signing_key_file": new_key,
            "signing_cert_file": new_cert,
            "signing_trusted_certs": data_dir / DEV_CERT_FILENAME,
        }
    )
    app = create_app(rotated, start_worker=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as rotated_client:
            kids = {k["kid"] for k in (await rotated_client.get("/.well-known/jwt-vc-issuer")).json()["jwks"]["keys"]}
            assert len(kids) == 2
            assert (await verify(rotated_client, before)).valid
            after = await credential_of(rotated_client, serial, headers)
            kid = jwt.get_unverified_header(after.split("~")[0])["kid"]
            assert kid != jwt.get_unverified_header(before.split("~")[0])["kid"]
            assert (await verify(rotated_client, after)).valid
    # The key that signed `after` is unknown to the service before rotation: refused there.
    assert (await verify(client, after)).problem == "UNKNOWN_KEY"
