"""The public verification page (`GET /verify/{code}`), rendered from Jinja2 templates.

Autoescaping is on for everything: holder names and reasons are data that came from people.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

VERIFY_STATUSES = ("valid", "revoked", "expired")
_SHANGHAI = timezone(timedelta(hours=8))

# Built once at import: template compilation is cached in the environment, rendering is ~0.1 ms.
_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,  # a missing field is a bug to see in tests, not a blank on the page
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_verify_page(
    *,
    status: str,
    service_name: str,
    serial: str,
    holder_name_masked: str,
    id_number_masked: str,
    issued_at: Any,
    expires_at: Any,
    sha256: str,
    revoked_reason: str | None = None,
) -> str:
    if status not in VERIFY_STATUSES:
        raise ValueError(f"unknown certificate status {status!r}")
    return _env.get_template("verify.html").render(
        status=status,
        service_name=service_name,
        serial=serial,
        holder_name_masked=holder_name_masked,
        id_number_masked=id_number_masked,
        issued_at=display_date(issued_at),
        expires_at=display_date(expires_at),
        sha256=sha256,
        revoked_reason=revoked_reason,
    )


def display_date(value: Any) -> str:
    """Dates as a reader in Shanghai says them ("2026年1月5日"), from a date, datetime or ISO string.

    An aware datetime is taken to Shanghai time first, so an expiry at 23:59:59+08:00 stays that day.
    Anything unparseable is shown as given (escaped by the template).
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = (value.astimezone(_SHANGHAI) if value.tzinfo else value).date()
    if isinstance(value, date):
        return f"{value.year}年{value.month}月{value.day}日"
    return str(value)


def render_not_found_page(code: str) -> str:
    # The code is echoed (escaped, and cut short) so the reader can spot a typo.
    return _env.get_template("verify_not_found.html").render(code=code[:64])
