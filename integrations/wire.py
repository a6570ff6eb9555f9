"""What both agencies' wire models share."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

IdNumberOnWire = Annotated[str, Field(pattern=r"^\d{17}[\dX]$", examples=["330106199003070023"])]
"""Shape only: the agencies are the registry, so we take their id numbers as given."""


class WireModel(BaseModel):
    # Agencies may add fields without telling us; ignoring them keeps a harmless change harmless.
    model_config = ConfigDict(extra="ignore", frozen=True)
