from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.catalogue.base import ServiceDefinition
from app.catalogue.registry import SERVICES
from app.catalogue.schemas import LocalizedText
from app.catalogue.window_matters import WINDOW_MATTERS, WindowMatter

router = APIRouter(prefix="/v1")


class ServiceOut(BaseModel):
    code: str
    name: LocalizedText
    description: LocalizedText
    required_materials: list[LocalizedText]
    agencies: list[str]
    processing_mode: str = Field(
        description="`automatic`: filed online and decided by the rules; `window`: done at a police station's "
        "comprehensive window (filing one online answers with the nearest stations: 409 `WINDOW_ONLY_SERVICE`)"
    )
    validity_months: int | None = Field(
        description="Months from the day of issue, when constant; null when computed (see `validity`)"
    )
    validity: LocalizedText
    line: str | None = Field(
        default=None, description="A matter done at a window: the business line its appointments are booked in"
    )
    details_schema: dict[str, object]


class Catalogue(BaseModel):
    items: list[ServiceOut]


@router.get(
    "/services",
    operation_id="list_services",
    summary="The catalogue of services",
    description="Each service's name in Chinese and English, required materials, agencies consulted, "
    "processing mode and the JSON Schema of its `details`. The eight online services first, then the matters "
    "done at a window (`processing_mode: window`).",
    tags=["public"],
    response_model=Catalogue,
)
async def list_services() -> Catalogue:
    items = []
    listed: list[ServiceDefinition | WindowMatter] = [*SERVICES.values(), *WINDOW_MATTERS.values()]
    for definition in listed:
        entry = definition.catalogue_entry()
        items.append(
            ServiceOut(
                code=entry.code,
                name=LocalizedText(**entry.name.as_dict()),
                description=LocalizedText(**entry.description.as_dict()),
                required_materials=[LocalizedText(**m.as_dict()) for m in entry.required_materials],
                agencies=entry.agencies,
                processing_mode=entry.processing_mode,
                validity_months=entry.validity_months,
                validity=LocalizedText(**entry.validity.as_dict()),
                line=entry.line,
                details_schema=definition.details_model.model_json_schema(),
            )
        )
    return Catalogue(items=items)
