"""Choosing the virtual citizens from a generated dataset: those whose residence permit the published
rules issue at once (active, hukou outside Shanghai, a residence registration at least 6 calendar months
old, and at that same address a property they own or a lease naming them that is valid today; the
generator writes the same address string for a household's registration, property and lease).

The generator (integrations/datasets/generate.py) writes one record per line, section after section, so
the file is read line by line: memory stays small even for 1,000,000 people.

Dates are judged in Shanghai time with two days of margin either way, so a run near midnight or a
machine in another time zone does not turn an expected issue into a rejection.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from integrations.datasets import add_months

MARGIN = timedelta(days=2)


@dataclass(frozen=True)
class Citizen:
    id_number: str
    name: str
    address: str  # where they are registered and housed: the residence permit's address


def _records(path: Path) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """(section, record) for every record of a generated dataset file."""
    section = None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("]") or line == "}":
                continue
            if line.endswith("[") and line.startswith(("{", ",", '"')):
                section = line.lstrip("{,").split('"')[1]
                continue
            yield section, json.loads(line.rstrip(","))


def pick(path: Path, *, limit: int, seed: int = 1) -> list[Citizen]:
    """Up to `limit` residence-permit applicants, sampled with `seed`."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    six_months_ago = add_months(today, -6) - MARGIN
    migrants: dict[str, str] = {}
    registered: dict[str, list[tuple[str, date]]] = {}
    housed: dict[str, set[str]] = {}  # id -> addresses owned or leased (valid today)
    for section, rec in _records(path):
        if section == "persons":
            if rec["status"] == "active" and rec["hukou"]["province_code"] != "31":
                migrants[rec["id_number"]] = rec["name"]
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
    applicants = []
    for id_number, regs in registered.items():
        homes = housed.get(id_number, set())
        for address, since in regs:
            if since <= six_months_ago and address in homes:
                applicants.append(Citizen(id_number, migrants[id_number], address))
                break
    return random.Random(seed).sample(applicants, min(limit, len(applicants)))
