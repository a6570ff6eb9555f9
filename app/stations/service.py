"""The registry and its slots, as the public sees them: stations by district, line and distance, and a
day's slots with the places still free (docs/windows.md)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import SHANGHAI
from app.cursor import decode_cursor, encode_cursor
from app.i18n import Text
from app.stations import repository
from app.stations.errors import DateNotBookable, InvalidLocation, LineNotHandled, StationNotFound, UnknownDistrict
from app.stations.locations import Point, parse_point
from app.stations.presenter import station_out
from app.stations.registry import Nearby, Station, StationRegistry
from app.stations.schemas import DaySlots, SlotOut, StationOut, StationPage
from app.stations.slots import BookingPolicy, day_slots
from integrations.datasets.stations import Line


def find(registry: StationRegistry, station_id: str) -> Station:
    station = registry.get(station_id)
    if station is None:
        raise StationNotFound()
    return station


def district_named(registry: StationRegistry, text: str, *, loc: list[str]) -> str:
    district = registry.district(text)
    if district is None:
        raise UnknownDistrict(errors=[{"loc": loc, "msg": "no station is in such a district", "type": "unknown"}])
    return district


def point_at(text: str, *, loc: list[str]) -> Point:
    try:
        return parse_point(text)
    except ValueError as exc:
        raise InvalidLocation(errors=[{"loc": loc, "msg": str(exc), "type": "value_error"}]) from None


def stations(
    *,
    registry: StationRegistry,
    district: str | None,
    line: Line | None,
    near: str | None,
    limit: int,
    cursor: str | None,
) -> StationPage:
    """Filtered by district and line; nearest first with `near`, else by id. The cursor is the last row's
    sort key: (metres, id) nearest first, (id,) otherwise."""
    chosen = registry.select(
        district=district_named(registry, district, loc=["query", "district"]) if district else None, line=line
    )
    ranked: list[Nearby]
    if near is not None:
        ranked = registry.by_distance(chosen, point_at(near, loc=["query", "near"]))
        if cursor:
            after = decode_cursor(cursor, kinds=(int, str))
            ranked = [n for n in ranked if (n.distance_m, n.station.id) > after]
    else:
        after_id = decode_cursor(cursor, kinds=(str,))[0] if cursor else ""
        ranked = [Nearby(s, None) for s in chosen if s.id > after_id]
    page = ranked[:limit]
    next_cursor = None
    if len(ranked) > limit:
        last = page[-1]
        next_cursor = encode_cursor(last.distance_m, last.station.id) if near else encode_cursor(last.station.id)
    return StationPage(items=[station_out(n) for n in page], next_cursor=next_cursor)


def station(*, registry: StationRegistry, station_id: str) -> StationOut:
    return station_out(Nearby(find(registry, station_id), None))


async def slots(
    *,
    session: AsyncSession,
    registry: StationRegistry,
    policy: BookingPolicy,
    station_id: str,
    day: date | None,
    line: Line | None,
    now: datetime,
) -> DaySlots:
    """The day's slots of each line the window handles (or of `line`), with the places still free."""
    found = find(registry, station_id)
    if line is not None and line not in found.lines:
        raise LineNotHandled(errors=[{"loc": ["query", "line"], "msg": "not handled here", "type": "not_handled"}])
    first, last = policy.bookable_days(now.astimezone(SHANGHAI).date())
    day = day or first
    if not first <= day <= last:
        raise DateNotBookable(
            Text(f"可预约 {first} 至 {last} 的时段", f"Slots may be booked from {first} to {last}"),
            errors=[{"loc": ["query", "date"], "msg": f"not within {first}..{last}", "type": "out_of_range"}],
        )
    times = day_slots(found, day, policy.slot)
    taken = (
        await repository.places_taken(
            session, station_id=found.id, starting_from=times[0][0], starting_before=times[-1][1]
        )
        if times
        else {}
    )
    items = []
    for handled in found.lines if line is None else (line,):
        for start, end in times:
            capacity, booked = taken.get((handled, start), (policy.capacity, 0))
            free = 0 if start <= now else max(0, capacity - booked)
            items.append(SlotOut(line=handled, start=start, end=end, capacity=capacity, free=free))
    return DaySlots(station_id=found.id, date=day, slot_minutes=policy.slot_minutes, items=items)
