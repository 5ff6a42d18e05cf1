"""Free appointment slots: the store's hours, who is on shift, and what is already booked decide. Pure.

- A slot starts on the local half hour and lasts 30 minutes; it lies wholly inside the department's open hours
  (closed dates are closed), and starts at least an hour from now, so nobody is booked for "in five minutes".
- Sales (test drives): a salesperson must be on the roster, on shift for the whole slot, and have no appointment
  overlapping it; an appointment nobody is assigned to yet takes one of the free salespeople. Someone marked
  "off" today is not booked today (availability is about now; later days go by the shift).
- Service: a per-hour capacity (how many cars the drive takes in one hour) counts the service appointments
  starting in that local hour.
- The asked window first; when it has nothing free, the next free slots after it (or after now), so the
  shopper always hears an alternative. Wall-clock half hours that a DST change skips do not exist, and a
  repeated one is offered once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from leads.routing import BusinessHours, is_open

SLOT = timedelta(minutes=30)
LEAD_TIME = timedelta(hours=1)
SERVICE_CAPACITY_PER_HOUR = 3
SEARCH_DAYS = 21  # how far ahead "the next ones" are looked for


@dataclass(frozen=True)
class Staff:
    staff_id: int
    shift: BusinessHours | None = None  # None: whenever the store is open
    active: bool = True  # on the roster and an active user
    off_today: bool = False


@dataclass(frozen=True)
class Booked:
    start: datetime
    end: datetime
    department: str  # "sales" or "service"
    staff_id: int | None = None


@dataclass(frozen=True)
class Slot:
    start: datetime  # aware, UTC
    staff_id: int | None = None  # sales: a salesperson free then (the first by id)


def free_slots(*, department: str, hours: BusinessHours, time_zone: str, staff: Sequence[Staff],
               booked: Sequence[Booked], now: datetime, window: tuple[datetime, datetime] | None = None,
               count: int = 3, capacity: int = SERVICE_CAPACITY_PER_HOUR) -> list[Slot]:
    """Up to `count` free slots in the window, else the next free ones after it."""
    zone = ZoneInfo(time_zone)
    earliest = now + LEAD_TIME
    if window is not None:
        start, end = max(window[0], earliest), window[1]
        inside = list(_scan(department, hours, zone, staff, booked, now, start, end, count, capacity))
        if inside:
            return inside
        earliest = max(earliest, window[1])
    return list(_scan(department, hours, zone, staff, booked, now, earliest, earliest + timedelta(days=SEARCH_DAYS),
                      count, capacity))


def _scan(department, hours, zone, staff, booked, now, start, end, count, capacity):
    found = 0
    seen: set[datetime] = set()
    day = start.astimezone(zone).date()
    while found < count and _midnight(day, zone) < end:
        for slot_start in _half_hours(day, zone):
            if slot_start < start or slot_start + SLOT > end or slot_start in seen:
                continue
            seen.add(slot_start)
            if not _open_throughout(hours, zone, slot_start):
                continue
            slot = _free(department, hours, zone, staff, booked, now, slot_start, capacity)
            if slot is not None:
                found += 1
                yield slot
                if found >= count:
                    return
        day += timedelta(days=1)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(timezone.utc)


def _half_hours(day: date, zone: ZoneInfo):
    """The day's wall-clock half hours as UTC instants; a time skipped by spring-forward is left out."""
    for minutes in range(0, 24 * 60, 30):
        local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
        instant = local.astimezone(timezone.utc)
        if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
            continue  # does not exist on this day
        yield instant


def _open_throughout(hours: BusinessHours, zone: ZoneInfo, start: datetime) -> bool:
    last_minute = start + SLOT - timedelta(minutes=1)
    return (is_open(hours, zone.key, start) and is_open(hours, zone.key, last_minute)
            and start.astimezone(zone).date() == last_minute.astimezone(zone).date())


def _free(department, hours, zone, staff, booked, now, start, capacity) -> Slot | None:
    end = start + SLOT
    if department == "service":
        hour = start.astimezone(zone).replace(minute=0, second=0, microsecond=0)
        taken = sum(1 for b in booked if b.department == "service" and b.start.astimezone(zone).replace(
            minute=0, second=0, microsecond=0) == hour)
        return Slot(start) if taken < capacity else None
    today = now.astimezone(zone).date()
    overlapping = [b for b in booked if b.department == "sales" and b.start < end and start < b.end]
    busy = {b.staff_id for b in overlapping if b.staff_id is not None}
    unassigned = sum(1 for b in overlapping if b.staff_id is None)
    free = [s.staff_id for s in sorted(staff, key=lambda s: s.staff_id)
            if s.active and s.staff_id not in busy and not (s.off_today and start.astimezone(zone).date() == today)
            and (s.shift is None or _open_throughout(s.shift, zone, start))]
    if len(free) <= unassigned:
        return None
    return Slot(start, free[unassigned])
