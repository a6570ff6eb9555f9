"""Builds both agency clients once, at start-up: against real base URLs, or against the simulators
in-process (httpx's ASGI transport, so the client code path is exactly the same)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI

from integrations.datasets import Dataset, load_dataset
from integrations.faults import Faults, SimulatorControl
from integrations.housing import simulator as housing_simulator
from integrations.housing.client import HousingClient
from integrations.http import AgencyCredentials, AgencyHttp, ClientPolicy, make_http_client
from integrations.police import simulator as police_simulator
from integrations.police.client import PoliceClient


@dataclass
class Agencies:
    police: PoliceClient
    housing: HousingClient
    police_simulator: SimulatorControl | None  # set when in-process, so tests can inject faults
    housing_simulator: SimulatorControl | None

    def reset_circuits(self) -> None:
        """Close both circuit breakers, e.g. between tests that take an agency down."""
        self.police.http.breaker.reset()
        self.housing.http.breaker.reset()

    async def aclose(self) -> None:
        await self.police.aclose()
        await self.housing.aclose()


def _http(
    agency: str, url: str | None, simulator: FastAPI | None, policy: ClientPolicy, credentials: AgencyCredentials
) -> AgencyHttp:
    if url is not None:
        client = make_http_client(base_url=url, policy=policy, credentials=credentials)
    else:
        assert simulator is not None
        client = make_http_client(
            base_url=f"http://{agency}.simulator", policy=policy, transport=httpx.ASGITransport(app=simulator)
        )
    return AgencyHttp(agency=agency, client=client, policy=policy)


def build_agencies(
    *,
    police_url: str | None,
    housing_url: str | None,
    dataset_path: Path | None,
    policy: ClientPolicy | None = None,
    police_credentials: AgencyCredentials | None = None,
    housing_credentials: AgencyCredentials | None = None,
) -> Agencies:
    """`*_url` None runs that agency's simulator in-process on `dataset_path` (None: the demo)."""
    policy = policy or ClientPolicy()
    police_credentials = police_credentials or AgencyCredentials()
    housing_credentials = housing_credentials or AgencyCredentials()
    dataset: Dataset | None = None
    if police_url is None or housing_url is None:
        dataset = load_dataset(dataset_path)
    police_control = housing_control = None
    if police_url is None:
        assert dataset is not None
        faults = Faults()
        police_control = SimulatorControl("police", police_simulator.create_app(dataset, faults), faults)
    if housing_url is None:
        assert dataset is not None
        faults = Faults()
        housing_control = SimulatorControl("housing", housing_simulator.create_app(dataset, faults), faults)
    return Agencies(
        police=PoliceClient(
            _http("police", police_url, police_control.app if police_control else None, policy, police_credentials)
        ),
        housing=HousingClient(
            _http("housing", housing_url, housing_control.app if housing_control else None, policy,
                  housing_credentials)
        ),
        police_simulator=police_control,
        housing_simulator=housing_control,
    )
