"""JSON logs carrying the request id, and the Prometheus metrics every process exposes.

With several processes (`serve --workers N`) prometheus-client's multiprocess mode is on
(PROMETHEUS_MULTIPROC_DIR): each process writes its samples to files there and a scrape of any process
adds them all up. Gauges say how: `livesum` adds the live processes' values, `livemax` takes the largest.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

REQUESTS = Counter("cityservices_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "cityservices_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
APPLICATIONS_FILED = Counter(
    "cityservices_applications_filed_total",
    "Applications filed, by their first answer",
    ["service", "status", "channel"],
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
_Metric = TypeVar("_Metric", Counter, Histogram)


class Children(Generic[_Metric]):
    """A labelled metric's children, each looked up once per process: `metric.labels(...)` validates the
    labels and takes the metric's lock on every call (issue 29: two per request in the middleware)."""

    def __init__(self, metric: _Metric) -> None:
        self._metric: _Metric = metric
        self._children: dict[tuple[str, ...], _Metric] = {}

    def __call__(self, *labels: str) -> _Metric:
        child = self._children.get(labels)
        if child is None:
            child = self._children[labels] = self._metric.labels(*labels)
        return child


# The request in flight (set by the request middleware; sent on to the agencies by integrations.http).
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

AUDIT_EVENTS = Counter("cityservices_audit_events_total", "Request-log events written", ["kind"])
REQUESTS_BY, LATENCY_BY, AUDIT_EVENTS_BY = Children(REQUESTS), Children(LATENCY), Children(AUDIT_EVENTS)

# The gauges docs/scaling.md tells operators to watch; deploy/ alerts and dashboards use these names.
PENDING_AGENCY = Gauge(
    "cityservices_pending_agency_applications",
    "Applications waiting on an agency (the worker's backlog)",
    multiprocess_mode="livemax",
)
BREAKER_OPEN = Gauge(
    "cityservices_agency_circuit_open",
    "1 while this process's circuit to the agency is open (half-open: 0.5)",
    ["agency"],
    multiprocess_mode="livemax",
)
SEALER_LAG = Gauge(
    "cityservices_audit_sealer_lag_seconds",
    "Age of the oldest request-log event not yet sealed into the chain",
    multiprocess_mode="livemax",
)
UNSEALED_EVENTS = Gauge(
    "cityservices_audit_unsealed_events",
    "Request-log events not yet sealed into the chain",
    multiprocess_mode="livemax",
)
AUDIT_CHAIN_BROKEN = Gauge(
    "cityservices_audit_chain_broken",
    "1 once the sealer refused to sign a checkpoint: the chain contradicts an earlier checkpoint",
    multiprocess_mode="livemax",
)
PDF_POOL_QUEUE = Gauge(
    "cityservices_pdf_pool_queue",
    "Certificates waiting for, or being rendered and signed by, the PDF pool",
    multiprocess_mode="livesum",
)
FILINGS_WAITING = Gauge(
    "cityservices_filings_waiting",
    "Filings waiting for a turn in a serving process (FILINGS_AT_ONCE)",
    multiprocess_mode="livesum",
)
OUTBOX_BACKLOG = Gauge(
    "cityservices_outbox_backlog",
    "Notifications committed but not yet delivered",
    multiprocess_mode="livemax",
)
# Configuration errors, counted the moment they happen (an alert fires on any): an agency refusing our
# credentials or our TLS, and notifications given up on (dead-lettered) for one sink.
AGENCY_CONFIGURATION_ERRORS = Counter(
    "cityservices_agency_configuration_errors_total",
    "Agency calls refused for our configuration: kind unauthorized (401/403) or tls_error",
    ["agency", "kind"],
)
NOTIFICATIONS_DEAD_LETTERED = Counter(
    "cityservices_notifications_dead_lettered_total",
    "Notifications dead-lettered after their last attempt, by the sink that refused them",
    ["sink"],
)
METRIC_NAMES = (
    "cityservices_http_requests_total",
    "cityservices_http_request_duration_seconds",
    "cityservices_applications_filed_total",
    "cityservices_applications_decided_total",
    "cityservices_application_processing_seconds",
    "cityservices_audit_events_total",
    "cityservices_pending_agency_applications",
    "cityservices_agency_circuit_open",
    "cityservices_agency_configuration_errors_total",
    "cityservices_notifications_dead_lettered_total",
    "cityservices_audit_sealer_lag_seconds",
    "cityservices_audit_unsealed_events",
    "cityservices_audit_chain_broken",
    "cityservices_pdf_pool_queue",
    "cityservices_filings_waiting",
    "cityservices_outbox_backlog",
)


def share_metrics_between_processes() -> str | None:
    """Turn on multiprocess mode for this process and the ones it starts (before prometheus_client is
    imported by them). An operator's PROMETHEUS_MULTIPROC_DIR is kept; otherwise a fresh directory, whose
    path is returned for the caller to remove at exit."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made = tempfile.mkdtemp(prefix="cityservices-metrics-")
    return made


def metrics_registry() -> CollectorRegistry:
    """What a scrape reports: every process sharing PROMETHEUS_MULTIPROC_DIR, else this process."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def forget_this_process() -> None:
    """At exit: drop this process's `live*` gauge samples from the shared directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def serve_metrics(host: str, port: int) -> None:
    """The worker's own /metrics (a small HTTP server thread)."""
    from prometheus_client import start_http_server

    start_http_server(port, addr=host, registry=metrics_registry())


class JsonFormatter(_LibraryJsonFormatter):
    """python-json-logger, with our field names, the request id, and `extra` fields kept (also those
    passed as `extra=log_fields(...)`).

    A record without a traceback, a stack or a dict message (every access log line) takes `format`'s own
    path: the same dictionary in the same order, encoded by the same encoder settings, byte for byte
    (tests/operations/test_log_format.py), without the library's general passes over the record (issue 29:
    one line per request). Anything else goes through the library."""

    def __init__(self) -> None:
        super().__init__(json_ensure_ascii=False, json_default=str)
        # What json.dumps(..., ensure_ascii=False, default=str) builds on every call, built once.
        self._encode = json.JSONEncoder(ensure_ascii=False, default=str).encode

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text or record.stack_info or isinstance(record.msg, dict):
            return super().format(record)
        record.message = record.getMessage()
        entry = self._entry(record, record.message)
        extra: dict[str, Any] = {}
        skip = self._skip_fields
        for key, value in record.__dict__.items():
            if key not in skip and not key.startswith("_"):
                extra[key] = value
        extra.pop("color_message", None)
        entry.update(extra.pop("fields", None) or {})
        entry.update(extra)
        return self.prefix + self._encode(entry)

    def add_fields(self, log_record: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record.pop("message", None)
        entry = self._entry(record, record.getMessage())
        log_record.pop("color_message", None)  # uvicorn's ANSI-coloured copy of the message
        entry.update(log_record.pop("fields", None) or {})
        entry.update(log_record)
        log_record.clear()
        log_record.update(entry)

    @staticmethod
    def _entry(record: logging.LogRecord, message: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
            "pid": record.process,  # with `serve --workers N`, which process answered
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        return entry


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Python warnings too go through the JSON handler (py.warnings), not as plain text on stderr.
    logging.captureWarnings(True)
    # uvicorn's access log prints raw paths, which hold id numbers and verification codes; ours logs templates.
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in (
        "httpx",
        "httpcore",
        "pyhanko",
        "pyhanko_certvalidator",
        "aiosqlite",
        "asyncio",
        "alembic.runtime.plugins",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log_fields(**fields: Any) -> dict[str, Any]:
    return {"fields": fields}
