from __future__ import annotations

from pydantic import BaseModel, Field


class MaterialOut(BaseModel):
    id: str = Field(examples=["7d0c3c0e-2f4f-4c36-9a43-0d5b1a6b2e11"])
    sha256: str
    size: int
    media_type: str = Field(examples=["application/pdf"])
