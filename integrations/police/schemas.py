"""The police's wire format (docs/api.md#the-agencies), as we parse it and as the simulator documents it."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from integrations.wire import IdNumberOnWire, WireModel


class Hukou(WireModel):
    province_code: str = Field(pattern=r"^\d{2}$", description="GB/T 2260 province code; 31 is Shanghai")
    address: str
    household_head_id_number: IdNumberOnWire
    relation_to_head: str = Field(examples=["本人", "配偶", "子", "女"])


class Person(WireModel):
    id_number: IdNumberOnWire
    name: str
    gender: Literal["M", "F"]
    ethnicity: str
    birth_date: date
    status: Literal["active", "deceased", "cancelled"]
    hukou: Hukou


class ResidenceRegistration(WireModel):
    address: str
    registered_on: date


class ResidenceRegistrations(WireModel):
    items: list[ResidenceRegistration]


class CriminalRecord(WireModel):
    case_number: str
    offence: str
    judgment_date: date


class CriminalRecords(WireModel):
    items: list[CriminalRecord]
