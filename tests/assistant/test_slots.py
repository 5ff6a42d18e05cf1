"""Free slots: hours, shifts, appointments, the hour's lead time, DST and holidays. Pure."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from assistant.slots import Booked, Staff, free_slots
from leads.routing import BusinessHours

NY = ZoneInfo("America/New_York")
HOURS = BusinessHours.from_dict({d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")}
                                | {"closed_dates": ["2026-12-25"]})


def at(y, mo, d, h, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=NY).astimezone(timezone.utc)


def local(slot):
    return slot.start.astimezone(NY).strftime("%a %m-%d %H:%M")


def sales(now, window=None, staff=(Staff(1),), booked=(), count=3):
    return [local(s) for s in free_slots(department="sales", hours=HOURS, time_zone="America/New_York",
                                         staff=list(staff), booked=list(booked), now=now, window=window, count=count)]


@pytest.mark.parametrize("now, window, expected", [
    # Thursday night: Saturday morning → the first three half hours from opening.
    (at(2026, 12, 10, 21), (at(2026, 12, 12, 8), at(2026, 12, 12, 12)), ["Sat 12-12 09:00", "Sat 12-12 09:30", "Sat 12-12 10:00"]),
    # An hour's lead time: at 10:10 the first slot is 11:30.
    (at(2026, 12, 11, 10, 10), None, ["Fri 12-11 11:30", "Fri 12-11 12:00", "Fri 12-11 12:30"]),
    # Last slot ends at closing: 17:30 is offered, 18:00 is not.
    (at(2026, 12, 11, 15), (at(2026, 12, 11, 17), at(2026, 12, 11, 19)), ["Fri 12-11 17:00", "Fri 12-11 17:30"]),
    # A Sunday window (closed) gives the next openings on Monday.
    (at(2026, 12, 11, 20), (at(2026, 12, 13, 0), at(2026, 12, 14, 0)), ["Mon 12-14 09:00", "Mon 12-14 09:30", "Mon 12-14 10:00"]),
    # Christmas Day is closed: the next ones are on the 26th.
    (at(2026, 12, 24, 20), (at(2026, 12, 25, 0), at(2026, 12, 26, 0)), ["Sat 12-26 09:00", "Sat 12-26 09:30", "Sat 12-26 10:00"]),
])
def test_slots_follow_hours_lead_time_and_holidays(now, window, expected):
    assert sales(now, window) == expected


def test_a_salesperson_with_an_appointment_is_busy_and_another_takes_it():
    now = at(2026, 12, 10, 21)
    window = (at(2026, 12, 12, 9), at(2026, 12, 12, 10, 30))
    busy = [Booked(at(2026, 12, 12, 9), at(2026, 12, 12, 9, 30), "sales", staff_id=1)]
    assert sales(now, window, booked=busy) == ["Sat 12-12 09:30", "Sat 12-12 10:00"]
    assert sales(now, window, staff=(Staff(1), Staff(2)), booked=busy)[0] == "Sat 12-12 09:00"
    slot = free_slots(department="sales", hours=HOURS, time_zone="America/New_York", staff=[Staff(1), Staff(2)],
                      booked=busy, now=now, window=window)[0]
    assert slot.staff_id == 2


def test_an_unassigned_appointment_takes_one_salesperson():
    now = at(2026, 12, 10, 21)
    window = (at(2026, 12, 12, 9), at(2026, 12, 12, 9, 30))
    unassigned = [Booked(at(2026, 12, 12, 9), at(2026, 12, 12, 9, 30), "sales")]
    assert sales(now, window, booked=unassigned, count=1) == ["Sat 12-12 09:30"]  # the next one after the window
    assert sales(now, window, staff=(Staff(1), Staff(2)), booked=unassigned, count=1) == ["Sat 12-12 09:00"]


@pytest.mark.parametrize("staff, expected", [
    ((Staff(1, active=False),), []),
    ((Staff(1, shift=BusinessHours.from_dict({"sat": [["10:00", "14:00"]]})),), ["Sat 12-12 10:00"]),
])
def test_roster_and_shift_decide(staff, expected):
    now = at(2026, 12, 10, 21)
    window = (at(2026, 12, 12, 9), at(2026, 12, 12, 11))
    got = sales(now, window, staff=staff, count=1)
    if expected:
        assert got == expected
    else:
        assert got == []  # nobody on the roster: nothing, not even later


def test_off_today_is_not_booked_today_but_is_tomorrow():
    now = at(2026, 12, 11, 9)
    assert sales(now, (at(2026, 12, 11, 10), at(2026, 12, 11, 18)), staff=(Staff(1, off_today=True),),
                 count=1) == ["Sat 12-12 09:00"]


def test_service_capacity_counts_the_hour():
    now = at(2026, 12, 10, 21)
    full = [Booked(at(2026, 12, 12, 9, m), at(2026, 12, 12, 9, m) + timedelta(minutes=30), "service") for m in (0, 0, 30)]
    got = [local(s) for s in free_slots(department="service", hours=HOURS, time_zone="America/New_York", staff=[],
                                        booked=full, now=now, window=(at(2026, 12, 12, 9), at(2026, 12, 12, 11)))]
    assert got == ["Sat 12-12 10:00", "Sat 12-12 10:30"]


def test_dst_spring_forward_skips_the_missing_hour_and_fall_back_offers_once():
    always = BusinessHours.from_dict({d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    # 2026-03-08: 02:00 → 03:00 in New York; 02:00 and 02:30 do not exist.
    now = at(2026, 3, 7, 12)
    got = [local(s) for s in free_slots(department="service", hours=always, time_zone="America/New_York", staff=[],
                                        booked=[], now=now, window=(at(2026, 3, 8, 1), at(2026, 3, 8, 4)), count=6)]
    assert got == ["Sun 03-08 01:00", "Sun 03-08 01:30", "Sun 03-08 03:00", "Sun 03-08 03:30"]
    # 2026-11-01: 01:00–02:00 happens twice; each wall-clock half hour is offered once.
    start = datetime(2026, 11, 1, 0, 30, tzinfo=NY).astimezone(timezone.utc)
    got = free_slots(department="service", hours=always, time_zone="America/New_York", staff=[], booked=[],
                     now=start - timedelta(hours=2), window=(start, start + timedelta(hours=3)), count=10)
    walls = [s.start.astimezone(NY).strftime("%H:%M") for s in got]
    assert walls[:3] == ["00:30", "01:00", "01:30"]
    assert len(walls) == len(set(walls))
