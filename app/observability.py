"""JSON logs carrying the request id, and the Prometheus metrics every process exposes."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Histogram

from app.api.context import current_context

REQUESTS = Counter("cityservices_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "cityservices_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
APPLICATIONS_FILED = Counter(
    "cityservices_applications_filed_total", "Applications filed, by their first answer", ["service", "status", "channel"]
)
APPLICATIONS_DECIDED = Counter(
    "cityservices_applications_decided_total", "Applications decided", ["service", "status", "channel"]
)
PROCESSING_SECONDS = Histogram(
    "cityservices_application_processing_seconds",
    "Filing to decision (issued or rejected), per service",
    ["service"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 60, 600, 3600, 86400, 604800),
)
AUDIT_EVENTS = Counter("cityservices_audit_events_total", "Request-log events written", ["kind"])


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        ctx = current_context()
        if ctx is not None:
            entry["request_id"] = ctx.request_id
        for key, value in getattr(record, "fields", {}).items():
            entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's access log prints raw paths, which hold id numbers and verification codes; ours logs templates.
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("httpx", "httpcore", "pyhanko", "pyhanko_certvalidator", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log_fields(**fields: Any) -> dict[str, Any]:
    return {"fields": fields}
