"""Choosing the virtual citizens from a generated dataset, by the published rules (CONTRACT §5).

The generator (integrations/datasets/generate.py) writes one record per line, section after section,
so the file is read line by line: memory stays small even for 1,000,000 people.

- residence permit, expected "issued": active, hukou outside Shanghai (province code != 31), a
  residence registration at least 6 calendar months old, and at that same address a property they
  own or a lease naming them that is valid today (the generator writes the same address string for
  a household's registration, property and lease);
- no-criminal-record certificate, expected "issued": active, no criminal record;
- household-registration certificate, expected "issued": active, hukou in Shanghai.

Dates are judged in Shanghai time with two days of margin either way, so a run near midnight or a
machine in another time zone does not turn an expected issue into a rejection.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from integrations.datasets import add_months

MARGIN = timedelta(days=2)


@dataclass(frozen=True)
class Citizen:
    id_number: str
    name: str
    address: str | None = None  # residence permit only


@dataclass
class Picked:
    residence_permit: list[Citizen]
    no_criminal_record: list[Citizen]
    household_registration: list[Citizen]
    people: int


def _records(path: Path):
    """(section, record) for every record of a generated dataset file."""
    section = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line in ("]", "]}", "}"):
                continue
            if line.endswith("[") and line.startswith(("{", ",", '"')):
                section = line.lstrip("{,").split('"')[1]
                continue
            if line.startswith("]"):
                continue
            yield section, json.loads(line.rstrip(","))


def pick(path: Path, *, limit: int, seed: int = 1) -> Picked:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    six_months_ago = add_months(today, -6) - MARGIN
    migrants: dict[str, str] = {}
    locals_: dict[str, str] = {}
    criminal: set[str] = set()
    registered: dict[str, list[tuple[str, date]]] = {}
    housed: dict[str, set[str]] = {}  # id -> addresses owned or leased (valid today)
    people = 0
    for section, rec in _records(path):
        if section == "persons":
            people += 1
            if rec["status"] != "active":
                continue
            (locals_ if rec["hukou"]["province_code"] == "31" else migrants)[rec["id_number"]] = rec["name"]
        elif section == "criminal_records":
            criminal.add(rec["id_number"])
        elif section == "residence_registrations":
            if rec["id_number"] in migrants:
                registered.setdefault(rec["id_number"], []).append(
                    (rec["address"], date.fromisoformat(rec["registered_on"]))
                )
        elif section == "properties":
            for owner in rec["owner_id_numbers"]:
                if owner in registered:
                    housed.setdefault(owner, set()).add(rec["address"])
        elif section == "leases":
            start, end = date.fromisoformat(rec["start_date"]), date.fromisoformat(rec["end_date"])
            if start <= today - MARGIN and end >= today + MARGIN:
                for tenant in rec["tenant_id_numbers"]:
                    if tenant in registered:
                        housed.setdefault(tenant, set()).add(rec["address"])

    rp = []
    for id_number, regs in registered.items():
        homes = housed.get(id_number, set())
        for address, since in regs:
            if since <= six_months_ago and address in homes:
                rp.append(Citizen(id_number, migrants[id_number], address))
                break
    ncr = [Citizen(i, n) for group in (migrants, locals_) for i, n in group.items() if i not in criminal]
    hr = [Citizen(i, n) for i, n in locals_.items()]
    rng = random.Random(seed)

    def sample(items: list[Citizen]) -> list[Citizen]:
        return rng.sample(items, min(limit, len(items)))

    return Picked(sample(rp), sample(ncr), sample(hr), people)
