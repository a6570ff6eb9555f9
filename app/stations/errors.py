from __future__ import annotations

from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.i18n import Text


class StationNotFound(NotFound):
    code = "STATION_NOT_FOUND"
    title = Text("没有这个派出所窗口", "No such police station window")


class UnknownStation(ValidationFailed):
    code = "UNKNOWN_STATION"
    title = Text("预约的派出所不在综合窗口名录中", "The station booked is not in the registry of comprehensive windows")


class StationNotRegistered(Forbidden):
    """A clerk's token names a station the registry does not know (refused in production)."""

    code = "STATION_NOT_REGISTERED"
    title = Text("身份令牌中的派出所不在综合窗口名录中", "The token's station_id is not in the registry of stations")


class NotYourStation(Forbidden):
    code = "NOT_YOUR_STATION"
    title = Text("只能查看本所窗口的预约", "Clerks see the appointments of their own station only")


class UnknownDistrict(ValidationFailed):
    code = "UNKNOWN_DISTRICT"
    title = Text("没有这个区", "No such district")


class InvalidLocation(ValidationFailed):
    code = "INVALID_LOCATION"
    title = Text("位置应为“纬度,经度”", "A location is `lat,lon` in decimal degrees")


class LineNotHandled(ValidationFailed):
    code = "LINE_NOT_HANDLED"
    title = Text("该窗口不办理这类业务", "This station's window does not handle this line")


class NoSuchSlot(ValidationFailed):
    code = "NO_SUCH_SLOT"
    title = Text("该时间不是该窗口的预约时段", "No slot of this window starts at that time")


class SlotNotBookable(ValidationFailed):
    code = "SLOT_NOT_BOOKABLE"
    title = Text("该时段已开始或尚未开放预约", "This slot has begun, or is not open for booking yet")


class DateNotBookable(ValidationFailed):
    code = "DATE_NOT_BOOKABLE"
    title = Text("该日期不在可预约范围内", "That day is outside the days open for booking")


class SlotFull(Conflict):
    code = "SLOT_FULL"
    title = Text("该时段已约满", "This slot is fully booked")


class AppointmentAlreadyBooked(Conflict):
    code = "APPOINTMENT_ALREADY_BOOKED"
    title = Text("您在该类业务已有一个未完成的预约", "You already hold an open appointment for this line")

    def __init__(self, appointment_id: str | None) -> None:
        super().__init__(
            Text(f"未完成的预约：{appointment_id}", f"The open appointment is {appointment_id}"),
            extensions={"appointment_id": appointment_id},
        )


class AppointmentNotFound(NotFound):
    code = "APPOINTMENT_NOT_FOUND"
    title = Text("未找到该预约", "No such appointment")


class AppointmentNotOpen(Conflict):
    code = "APPOINTMENT_NOT_OPEN"
    title = Text("该预约已取消、已到场或已爽约", "This appointment was already cancelled, attended or missed")


class AppointmentStarted(Conflict):
    code = "APPOINTMENT_STARTED"
    title = Text("预约时段已开始，不能再取消", "The slot has begun: the appointment can no longer be cancelled")


class AppointmentEnded(Conflict):
    code = "APPOINTMENT_ENDED"
    title = Text("预约时段已结束，记为爽约", "The slot has ended without an arrival: a no-show")
