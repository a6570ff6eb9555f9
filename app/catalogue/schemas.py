"""Wire shapes the catalogue shares with the domains that present its texts."""

from __future__ import annotations

from pydantic import BaseModel


class LocalizedText(BaseModel):
    zh: str
    en: str
