"""Settings from the environment (docs/configuration.md), validated once at start."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.integration_settings import IntegrationSettings, aims_at_link_local
from app.settings_auth import Environment, clear_text_off_host, existing_file, in_production

__all__ = ["Environment", "Settings", "SettingsError", "aims_at_link_local", "load_settings"]


# The drivers the package installs. postgresql+psycopg is not one: psycopg is not a dependency, and SQLAlchemy
# would only find that out at the first connection (a long traceback); refused here in one line instead.
_ASYNC_DRIVERS = {"sqlite+aiosqlite", "postgresql+asyncpg"}


class Settings(IntegrationSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    data_dir: Path = Field(default=Path("./data"), description="dev keys, SQLite file, anything local")
    database_url: str | None = Field(default=None, description="SQLAlchemy async URL; default SQLite file in DATA_DIR")
    database_pool_size: int = Field(
        default=30,
        ge=1,
        le=500,
        description="database connections each process keeps open: the requests it serves at once, plus 2 "
        "(request-log writer, sealer); processes × (this + DATABASE_MAX_OVERFLOW) must fit max_connections",
    )
    database_max_overflow: int = Field(
        default=10, ge=0, le=500, description="extra connections a process opens past the pool in a burst, closed after"
    )
    database_read_pool_size: int = Field(
        default=10,
        ge=1,
        le=500,
        description="PostgreSQL: connections each serving process keeps for the hot reads, in AUTOCOMMIT, "
        "besides DATABASE_POOL_SIZE (a read holds one for a single statement); count them in max_connections",
    )
    database_pool_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="longest a request waits for a free connection before a 503 with Retry-After (not a 30 s hang)",
    )
    police_api_url: AnyHttpUrl | None = Field(default=None, description="police base URL; unset = simulator")
    housing_api_url: AnyHttpUrl | None = Field(default=None, description="housing base URL; unset = simulator")
    police_api_token: SecretStr | None = Field(default=None, description="bearer token sent to the police")
    housing_api_token: SecretStr | None = Field(default=None, description="bearer token sent to the housing bureau")
    storage_url: str | None = Field(
        default=None, description="`s3://bucket/prefix` for materials and PDFs; unset = in the database"
    )
    simulator_dataset: Path | None = Field(default=None, description="dataset the simulators serve")
    stations_file: Path | None = Field(
        default=None,
        description="the police stations with comprehensive windows (JSON, as integrations/datasets/stations.json); "
        "unset = the bundled registry of 309",
    )
    appointment_slot_minutes: int = Field(
        default=30, ge=5, le=240, description="length of one appointment slot at a window"
    )
    appointment_slot_capacity: int = Field(
        default=4,
        ge=1,
        le=100,
        description="citizens one slot of one line at one station takes (kept with the slot when first booked)",
    )
    appointment_booking_days: int = Field(
        default=14, ge=1, le=90, description="how many days ahead a slot at a window may be booked"
    )
    signing_key_file: Path | None = Field(default=None, description="PEM key that signs certificates")
    signing_cert_file: Path | None = Field(default=None, description="PEM certificate chain of that key")
    public_base_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:8000"), description="where the public verification page lives"
    )
    cert_font_file: Path | None = Field(
        default=None, description="TrueType CJK font to embed; unset = the bundled Noto Serif SC subset"
    )
    signing_trusted_certs: Path | None = Field(
        default=None, description="PEM file of earlier signing certificates whose PDFs still verify after a rotation"
    )
    tsa_url: AnyHttpUrl | None = Field(
        default=None, description="RFC 3161 time-stamp authority; set, every signature carries a time stamp"
    )
    agency_wait_limit: int = Field(
        default=86400, ge=1, description="seconds an application may wait on an agency before review"
    )
    materials_wait_limit: int = Field(
        default=2592000, ge=1, description="seconds a citizen has to supply materials a clerk asked for"
    )
    agency_timeout_seconds: float = Field(default=1.0, gt=0, description="per attempt of one agency call")
    agency_deadline_seconds: float = Field(default=3.0, gt=0, description="one agency call, retries included")
    agency_breaker_reset_seconds: float = Field(
        default=30.0, gt=0, description="how long a tripped circuit to an agency stays open"
    )
    pdf_processes: int = Field(
        default=1, ge=0, le=16, description="processes per service worker that render and sign PDFs (0 = threads)"
    )
    filings_at_once: int = Field(
        default=2,
        ge=1,
        le=1000,
        description="filings each serving process works on at once; the others wait their turn, earliest first "
        "(a filing waiting on the agencies gives its turn up meanwhile)",
    )
    audit_checkpoint_seconds: float = Field(
        default=300.0, gt=0, description="how often the worker signs the request log's chain head"
    )
    audit_person_searches_per_hour: int = Field(
        default=30,
        ge=1,
        description="searches of the request log by a person (`subject_id_number`, `actor`) per auditor per hour",
    )
    audit_hmac_key: str | None = Field(
        default=None, min_length=16, description="secret keying the hash of id numbers in the request log"
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list, description="origins allowed by CORS")
    forwarded_allow_ips: str = Field(
        default="127.0.0.1", description="proxies whose X-Forwarded-For/-Proto are believed (comma-separated, `*`)"
    )
    redis_url: str | None = Field(default=None, description="Redis for rate limits shared by processes")
    rate_limit_filing: str = Field(default="20/minute", description="filings per citizen")
    rate_limit_uploads: str = Field(default="30/minute", description="uploads per citizen")
    rate_limit_verify: str = Field(default="60/minute", description="public verifications per client address")
    rate_limit_stations: str = Field(
        default="120/minute", description="public look-ups of stations and slots per client address"
    )
    rate_limit_public_stats: str = Field(default="30/minute", description="public statistics per client address")
    rate_limit_reissue: str = Field(default="3/day", description="certificate re-issues per citizen")
    # Sharing (docs/sharing.md): a share link's token is unguessable; the limit slows its use from one address.
    rate_limit_shares: str = Field(default="30/minute", description="uses of share links per client address")
    public_stats_min_count: int = Field(
        default=10, ge=1, description="public statistics answer any smaller count (and a rate from it) as null"
    )
    upload_quota_mb: float = Field(
        default=100, gt=0, description="MiB of materials a citizen may keep that no application uses yet"
    )
    unattached_material_hours: float = Field(
        default=24, gt=0, description="materials no application uses are deleted by the worker after this"
    )
    audit_anchor_url: str | None = Field(
        default=None,
        description="where every signed checkpoint is also appended, outside the database: `file:///path`, "
        "`s3://bucket/prefix` or `nats://host:port/stream`; unset = nowhere",
    )
    http_header_timeout_seconds: float = Field(
        default=10.0, gt=0, description="a request's headers must arrive within this (else 408 and closed)"
    )
    http_body_idle_timeout_seconds: float = Field(
        default=15.0, gt=0, description="longest pause between two parts of a request body (else 408)"
    )
    http_body_timeout_seconds: float = Field(
        default=120.0, gt=0, description="a whole request body, uploads included, must arrive within this"
    )
    uploads_per_address: int = Field(
        default=4,
        ge=1,
        description="uploads (materials, PDFs to verify) in flight at once per client address, per process",
    )
    docs_enabled: bool | None = Field(
        default=None, description="serve /docs and /redoc (default: outside production only); assets are local"
    )
    run_worker_in_process: bool | None = Field(
        default=None, description="run the background worker inside `serve` (default: outside production)"
    )
    # Ports beside the public one (docs/deployment.md, "Ports"): scrapes and probes stay off the public listener.
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="`serve` answers /metrics on this port only, and 404 on the public one; unset = the public port",
    )
    metrics_host: str = Field(default="127.0.0.1", description="address METRICS_PORT listens on")
    worker_health_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="`cityservices worker` answers /healthz on this port: 200 while its loop runs, 503 once stalled",
    )
    worker_health_host: str = Field(default="127.0.0.1", description="address WORKER_HEALTH_PORT listens on")
    worker_stall_seconds: float = Field(
        default=120.0, gt=0, description="the worker's /healthz says 503 when no pass has ended for this long"
    )

    @model_validator(mode="after")
    def _signed_webhooks_in_production(self) -> Settings:
        if self.is_production and self.notify_webhook_url is not None and self.notify_webhook_secret is None:
            raise ValueError("NOTIFY_WEBHOOK_URL needs NOTIFY_WEBHOOK_SECRET in production")
        return self

    @field_validator(
        "rate_limit_filing",
        "rate_limit_uploads",
        "rate_limit_verify",
        "rate_limit_public_stats",
        "rate_limit_reissue",
        "rate_limit_stations",
        "rate_limit_shares",
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError as exc:
            raise ValueError("not a rate like 20/minute") from exc
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except ValueError as exc:
                    raise ValueError("not a JSON list of origins") from exc
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
            raise ValueError("not a Redis URL (redis://host:6379/0, rediss://… or unix://…)")
        return value

    @field_validator("storage_url")
    @classmethod
    def _storage_url(cls, value: str | None) -> str | None:
        if value is not None and (urlsplit(value).scheme != "s3" or not urlsplit(value).netloc):
            raise ValueError("not an object-store URL like s3://bucket/prefix")
        return value

    @field_validator("audit_anchor_url")
    @classmethod
    def _anchor_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme == "file" and parts.path.startswith("/") and not parts.netloc:
            return value
        if parts.scheme == "s3" and parts.netloc:
            return value
        if parts.scheme == "nats" and parts.netloc and parts.path.strip("/"):
            return value
        raise ValueError("not an anchor URL like file:///path, s3://bucket/prefix or nats://host:4222/stream")

    @field_validator("police_api_token", "housing_api_token")
    @classmethod
    def _token_over_tls(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        url_field = (info.field_name or "").replace("_token", "_url")
        url = info.data.get(url_field)
        if value is not None and url is not None and clear_text_off_host(str(url)) and in_production(info):
            # A bearer token in clear text is anyone's on the path to the agency.
            raise ValueError(
                f"ENVIRONMENT=production refuses to send it over http://; use an https:// {url_field.upper()}"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _async_database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError("not a database URL (e.g. postgresql+asyncpg://user@host/db)") from exc
        if url.drivername not in _ASYNC_DRIVERS:
            hint = "; use postgresql+asyncpg://" if url.get_backend_name() == "postgresql" else ""
            raise ValueError(f"driver {url.drivername!r} is not one of {sorted(_ASYNC_DRIVERS)}{hint}")
        return value

    @field_validator(
        "signing_key_file",
        "signing_cert_file",
        "cert_font_file",
        "simulator_dataset",
        "stations_file",
        "signing_trusted_certs",
    )
    @classmethod
    def _files_exist(cls, value: Path | None) -> Path | None:
        return existing_file(value)

    @model_validator(mode="after")
    def _refuse_dev_defaults_in_production(self) -> Settings:
        if (self.signing_key_file is None) != (self.signing_cert_file is None):
            raise ValueError("SIGNING_KEY_FILE and SIGNING_CERT_FILE must be set together")
        if self.environment is not Environment.production:
            return self
        refusals = {
            "AUTH_JWKS_FILE/AUTH_JWKS_URL/AUTH_OIDC_ISSUER_URL": self.dev_auth,
            "SIGNING_KEY_FILE": self.signing_key_file is None,
            "POLICE_API_URL": self.police_api_url is None,
            "HOUSING_API_URL": self.housing_api_url is None,
            "DATABASE_URL": self.database_url is None or self.database_url.startswith("sqlite"),
            "AUDIT_HMAC_KEY": self.audit_hmac_key is None,
        }
        missing = [name for name, refused in refusals.items() if refused]
        if missing:
            raise ValueError("ENVIRONMENT=production refuses development defaults; set " + ", ".join(missing))
        if self.auth_jwks_url is not None and self.auth_jwks_url.scheme != "https":
            # Keys fetched in clear text can be swapped on the way: anyone on the path could mint tokens.
            raise ValueError("ENVIRONMENT=production refuses an http:// AUTH_JWKS_URL; use https://")
        return self

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.production

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'cityservices.db').resolve()}"

    @property
    def serve_docs(self) -> bool:
        return self.docs_enabled if self.docs_enabled is not None else not self.is_production

    @property
    def worker_in_process(self) -> bool:
        if self.run_worker_in_process is not None:
            return self.run_worker_in_process
        return not self.is_production


class SettingsError(SystemExit):
    """A bad setting: stops the service with one line naming the variable."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except SourceError as exc:
        # pydantic-settings could not even parse a variable (e.g. malformed JSON for a list).
        raise SettingsError(f"cityservices: invalid setting: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        variable = "_".join(str(part) for part in first["loc"]).upper() or "ENVIRONMENT"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"cityservices: invalid setting {variable}: {message}") from None
