"""The data the simulators serve: the dataset file of docs/api.md#the-agencies, loaded and checked once.

Dates may be ISO dates or, as an extension, relative to the day the file is loaded:
`today`, `today-30d`, `today+1y`, `today-6m+1d` (d = days, m = calendar months, y = years). The demo
dataset uses them so that "registered less than 6 months ago" stays true whatever year it is run in.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, TypeAdapter, ValidationInfo
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from app.clock import shanghai_today

DEMO_PATH = Path(__file__).with_name("demo.json")

_RELATIVE = re.compile(r"^today((?:[+-]\d+[dmy])*)$")
_OFFSET = re.compile(r"([+-])(\d+)([dmy])")


def add_months(day: date, months: int) -> date:
    """Calendar months, clamped to the month's end (31 Aug - 6 months = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def resolve_date(value: str, *, today: date) -> date:
    """An ISO date, or a `today±N[dmy]...` form resolved against `today`."""
    match = _RELATIVE.match(value.strip())
    if match is None:
        return date.fromisoformat(value)
    day = today
    for sign, amount, unit in _OFFSET.findall(match.group(1)):
        n = int(amount) * (1 if sign == "+" else -1)
        if unit == "d":
            day += timedelta(days=n)
        else:
            day = add_months(day, n if unit == "m" else 12 * n)
    return day


def _resolve(value: str, info: ValidationInfo) -> str:
    today = (info.context or {}).get("today") or shanghai_today()
    try:
        return resolve_date(value, today=today).isoformat()
    except ValueError as exc:
        raise ValueError(f"not an ISO date nor a today±N[dmy] form: {value!r}") from exc


DatasetDate = Annotated[str, AfterValidator(_resolve)]
IdShape = Annotated[str, Field(pattern=r"^\d{17}[\dX]$")]  # the registry's word; checksums are not ours to judge


class HukouRecord(TypedDict):
    province_code: str
    address: str
    household_head_id_number: IdShape
    relation_to_head: str


class PersonRecord(TypedDict):
    id_number: IdShape
    name: str
    gender: Literal["M", "F"]
    ethnicity: str
    birth_date: DatasetDate
    status: Literal["active", "deceased", "cancelled"]
    hukou: HukouRecord


class RegistrationRecord(TypedDict):
    id_number: IdShape
    address: str
    registered_on: DatasetDate


class CriminalRecordRecord(TypedDict):
    id_number: IdShape
    case_number: str
    offence: str
    judgment_date: DatasetDate


class PropertyRecord(TypedDict):
    certificate_number: str
    address: str
    owner_id_numbers: list[IdShape]


class LeaseRecord(TypedDict):
    registration_number: str
    address: str
    tenant_id_numbers: list[IdShape]
    start_date: DatasetDate
    end_date: DatasetDate


class _DatasetFile(TypedDict, total=False):
    persons: list[PersonRecord]
    residence_registrations: list[RegistrationRecord]
    criminal_records: list[CriminalRecordRecord]
    properties: list[PropertyRecord]
    leases: list[LeaseRecord]


# Validated as TypedDicts straight from JSON bytes: plain dicts out, no model objects, which keeps
# loading a 100,000-person file to a second or two.
_ADAPTER = TypeAdapter(_DatasetFile)


@dataclass(frozen=True)
class Dataset:
    """Records with every date resolved to an ISO string, ready to serve as they are."""

    persons: list[PersonRecord]
    residence_registrations: list[RegistrationRecord]
    criminal_records: list[CriminalRecordRecord]
    properties: list[PropertyRecord]
    leases: list[LeaseRecord]
    today: date  # the day relative dates were resolved against


def _from_validated(raw: _DatasetFile, today: date) -> Dataset:
    return Dataset(
        persons=raw.get("persons", []),
        residence_registrations=raw.get("residence_registrations", []),
        criminal_records=raw.get("criminal_records", []),
        properties=raw.get("properties", []),
        leases=raw.get("leases", []),
        today=today,
    )


def load_dataset(path: Path | str | None = None, *, today: date | None = None) -> Dataset:
    """Load a dataset file (None: the bundled demo). Raises pydantic.ValidationError if malformed."""
    today = today or shanghai_today()
    raw = Path(path or DEMO_PATH).read_bytes()
    return _from_validated(_ADAPTER.validate_json(raw, context={"today": today}), today)


def dataset_from_dict(raw: dict[str, Any], *, today: date | None = None) -> Dataset:
    """The same checks for a dataset already in memory (e.g. from `generate`)."""
    today = today or shanghai_today()
    return _from_validated(_ADAPTER.validate_python(raw, context={"today": today}), today)
