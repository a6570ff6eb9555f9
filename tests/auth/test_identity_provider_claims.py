"""A real identity provider's tokens (docs/api.md#callers-and-tokens, #staff-are-persons; issue 26). Its role values
are mapped to ours (AUTH_ROLE_MAP); a `sub` we could not store (over 255 characters, or not valid Unicode) is 401,
where it used to be a 500 on filing and an event that split the request log's batches again and again."""

from __future__ import annotations

import asyncio

import pytest

from app.auth.principal import ClaimNames
from app.config import load_settings
from tests.builders import ZHANG_WEI, file, no_criminal_record


def _citizen_token(tokens, **claims) -> dict[str, str]:
    values = {"roles": ["citizen"], "id_number": ZHANG_WEI[0], "name": ZHANG_WEI[1], **claims}
    return tokens.header(tokens.mint(**values))


@pytest.mark.parametrize(
    "sub", ["s" * 256, "\ud800", "zhang\udfffwei"], ids=["256-characters", "lone-high", "lone-low"]
)
async def test_a_sub_we_could_not_store_is_401_on_every_route(client, tokens, sub):
    headers = _citizen_token(tokens, sub=sub)
    for response in (
        await file(client, headers, no_criminal_record()),
        await client.get("/v1/applications", headers=headers),
    ):
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "UNAUTHENTICATED"
    assert (await client.get("/v1/applications", headers=_citizen_token(tokens, sub="s" * 255))).status_code == 200


async def test_a_citizens_name_we_could_not_store_is_401_not_a_500(client, tokens):
    for name in ("张" * 65, "张\u202e伟"):
        response = await file(client, _citizen_token(tokens, sub="long-name", name=name), no_criminal_record())
        assert response.status_code == 401, response.text
    assert (
        await file(client, _citizen_token(tokens, sub="plain", name=" 张伟 "), no_criminal_record())
    ).status_code == 201


async def test_the_role_values_of_the_identity_provider_are_mapped_to_ours(client, tokens, collaborators, monkeypatch):
    theirs = _citizen_token(tokens, sub="idp-zhang", roles=["cityservices-citizen", "offline_access"])
    ours = _citizen_token(tokens, sub="idp-zhang-2")
    assert (await client.get("/v1/applications", headers=theirs)).status_code == 403

    monkeypatch.setenv("AUTH_ROLE_MAP", '{"cityservices-citizen": "citizen", "cityservices-clerk": "clerk"}')
    monkeypatch.setattr(collaborators, "claim_names", ClaimNames.from_settings(load_settings()))

    filed = await file(client, theirs, no_criminal_record())
    assert filed.status_code == 201 and filed.json()["channel"] == "online"
    # Set, the map is the whole truth: an unmapped value grants nothing, even one spelt like ours.
    assert (await client.get("/v1/applications", headers=ours)).status_code == 403


def test_a_role_map_naming_a_role_we_do_not_have_is_refused_at_start(monkeypatch):
    monkeypatch.setenv("AUTH_ROLE_MAP", '{"cityservices-admin": "admin"}')
    with pytest.raises(SystemExit, match="AUTH_ROLE_MAP"):
        load_settings()
    monkeypatch.setenv("AUTH_ROLE_MAP", "cityservices-citizen=citizen")
    with pytest.raises(SystemExit, match="auth_role_map"):
        load_settings()


async def test_events_with_lone_surrogates_are_stored_in_one_batch_not_split(collaborators):
    """However a lone surrogate reaches the request log, its batch commits once: one stranger's requests
    must not cost everyone else's their group commit (log2(batch) extra transactions each)."""
    from app.audit.batching import RequestLogWriter

    class Counting(RequestLogWriter):
        attempts = 0

        async def _write_batch(self, batch):
            Counting.attempts += 1
            await super()._write_batch(batch)

    writer = Counting(collaborators.sessionmaker)
    writer.start()
    try:
        hostile = {
            "kind": "request",
            "action": "test.surrogate",
            "outcome": "denied",
            "actor_sub": "evil\ud800",
            "details": {"k\udc00": "v\ud800"},
        }
        normal = {"kind": "request", "action": "test.surrogate", "outcome": "success"}
        results = await asyncio.gather(
            *(writer.write(hostile if i % 4 == 0 else normal) for i in range(16)), return_exceptions=True
        )
    finally:
        await writer.stop()
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert Counting.attempts == 1
