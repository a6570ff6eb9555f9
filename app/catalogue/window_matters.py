"""Matters that still need a visit (docs/windows.md): each is done at a police station's comprehensive
window, on one of its business lines, because something must happen in person there (originals
endorsed, fingerprints and a photo taken). The catalogue lists them with processing mode `window`, so the
city app can send the citizen to a window instead of a form; filing one online is answered with the
nearest stations that handle it and a hint to book a slot (app.applications.window_only). No checks, no
certificate: what happens at the window is the window's."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from app.catalogue.base import CatalogueEntry
from app.i18n import Text
from integrations.datasets.stations import Line

WINDOW = "window"


class WindowVisitDetails(BaseModel):
    """Where the citizen is, so that the answer names the windows nearest them (both optional; without
    either, the district of the address on their latest application that names one)."""

    model_config = ConfigDict(extra="forbid")

    near: str | None = Field(
        default=None,
        max_length=50,
        pattern=r"^\s*-?\d{1,3}(\.\d{1,10})?\s*,\s*-?\d{1,3}(\.\d{1,10})?\s*$",
        description="Where you are: `lat,lon` (WGS 84)",
        examples=["31.2006,121.4170"],
    )
    district: str | None = Field(
        default=None, max_length=20, description="Or your district: 长宁区, 长宁 or 310105", examples=["长宁区"]
    )


@dataclass(frozen=True)
class WindowMatter:
    code: str
    name: Text
    description: Text
    line: Line
    in_person: Text  # what must happen at the window, said in the answer to an online filing
    required_materials: list[Text] = field(default_factory=list)
    details_model: type[BaseModel] = WindowVisitDetails

    def catalogue_entry(self) -> CatalogueEntry:
        return CatalogueEntry(
            code=self.code,
            name=self.name,
            description=self.description,
            required_materials=self.required_materials,
            agencies=[],
            processing_mode=WINDOW,
            validity_months=None,
            validity=Text("在窗口当场办结", "Settled at the window"),
            line=self.line,
        )


WINDOW_MATTERS: dict[str, WindowMatter] = {
    m.code: m
    for m in (
        WindowMatter(
            code="hukou-transfer",
            name=Text("户口迁移", "Moving a household registration"),
            description=Text("户口迁入、迁出及本市范围内迁移", "Moving a hukou into, out of or within Shanghai"),
            line="household",
            in_person=Text("须核验户口簿原件并当场签注", "the household register booklet is checked and endorsed"),
            required_materials=[
                Text("居民户口簿", "Household register booklet"),
                Text("居民身份证", "Identity card"),
                Text("迁入地合法固定住所证明", "Proof of a lawful home at the new address"),
            ],
        ),
        WindowMatter(
            code="exit-entry-document",
            name=Text("出入境证件申请", "Passport and travel permit application"),
            description=Text(
                "普通护照、往来港澳通行证、往来台湾通行证的申领",
                "An ordinary passport, or a permit to travel to Hong Kong and Macao or to Taiwan",
            ),
            line="exit_entry",
            in_person=Text("须现场采集指纹和证件照片", "fingerprints and a photo are taken there"),
            required_materials=[
                Text("居民身份证", "Identity card"),
                Text("非本市户籍的，上海市居住证", "Non-Shanghai hukou: a Shanghai residence permit"),
            ],
        ),
        WindowMatter(
            code="driving-licence-replacement",
            name=Text("机动车驾驶证补换领", "Replacing a driving licence"),
            description=Text(
                "驾驶证遗失、损毁或期满的补领、换领", "A driving licence lost, damaged or expiring, replaced"
            ),
            line="traffic",
            in_person=Text("须现场采集照片并核验身体条件证明", "a photo is taken and the health statement checked"),
            required_materials=[
                Text("居民身份证", "Identity card"),
                Text("身体条件证明", "Health statement for drivers"),
            ],
        ),
    )
}


def get_window_matter(code: str) -> WindowMatter | None:
    return WINDOW_MATTERS.get(code)
