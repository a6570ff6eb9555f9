"""Mutual TLS and bearer tokens to the agencies, over real TLS on loopback, certificates made in the test."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.config import Settings, SettingsError, load_settings
from app.main import create_app
from integrations.agencies import build_agencies
from integrations.errors import AgencyMisconfigured
from integrations.http import AgencyCredentials, ClientPolicy
from tests.builders import ZHANG_WEI, file, no_criminal_record
from tests.operations.agency_pki import Pki, RunningSimulator, json_lines, make_pki, tls_simulator

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "police-token-7f3a"
POLICY = ClientPolicy(timeout_s=2, deadline_s=4, attempts=1)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def police(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSimulator]:
    with tls_simulator("police", pki, token=TOKEN, data_dir=tmp_path_factory.mktemp("sim")) as simulator:
        yield simulator


def _client(url: str, credentials: AgencyCredentials):  # type: ignore[no-untyped-def]
    agencies = build_agencies(
        police_url=url,
        housing_url="http://127.0.0.1:9",
        dataset_path=None,
        policy=POLICY,
        police_credentials=credentials,
    )
    return agencies


async def test_with_our_client_certificate_and_token_the_police_answer(police, pki):
    agencies = _client(
        police.url,
        AgencyCredentials(
            client_cert_file=pki.client_cert, client_key_file=pki.client_key, ca_file=pki.ca, token=TOKEN
        ),
    )
    try:
        person = await agencies.police.get_person(ZHANG_WEI[0])
    finally:
        await agencies.aclose()
    assert person.data.name == ZHANG_WEI[1]


async def test_without_a_client_certificate_the_handshake_is_refused(police, pki):
    agencies = _client(police.url, AgencyCredentials(ca_file=pki.ca, token=TOKEN))
    try:
        with pytest.raises(AgencyMisconfigured, match="no TLS session"):
            await agencies.police.get_person(ZHANG_WEI[0])
    finally:
        await agencies.aclose()


async def test_a_certificate_from_another_ca_is_refused(police, pki):
    agencies = _client(
        police.url,
        AgencyCredentials(
            client_cert_file=pki.stranger_cert, client_key_file=pki.stranger_key, ca_file=pki.ca, token=TOKEN
        ),
    )
    try:
        with pytest.raises(AgencyMisconfigured, match="no TLS session"):
            await agencies.police.get_person(ZHANG_WEI[0])
    finally:
        await agencies.aclose()


async def test_a_server_not_signed_by_the_agency_ca_is_not_trusted(police, pki):
    # Without AGENCY_CA_FILE the public roots are used, and they do not know the agency's CA.
    agencies = _client(
        police.url, AgencyCredentials(client_cert_file=pki.client_cert, client_key_file=pki.client_key, token=TOKEN)
    )
    try:
        with pytest.raises(AgencyMisconfigured, match="no TLS session"):
            await agencies.police.get_person(ZHANG_WEI[0])
    finally:
        await agencies.aclose()


async def test_a_wrong_bearer_token_is_answered_401(police, pki):
    agencies = _client(
        police.url,
        AgencyCredentials(
            client_cert_file=pki.client_cert, client_key_file=pki.client_key, ca_file=pki.ca, token="wrong"
        ),
    )
    try:
        with pytest.raises(AgencyMisconfigured, match="HTTP 401"):
            await agencies.police.get_person(ZHANG_WEI[0])
    finally:
        await agencies.aclose()


async def test_the_service_configured_by_environment_issues_against_the_tls_simulator(
    police, pki, settings, collaborators, tokens
):
    configured = Settings(
        **{
            **settings.model_dump(exclude={"police_api_token"}),
            "police_api_url": police.url,
            "police_api_token": TOKEN,
            "agency_client_cert_file": pki.client_cert,
            "agency_client_key_file": pki.client_key,
            "agency_ca_file": pki.ca,
        }
    )
    app = create_app(configured, start_worker=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            headers = tokens.citizen(*ZHANG_WEI[:2])
            response = await file(client, headers, no_criminal_record())
    assert response.status_code in (200, 201), response.text
    assert response.json()["status"] == "issued"


def test_the_simulator_logs_json_lines(pki, tmp_path):
    with tls_simulator("housing", pki, token=None, data_dir=tmp_path) as simulator:
        pass
    entries = json_lines(simulator.log_lines)
    assert entries and all({"time", "level", "logger", "message"} <= set(entry) for entry in entries)
    assert any("housing simulator" in str(entry["message"]) for entry in entries)


@pytest.mark.parametrize("agency", ["police", "housing"])
def test_the_agency_contracts_declare_how_callers_authenticate(agency):
    document = json.loads((ROOT / "openapi" / f"{agency}.json").read_text(encoding="utf-8"))
    schemes = document["components"]["securitySchemes"]
    assert schemes["mutualTLS"]["type"] == "mutualTLS"
    assert schemes["bearerToken"] == {**schemes["bearerToken"], "type": "http", "scheme": "bearer"}
    assert {"mutualTLS": []} in document["security"] and {"bearerToken": []} in document["security"]


def test_client_certificate_and_key_come_together(pki):
    with pytest.raises(ValueError, match="AGENCY_CLIENT_CERT_FILE and AGENCY_CLIENT_KEY_FILE"):
        Settings(agency_client_cert_file=pki.client_cert)


async def _police_readiness(
    settings: Settings, police_url: str, **credentials: object
) -> tuple[int, dict[str, object]]:
    configured = Settings(
        **{**settings.model_dump(exclude={"police_api_token"}), "police_api_url": police_url, **credentials}
    )
    app = create_app(configured, start_worker=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            response = await client.get("/readyz")
    return response.status_code, response.json()


@pytest.mark.parametrize(
    "case,expected",
    [
        ("our certificate and token", "ok"),
        ("a wrong token", "unauthorized"),
        ("no client certificate", "tls_error"),
        ("no agency CA: its server certificate is not trusted", "tls_error"),
    ],
)
async def test_readiness_says_how_the_police_answer_our_credentials(
    police, pki, settings, collaborators, case, expected
):
    credentials: dict[str, object] = {
        "police_api_token": "wrong" if case == "a wrong token" else TOKEN,
        "agency_ca_file": None if case.startswith("no agency CA") else pki.ca,
    }
    if case != "no client certificate":
        credentials.update(agency_client_cert_file=pki.client_cert, agency_client_key_file=pki.client_key)
    status, body = await _police_readiness(settings, police.url, **credentials)
    # An agency never makes the service unready: applications wait for it.
    assert status == 200 and body["status"] == "ready", body
    assert body["checks"] == {**body["checks"], "police": expected, "housing": "ok"}, body  # type: ignore[dict-item]
    assert body["unavailable"] == ([] if expected == "ok" else ["police"])


async def test_readiness_says_unavailable_when_the_agency_does_not_answer_in_time(settings, collaborators):
    silent = socket.socket()  # accepts connections (the kernel's backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        status, body = await _police_readiness(settings, f"http://127.0.0.1:{silent.getsockname()[1]}")
    finally:
        silent.close()
    assert status == 200 and body["checks"]["police"] == "unavailable", body  # type: ignore[index]


# Credential and TLS errors are our configuration, not an outage: counted at once, never retried as one.


def _configuration_errors(agency: str, kind: str) -> float:
    from prometheus_client import REGISTRY

    value = REGISTRY.get_sample_value(
        "cityservices_agency_configuration_errors_total", {"agency": agency, "kind": kind}
    )
    return value or 0.0


@pytest.mark.parametrize(
    "case,kind",
    [
        ("a wrong token", "unauthorized"),
        ("no client certificate", "tls_error"),
        ("a certificate from another CA", "tls_error"),
        ("no agency CA: its server certificate is not trusted", "tls_error"),
    ],
)
async def test_a_refused_credential_is_a_configuration_error_counted_at_once_and_not_an_outage(police, pki, case, kind):
    credentials = AgencyCredentials(
        client_cert_file=pki.stranger_cert if "another CA" in case else pki.client_cert,
        client_key_file=pki.stranger_key if "another CA" in case else pki.client_key,
        ca_file=None if case.startswith("no agency CA") else pki.ca,
        token="wrong" if case == "a wrong token" else TOKEN,
    )
    if case == "no client certificate":
        credentials = AgencyCredentials(ca_file=pki.ca, token=TOKEN)
    # Several attempts allowed and a breaker that trips after 2 failures: neither may come into play.
    policy = ClientPolicy(timeout_s=2, deadline_s=6, attempts=3, breaker_threshold=2)
    agencies = build_agencies(
        police_url=police.url,
        housing_url="http://127.0.0.1:9",
        dataset_path=None,
        policy=policy,
        police_credentials=credentials,
    )
    before = _configuration_errors("police", kind)
    try:
        for _ in range(3):
            with pytest.raises(AgencyMisconfigured) as raised:
                await agencies.police.get_person(ZHANG_WEI[0])
            assert raised.value.kind == kind
        assert await agencies.police.http.breaker.state() == "closed"  # an outage would have opened it
        assert agencies.police.http.configuration_error == kind
    finally:
        await agencies.aclose()
    assert _configuration_errors("police", kind) == before + 3  # one per call: no retry inside a call


async def test_a_filing_refused_our_credentials_is_parked_flagged_and_readiness_says_why(
    police, pki, settings, collaborators, tokens
):
    configured = Settings(
        **{
            **settings.model_dump(exclude={"police_api_token"}),
            "police_api_url": police.url,
            "police_api_token": "wrong",
            "agency_client_cert_file": pki.client_cert,
            "agency_client_key_file": pki.client_key,
            "agency_ca_file": pki.ca,
        }
    )
    before = _configuration_errors("police", "unauthorized")
    app = create_app(configured, start_worker=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            response = await file(client, tokens.citizen(*ZHANG_WEI[:2]), no_criminal_record())
            ready = await client.get("/readyz")
    # Not lost: it waits like any filing whose agency cannot answer, and says it is our configuration.
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "pending_agency"
    identity = next(c for c in body["checks"] if c["code"] == "IDENTITY")
    assert identity["outcome"] == "unavailable" and "misconfigured" in identity["detail"]["en"], identity
    assert "配置有误" in identity["detail"]["zh"]
    assert _configuration_errors("police", "unauthorized") >= before + 1
    assert ready.status_code == 200 and ready.json()["checks"]["police"] == "unauthorized", ready.text
    assert "credentials" in ready.json()["reasons"]["police"]["en"]
    assert "凭据" in ready.json()["reasons"]["police"]["zh"]


@pytest.fixture(scope="module")
def housing_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("housing-pki"))


@pytest.fixture(scope="module")
def housing(housing_pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSimulator]:
    with tls_simulator("housing", housing_pki, token=None, data_dir=tmp_path_factory.mktemp("sim")) as simulator:
        yield simulator


@pytest.mark.parametrize("housing_has_its_own", [True, False])
async def test_each_agency_may_have_its_own_client_certificate_else_the_shared_one(
    police, pki, housing, housing_pki, settings, collaborators, housing_has_its_own
):
    # The police trust the shared certificate (AGENCY_*); the housing bureau only its own CA's.
    own = (
        {
            "housing_client_cert_file": housing_pki.client_cert,
            "housing_client_key_file": housing_pki.client_key,
            "housing_ca_file": housing_pki.ca,
        }
        if housing_has_its_own
        else {}
    )
    configured = Settings(
        **{
            **settings.model_dump(exclude={"police_api_token"}),
            "police_api_url": police.url,
            "housing_api_url": housing.url,
            "police_api_token": TOKEN,
            "agency_client_cert_file": pki.client_cert,
            "agency_client_key_file": pki.client_key,
            "agency_ca_file": pki.ca,
            **own,
        }
    )
    app = create_app(configured, start_worker=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            checks = (await client.get("/readyz")).json()["checks"]
    assert checks["police"] == "ok"
    assert checks["housing"] == ("ok" if housing_has_its_own else "tls_error")


def test_an_agency_certificate_and_key_come_together(pki):
    with pytest.raises(ValueError, match="HOUSING_CLIENT_CERT_FILE and HOUSING_CLIENT_KEY_FILE"):
        Settings(housing_client_key_file=pki.client_key)


@pytest.mark.parametrize(
    "variable", ["AGENCY_CA_FILE", "AGENCY_CLIENT_CERT_FILE", "POLICE_CA_FILE", "HOUSING_CLIENT_CERT_FILE"]
)
def test_an_agency_file_that_is_not_there_is_refused_at_start_in_one_line(variable, monkeypatch, tmp_path):
    # Each settings class checks its own files: a validator of the same name in a subclass would replace
    # the agencies' check, and a missing certificate would surface only at the first filing.
    monkeypatch.setenv(variable, str(tmp_path / "missing.pem"))
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert str(refused.value) == (
        f"cityservices: invalid setting {variable}: file {str(tmp_path / 'missing.pem')!r} does not exist"
    )
