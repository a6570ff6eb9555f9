"""The identity provider's settings (AUTH_*, docs/configuration.md), split from app.config to keep each
module small. `environment` is declared here, first, so that every validator (here and in app.config)
finds it already read when it asks whether this is production."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AnyHttpUrl, Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


def clear_text_off_host(url: str) -> bool:
    """http:// to anything but this machine (loopback: a sidecar or tunnel endpoint never crosses a network)."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        return False
    host = (parts.hostname or "").lower()
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def existing_file(value: Path | None) -> Path | None:
    """A path setting must name a file that is there, or be unset. Each settings class calls this from a
    validator of its own name: pydantic lets a subclass's validator replace a base class's of the same name."""
    if value is not None and not value.is_file():
        raise ValueError(f"file {str(value)!r} does not exist")
    return value


def in_production(info: ValidationInfo) -> bool:
    return info.data.get("environment") is Environment.production


class AuthSettings(BaseSettings):
    environment: Environment = Field(default=Environment.development, description="`production` refuses dev defaults")
    auth_jwks_file: Path | None = Field(default=None, description="identity provider's public keys (file)")
    auth_jwks_url: AnyHttpUrl | None = Field(
        default=None, description="identity provider's public keys (URL; https:// in production)"
    )
    auth_oidc_issuer_url: str | None = Field(
        default=None, description="OpenID Connect issuer: discovery gives the JWKS, and `iss` must equal it"
    )
    auth_jwks_cache_seconds: float = Field(default=300.0, gt=0, description="how long fetched JWKS keys are reused")
    auth_claim_roles: str = Field(default="roles", description="claim holding the roles (dots reach into objects)")
    auth_claim_id_number: str = Field(
        default="id_number", description="claim holding the person's id number (citizens; staff in production)"
    )
    auth_claim_name: str = Field(default="name", description="claim holding the verified real name")
    auth_claim_station: str = Field(default="station_id", description="claim holding a clerk's station")
    auth_role_map: dict[str, Literal["citizen", "clerk", "auditor"]] = Field(
        default_factory=dict,
        description='JSON object naming the identity provider\'s role values for ours, e.g. {"cityservices-citizen": '
        '"citizen"}; set, only the values it names grant a role',
    )
    auth_issuer: str = Field(default="cityservices-dev", description="expected `iss`")
    auth_audience: str = Field(default="cityservices", description="expected `aud`")

    @field_validator("auth_oidc_issuer_url")
    @classmethod
    def _issuer_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and (urlsplit(value).scheme not in {"http", "https"} or not urlsplit(value).netloc):
            raise ValueError("not an http(s) issuer URL")
        if value is not None and clear_text_off_host(value) and in_production(info):
            # Discovery and keys fetched in clear text can be swapped on the way: anyone on the path mints tokens.
            raise ValueError("ENVIRONMENT=production refuses an http:// issuer; use https://")
        return value

    @field_validator("auth_jwks_file")
    @classmethod
    def _jwks_file_exists(cls, value: Path | None) -> Path | None:
        return existing_file(value)

    @property
    def dev_auth(self) -> bool:
        return self.auth_jwks_file is None and self.auth_jwks_url is None and self.auth_oidc_issuer_url is None

    @property
    def expected_issuer(self) -> str:
        """OpenID Connect requires `iss` to equal the issuer URL exactly; otherwise AUTH_ISSUER."""
        return self.auth_oidc_issuer_url or self.auth_issuer
