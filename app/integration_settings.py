"""The settings of what the service talks to outside itself: mutual TLS to each agency, and where
notifications go (the webhook, NATS JetStream and its stream's limits). `app.config.Settings` inherits
them; they live here to keep each settings module small. docs/configuration.md lists them all."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from pydantic import AnyHttpUrl, Field, field_validator, model_validator

from app.settings_auth import AuthSettings, existing_file

# Instance-metadata services reached by name (Google, Alibaba Cloud, AWS, Azure's own names resolve to 169.254.x).
_METADATA_HOSTS = {
    "metadata",
    "metadata.google.internal",
    "metadata.aliyun.com",
    "instance-data",
    "instance-data.ec2.internal",
}
_METADATA_ADDRESSES = {ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")}
AGENCIES = ("police", "housing")


def aims_at_link_local(host: str) -> bool:
    """A link-local address (169.254.0.0/16, fe80::/10: where clouds serve instance metadata and its
    credentials), a known metadata address or name."""
    name = host.strip("[]").rstrip(".").lower()
    if name in _METADATA_HOSTS:
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_link_local or address in _METADATA_ADDRESSES


@dataclass(frozen=True)
class AgencyTls:
    """The files one agency's mutual TLS uses, after falling back to the shared ones."""

    client_cert_file: Path | None
    client_key_file: Path | None
    ca_file: Path | None


class IntegrationSettings(AuthSettings):
    agency_client_cert_file: Path | None = Field(
        default=None, description="PEM client certificate for mutual TLS, for every agency without its own"
    )
    agency_client_key_file: Path | None = Field(default=None, description="PEM private key of that certificate")
    agency_ca_file: Path | None = Field(
        default=None, description="PEM CA bundle the agencies' servers chain to, for every agency without its own"
    )
    police_client_cert_file: Path | None = Field(
        default=None, description="the police's own client certificate (else AGENCY_CLIENT_CERT_FILE)"
    )
    police_client_key_file: Path | None = Field(default=None, description="PEM private key of that certificate")
    police_ca_file: Path | None = Field(
        default=None, description="CA bundle of the police's server (else AGENCY_CA_FILE)"
    )
    housing_client_cert_file: Path | None = Field(
        default=None, description="the housing bureau's own client certificate (else AGENCY_CLIENT_CERT_FILE)"
    )
    housing_client_key_file: Path | None = Field(default=None, description="PEM private key of that certificate")
    housing_ca_file: Path | None = Field(
        default=None, description="CA bundle of the housing bureau's server (else AGENCY_CA_FILE)"
    )
    notify_webhook_url: AnyHttpUrl | None = Field(
        default=None, description="where events are POSTed (10.4); unset = no webhook"
    )
    notify_webhook_secret: str | None = Field(
        default=None,
        min_length=16,
        description="HMAC-SHA256 key of the webhook's X-Cityservices-Signature and Standard Webhooks signature",
    )
    notify_nats_url: str | None = Field(default=None, description="NATS JetStream to publish events to; unset = none")
    notify_nats_max_age_seconds: float = Field(
        default=7 * 86400, gt=0, description="the JetStream stream keeps an event at most this long"
    )
    notify_nats_max_bytes: int = Field(
        default=1024**3, ge=1024, description="the JetStream stream's size limit; the oldest events go first"
    )
    notify_nats_max_msgs: int = Field(
        default=1_000_000, ge=1, description="the JetStream stream's message limit; the oldest events go first"
    )
    notify_timeout_seconds: float = Field(default=5.0, gt=0, description="one webhook or broker delivery attempt")
    notify_max_attempts: int = Field(default=12, ge=1, description="delivery attempts before an event is dead-lettered")

    @field_validator(
        "agency_client_cert_file",
        "agency_client_key_file",
        "agency_ca_file",
        "police_client_cert_file",
        "police_client_key_file",
        "police_ca_file",
        "housing_client_cert_file",
        "housing_client_key_file",
        "housing_ca_file",
    )
    @classmethod
    def _agency_files_exist(cls, value: Path | None) -> Path | None:
        return existing_file(value)

    @model_validator(mode="after")
    def _certificates_come_with_their_keys(self) -> IntegrationSettings:
        for prefix in ("agency", *AGENCIES):
            if (getattr(self, f"{prefix}_client_cert_file") is None) != (
                getattr(self, f"{prefix}_client_key_file") is None
            ):
                raise ValueError(
                    f"{prefix.upper()}_CLIENT_CERT_FILE and {prefix.upper()}_CLIENT_KEY_FILE must be set together"
                )
        return self

    @field_validator("notify_webhook_url")
    @classmethod
    def _webhook_not_at_metadata(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        if value is not None and aims_at_link_local(value.host or ""):
            # A link-local address is the cloud's instance metadata (credentials); no receiver lives there.
            raise ValueError(f"{value.host} is a link-local / instance-metadata address, not a webhook receiver")
        return value

    def agency_tls(self, agency: str) -> AgencyTls:
        """One agency's certificate and key (its own pair, else the shared pair: never one of each) and CA."""
        cert: Path | None = getattr(self, f"{agency}_client_cert_file")
        key: Path | None = getattr(self, f"{agency}_client_key_file")
        if cert is None:
            cert, key = self.agency_client_cert_file, self.agency_client_key_file
        ca: Path | None = getattr(self, f"{agency}_ca_file") or self.agency_ca_file
        return AgencyTls(client_cert_file=cert, client_key_file=key, ca_file=ca)
