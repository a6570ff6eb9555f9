"""Streaming the log as NDJSON or CSV (UTF-8 with BOM so spreadsheets keep the Chinese intact)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator

from app.audit.models import AuditEvent
from app.audit.schemas import AuditEventOut

COLUMNS = list(AuditEventOut.model_fields)


def _record(event: AuditEvent) -> dict[str, object]:
    return AuditEventOut.model_validate(event, from_attributes=True).model_dump(mode="json")


async def ndjson(events: AsyncIterator[AuditEvent]) -> AsyncIterator[bytes]:
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
        writer.writerow(
            json.dumps(record[c], ensure_ascii=False) if isinstance(record[c], dict) else ("" if record[c] is None else record[c])
            for c in COLUMNS
        )
        yield buffer.getvalue().encode()
