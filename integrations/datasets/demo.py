"""The bundled demo dataset, as code: who is in it, and what each person is for. The people are a table
(`demo_cases.py`, a row each); this module builds the dataset, the cases and the permit cases from it.

`demo.json` and the table in `README.md` are generated from here (`python -m integrations.datasets.demo`
rewrites the one and prints the other), and a test keeps all three in step. Domain tests can drive
every decision (docs/api.md#lifecycle-and-decisions) from `CASES`.

Dates are relative (`today-2y`) so that the decisions hold whatever day the demo is run.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.identity.id_number import check_digit
from integrations.datasets import DEMO_PATH
from integrations.datasets.demo_cases import (
    ISSUED,
    MISMATCH,
    NO_HOUSING,
    NO_REG,
    NO_REG_NO_HOUSING,
    NOBODY,
    NOT_FOUND,
    NOT_LOCAL,
    PERMIT_ROWS,
    ROWS,
    UNDER_6,
    ZHANG_WEI_NEW_ADDRESS,
    Row,
)

__all__ = ["CASES", "DATASET", "NOT_IN_DATASET", "PERMIT_CASES", "ZHANG_WEI_NEW_ADDRESS", "DemoCase", "PermitCase"]

_IDENTITY_FAILS = (MISMATCH, NOT_FOUND)


def make_id(region: str, birth: str, sequence: int, *, gender: str, want_x: bool = False) -> str:
    """A checksum-valid id number; the sequence is nudged to match the gender (odd = male) and,
    with `want_x`, until the check character is X."""
    seq = sequence
    while True:
        if (seq % 2 == 1) == (gender == "M"):
            first17 = f"{region}{birth}{seq:03d}"
            check = check_digit(first17)
            if not want_x or check == "X":
                return first17 + check
        seq += 1


@dataclass(frozen=True)
class DemoCase:
    id_number: str
    name: str  # as the registry has it
    purpose: str
    address: str | None  # the address to file a residence permit with, as the person would type it
    residence_permit: str
    no_criminal_record: str
    household_registration: str
    residence_registration: str
    kinship: str
    temporary_identity: str
    relative: str | None  # the relative to file a kinship certificate about (id number)
    file_as: str | None = None  # a name to file with instead of `name`, for the mismatch case


@dataclass(frozen=True)
class PermitCase:
    """A renewal or change of address of a residence permit the holder got earlier through the API.

    `holder` gets a residence permit at `permit_address` (a clerk approves it if it goes to review);
    `state` then says what became of it before `filer` files: valid, expired N days ago, revoked,
    superseded (renewed once already), or, instead of a permit, an unknown serial or the holder's
    no-criminal-record certificate. The filer is the holder unless said."""

    service: str  # residence-permit-renewal | residence-permit-address-change
    holder: str
    holder_name: str
    permit_address: str
    state: str  # valid | expired-<N>d | revoked | superseded | unknown-serial | not-a-permit
    expected: str
    purpose: str
    new_address: str | None = None  # address change only
    filer: str | None = None  # id number, when someone else files with the holder's serial
    filer_name: str | None = None
    file_as: str | None = None  # a name to file with instead of the filer's, for the mismatch case


NOT_IN_DATASET = make_id("320581", "19950505", 123, gender="M")
"""A valid id number that no agency knows: IDENTITY_NOT_FOUND."""


def _registration_follows(rp: str) -> str:
    """Residence registration asks what a residence permit asks, less the police registration itself."""
    if rp in (NO_HOUSING, NO_REG_NO_HOUSING):
        return NO_HOUSING
    return ISSUED if rp in (NO_REG, UNDER_6) else rp


def _person(row: Row, ids: dict[str, str]) -> dict[str, Any]:
    id_number = ids[row.name]
    return {
        "id_number": id_number,
        "name": row.name,
        "gender": row.gender,
        "ethnicity": row.ethnicity,
        "birth_date": f"{row.birth[:4]}-{row.birth[4:6]}-{row.birth[6:]}",
        "status": row.status,
        "hukou": {
            "province_code": row.province or row.region[:2],
            "address": row.hukou,
            "household_head_id_number": ids[row.head] if row.head else id_number,
            "relation_to_head": row.relation,
        },
    }


def _case(row: Row, ids: dict[str, str]) -> DemoCase:
    """Unless the row says: residence registration follows the residence permit; a kinship certificate is
    NOT_LOCAL_HUKOU where the household-registration certificate is, asked about 沈国强; a temporary
    identity certificate is issued to anyone the registry knows as active under that name."""
    rp, ncr, hr = row.decides
    identity_fails = ncr in _IDENTITY_FAILS
    return DemoCase(
        ids[row.name],
        row.name,
        row.purpose,
        row.address,
        rp,
        ncr,
        hr,
        residence_registration=row.residence_registration or _registration_follows(rp),
        kinship=row.kinship or (hr if hr == NOT_LOCAL or identity_fails else ISSUED),
        temporary_identity=ncr if identity_fails else ISSUED,
        relative=ids[row.relative or "沈国强"],
        file_as=row.file_as,
    )


def _dataset(ids: dict[str, str]) -> dict[str, Any]:
    """Every row's records, in table order: each list in the order its rows give them."""
    data: dict[str, list[dict[str, Any]]] = {
        "persons": [],
        "residence_registrations": [],
        "criminal_records": [],
        "properties": [],
        "leases": [],
    }
    for row in ROWS:
        me = ids[row.name]
        data["persons"].append(_person(row, ids))
        for address, on in row.registered:
            data["residence_registrations"].append({"id_number": me, "address": address, "registered_on": on})
        for certificate, address, owners in row.owns:
            owner_ids = [ids[name] for name in owners] or [me]
            data["properties"].append(
                {"certificate_number": certificate, "address": address, "owner_id_numbers": owner_ids}
            )
        for lease in row.leases:
            data["leases"].append(
                {
                    "registration_number": lease.registration,
                    "address": lease.address,
                    "tenant_id_numbers": [ids[name] for name in lease.tenants] or [me],
                    "start_date": lease.start,
                    "end_date": lease.end,
                }
            )
        for case_number, offence, on in row.convicted:
            data["criminal_records"].append(
                {"id_number": me, "case_number": case_number, "offence": offence, "judgment_date": on}
            )
    return dict(data)


def _build() -> tuple[dict[str, Any], list[DemoCase], list[PermitCase]]:
    ids = {row.name: make_id(row.region, row.birth, row.seq, gender=row.gender, want_x=row.want_x) for row in ROWS}
    ids[NOBODY] = NOT_IN_DATASET
    cases = [_case(row, ids) for row in ROWS]
    cases.append(
        DemoCase(
            NOT_IN_DATASET,
            "(any)",
            "valid id number that no agency knows",
            "上海市长宁区虹桥路1号5号楼301室",
            NOT_FOUND,
            NOT_FOUND,
            NOT_FOUND,
            residence_registration=NOT_FOUND,
            kinship=NOT_FOUND,
            temporary_identity=NOT_FOUND,
            relative=ids["沈国强"],
        )
    )
    rows = {row.name: row for row in ROWS}
    permits = [
        PermitCase(
            p.service,
            ids[p.holder],
            p.holder,
            rows[p.holder].address or "",
            p.state,
            p.expected,
            p.purpose,
            new_address=p.new_address,
            filer=ids[p.filer] if p.filer else None,
            filer_name=p.filer,
            file_as=p.file_as,
        )
        for p in PERMIT_ROWS
    ]
    return _dataset(ids), cases, permits


DATASET, CASES, PERMIT_CASES = _build()


def build() -> dict[str, Any]:
    """The demo dataset, exactly as `demo.json` holds it."""
    copy: dict[str, Any] = json.loads(json.dumps(DATASET))
    return copy


def render_json() -> str:
    return json.dumps(DATASET, ensure_ascii=False, indent=1) + "\n"


def render_table() -> str:
    header = (
        "| id number | name | what for | address to file with (residence permit, residence registration) "
        "| residence-permit | no-criminal-record | household-registration | residence-registration "
        "| kinship (relative) | temporary-identity |\n|---|---|---|---|---|---|---|---|---|---|\n"
    )
    names = {c.id_number: c.name for c in CASES}
    rows = []
    for c in CASES:
        name = f"{c.name} (file as {c.file_as})" if c.file_as else c.name
        relative = names.get(c.relative or "", "unknown") if c.relative else "—"
        rows.append(
            f"| `{c.id_number}` | {name} | {c.purpose} | {c.address or '—'} | {c.residence_permit} "
            f"| {c.no_criminal_record} | {c.household_registration} | {c.residence_registration} "
            f"| {c.kinship} ({relative}) | {c.temporary_identity} |"
        )
    return header + "\n".join(rows) + "\n"


def render_permit_table() -> str:
    header = (
        "| service | holder | permit at | what became of it | filed by | new address | decision | why |\n"
        "|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for p in PERMIT_CASES:
        filer = p.filer_name or p.holder_name
        if p.file_as:
            filer = f"{filer} as {p.file_as}"
        rows.append(
            f"| {p.service} | {p.holder_name} | {p.permit_address} | {p.state} | {filer} "
            f"| {p.new_address or '—'} | {p.expected} | {p.purpose} |"
        )
    return header + "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="Rewrite demo.json; print the README table.")
    parser.add_argument("--out", type=Path, default=DEMO_PATH)
    args = parser.parse_args()
    args.out.write_text(render_json(), encoding="utf-8")
    print(render_table())
    print(render_permit_table(), end="")


if __name__ == "__main__":
    main()
