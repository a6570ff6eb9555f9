"""The JSON formatter's own path for plain records writes exactly what python-json-logger's path wrote."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pythonjsonlogger.json import JsonFormatter as LibraryJsonFormatter

from app.observability import JsonFormatter, log_fields, request_id_var


def _record(msg: object = "request", *args: object, extra: dict[str, object] | None = None, exc_info=None):
    record = logging.LogRecord("cityservices.access", logging.INFO, __file__, 12, msg, args or None, exc_info)
    record.created = 1764950400.123456  # fixed, so both paths print the same time
    for key, value in (extra or {}).items():
        setattr(record, key, value)
    return record


RECORDS = {
    "access line": lambda: _record(
        extra=log_fields(
            method="GET", route="/v1/applications/{application_id}", status=200, latency_ms=1.23, actor="s", role=None
        )
    ),
    "plain extras, unicode": lambda: _record("agency slow", extra={"agency": "police", "候选": "中文", "ms": 12.5}),
    "a message with arguments": lambda: _record("%s took %d ms", "police", 42),
    "values json cannot encode": lambda: _record(
        extra={"at": datetime(2026, 12, 5, tzinfo=UTC), "amount": Decimal("1.50"), "raw": b"\x00"}
    ),
    "an extra overriding a field": lambda: _record(extra={"level": "custom", "fields": {"time": "t"}}),
    "uvicorn's coloured copy": lambda: _record(extra={"color_message": "\x1b[1mrequest\x1b[0m"}),
    "empty fields": lambda: _record(extra={"fields": {}}),
    "a private attribute": lambda: _record(extra={"_private": 1, "kept": True}),
}


@pytest.mark.parametrize("request_id", [None, "0123456789abcdef0123456789abcdef"])
@pytest.mark.parametrize("name", list(RECORDS))
def test_a_plain_record_is_formatted_byte_for_byte_as_the_library_path_did(name, request_id):
    formatter = JsonFormatter()
    token = request_id_var.set(request_id)
    try:
        fast = formatter.format(RECORDS[name]())
        library = LibraryJsonFormatter.format(formatter, RECORDS[name]())
    finally:
        request_id_var.reset(token)
    assert fast == library


def test_a_record_with_a_traceback_still_carries_it():
    formatter = JsonFormatter()
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record("failed", exc_info=sys.exc_info())
    line = formatter.format(record)
    assert '"exc_info": "Traceback' in line and "ValueError: boom" in line and '"message": "failed"' in line
