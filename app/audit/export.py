"""Streaming the log as NDJSON or CSV (UTF-8 with BOM so spreadsheets keep the Chinese intact).

CSV cells are neutralised against formula injection (OWASP "CSV Injection"): much of an event comes from
callers (a token's `sub`, a path), and a cell such as `=HYPERLINK(...)` must reach an auditor's spreadsheet
as text, never as a formula.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator

from app.audit.models import AuditEvent, EventRow
from app.audit.schemas import AuditEventOut

COLUMNS = list(AuditEventOut.model_fields)
# A spreadsheet evaluates a cell starting with any of these (full-width forms too, which some convert).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(cell: str) -> str:
    """OWASP: prefix a text cell that a spreadsheet would read as a formula with a single quote."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, dict):
        return neutralise(json.dumps(value, ensure_ascii=False))
    if isinstance(value, str):
        return neutralise(value)
    return value  # numbers stay numbers


def _record(event: AuditEvent | EventRow) -> dict[str, object]:
    return AuditEventOut.model_validate(event, from_attributes=True).model_dump(mode="json")


async def ndjson(events: AsyncIterator[AuditEvent] | AsyncIterator[EventRow]) -> AsyncIterator[bytes]:
    async for event in events:
        yield json.dumps(_record(event), ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


async def csv_rows(events: AsyncIterator[AuditEvent]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield "\ufeff".encode() + buffer.getvalue().encode()
    async for event in events:
        buffer.seek(0)
        buffer.truncate()
        record = _record(event)
        writer.writerow(_cell(record[c]) for c in COLUMNS)
        yield buffer.getvalue().encode()
