"""Filing online a matter that needs a visit: not an application, but an answer that sends the citizen
to the right window. The nearest stations handling the matter's line, measured from where the request
says the citizen is (`near`, else `district`), else from the district of the address on their latest
application that names one (our own records: no agency is asked), else the city's community-centre
windows first."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.applications import repository
from app.applications.errors import InvalidDetails, WindowOnlyService
from app.auth.principal import Principal, Role
from app.catalogue.window_matters import WindowMatter, WindowVisitDetails
from app.i18n import Text
from app.identity.subjects import SubjectHasher
from app.stations.presenter import station_out
from app.stations.registry import StationRegistry
from app.stations.service import district_named, point_at

NEAREST = 5


def _where(raw: dict[str, Any]) -> WindowVisitDetails:
    try:
        return WindowVisitDetails.model_validate(raw)
    except ValidationError as exc:
        raise InvalidDetails.from_validation(exc) from None


async def refusal(
    *,
    session: AsyncSession,
    stations: StationRegistry,
    hasher: SubjectHasher,
    principal: Principal,
    matter: WindowMatter,
    details: dict[str, Any],
) -> WindowOnlyService:
    """The 409 that answers an online filing of `matter`, naming the nearest windows that handle it."""
    where = _where(details)
    point, district, located_by = None, None, "none"
    if where.near is not None:
        point, located_by = point_at(where.near, loc=["body", "details", "near"]), "near"
    elif where.district is not None:
        district = district_named(stations, where.district, loc=["body", "details", "district"])
        located_by = "district"
    elif principal.role is Role.citizen and principal.id_number is not None:
        address = await repository.latest_address(session, applicant_hash=hasher.hash(principal.id_number))
        district = stations.district_of(address) if address else None
        located_by = "address_on_record" if district else "none"
    nearby = stations.nearest(line=matter.line, point=point, district=district, limit=NEAREST)
    names = "、".join(n.station.name for n in nearby)
    return WindowOnlyService(
        Text(
            f"{matter.name.zh}须本人到派出所综合窗口办理（{matter.in_person.zh}）。就近窗口：{names}。"
            "可先预约：POST /v1/appointments",
            f"{matter.name.en} is done in person at a police station's comprehensive window "
            f"({matter.in_person.en}). Nearest: {', '.join(n.station.id for n in nearby)}. "
            "Book a slot first: POST /v1/appointments",
        ),
        extensions={
            "service": matter.code,
            "line": matter.line,
            "located_by": located_by,
            "district": district,
            "stations": [
                {
                    **station_out(n).model_dump(mode="json"),
                    "slots": f"/v1/stations/{n.station.id}/slots?line={matter.line}",
                }
                for n in nearby
            ],
            "book_with": {"method": "POST", "path": "/v1/appointments", "line": matter.line},
        },
    )
