"""The housing bureau's wire format (docs/api.md#the-agencies), as we parse it and as the simulator documents it."""

from __future__ import annotations

from datetime import date

from integrations.wire import IdNumberOnWire, WireModel


class Property(WireModel):
    certificate_number: str
    address: str
    owner_id_numbers: list[IdNumberOnWire]


class Properties(WireModel):
    items: list[Property]


class Lease(WireModel):
    registration_number: str
    address: str
    tenant_id_numbers: list[IdNumberOnWire]
    start_date: date
    end_date: date  # inclusive: the lease is valid on this day

    def valid_on(self, day: date) -> bool:
        return self.start_date <= day <= self.end_date


class Leases(WireModel):
    items: list[Lease]
