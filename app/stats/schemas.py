from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ServiceStats(BaseModel):
    service: str
    filed: int
    by_status: dict[str, int]
    by_channel: dict[str, int]
    decided: int
    processing_seconds_p50: float | None = Field(description="Filing to decision, decided applications only")
    processing_seconds_p95: float | None


class Stats(BaseModel):
    since: datetime | None
    until: datetime | None
    filed: int
    by_status: dict[str, int]
    by_channel: dict[str, int]
    online_rate: float | None = Field(description="Share of applications filed online among all filed in the window")
    services: list[ServiceStats]
