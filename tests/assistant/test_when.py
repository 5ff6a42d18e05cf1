"""when.parse_when: written times → a window in the rooftop's zone, as decision tables. No database."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from assistant.when import parse_when

NY, LA = "America/New_York", "America/Los_Angeles"
SATURDAY_NIGHT = datetime(2026, 12, 5, 21, 30)  # New York, a Saturday
BEFORE_FALL_BACK = datetime(2026, 10, 31, 22, 0)  # New York; clocks go back at 02:00 on Sunday 2026-11-01
BEFORE_SPRING_FORWARD = datetime(2026, 3, 7, 20, 0)  # New York; clocks go forward at 02:00 on Sunday 2026-03-08
MONDAY_MORNING_LA = datetime(2026, 12, 7, 10, 0)  # Los Angeles


def window(text, now, zone):
    found = parse_when(text, now=now, time_zone=zone)
    if found is None:
        return None
    return (found.start.isoformat(), found.end.isoformat(), found.has_time, found.part_of_day)


@pytest.mark.parametrize("text, start, end, has_time, part", [
    ("tomorrow after 5", "2026-12-06T17:00:00-05:00", "2026-12-07T00:00:00-05:00", True, None),
    ("Saturday morning", "2026-12-12T08:00:00-05:00", "2026-12-12T12:00:00-05:00", False, "morning"),
    ("next Tue 10am", "2026-12-08T10:00:00-05:00", "2026-12-08T11:00:00-05:00", True, None),
    ("this weekend", "2026-12-05T21:30:00-05:00", "2026-12-07T00:00:00-05:00", False, None),  # already begun
    ("next weekend", "2026-12-12T00:00:00-05:00", "2026-12-14T00:00:00-05:00", False, None),
    ("tonight", "2026-12-05T21:30:00-05:00", "2026-12-06T00:00:00-05:00", False, "night"),
    ("in 2 hours", "2026-12-05T23:30:00-05:00", "2026-12-06T00:30:00-05:00", True, None),
    ("in half an hour", "2026-12-05T22:00:00-05:00", "2026-12-05T23:00:00-05:00", True, None),
    ("Dec 12 at 3", "2026-12-12T15:00:00-05:00", "2026-12-12T16:00:00-05:00", True, None),
    ("12/12 3pm", "2026-12-12T15:00:00-05:00", "2026-12-12T16:00:00-05:00", True, None),
    ("December 12th at 3:30 pm", "2026-12-12T15:30:00-05:00", "2026-12-12T16:30:00-05:00", True, None),
    ("mañana en la tarde", "2026-12-06T12:00:00-05:00", "2026-12-06T17:00:00-05:00", False, "afternoon"),
    ("manana en la manana", "2026-12-06T08:00:00-05:00", "2026-12-06T12:00:00-05:00", False, "morning"),
    ("a las 10 de la mañana el lunes", "2026-12-07T10:00:00-05:00", "2026-12-07T11:00:00-05:00", True, "morning"),
    ("el sabado", "2026-12-12T00:00:00-05:00", "2026-12-13T00:00:00-05:00", False, None),
    ("asap", "2026-12-05T21:30:00-05:00", "2026-12-06T21:30:00-05:00", False, None),
    # A weekday named on that weekday is next week's; "this Saturday" may be today.
    ("Saturday", "2026-12-12T00:00:00-05:00", "2026-12-13T00:00:00-05:00", False, None),
    ("this Saturday", "2026-12-05T21:30:00-05:00", "2026-12-06T00:00:00-05:00", False, None),
    ("sunday", "2026-12-06T00:00:00-05:00", "2026-12-07T00:00:00-05:00", False, None),
    # A clock time with no day: today, or tomorrow once it has passed.
    ("at 3pm", "2026-12-06T15:00:00-05:00", "2026-12-06T16:00:00-05:00", True, None),
    ("at 11pm", "2026-12-05T23:00:00-05:00", "2026-12-06T00:00:00-05:00", True, None),
    # Without am/pm: 1-7 is afternoon, 8-11 morning, unless the part of day says otherwise.
    ("sunday at 8", "2026-12-06T08:00:00-05:00", "2026-12-06T09:00:00-05:00", True, None),
    ("sunday at 4", "2026-12-06T16:00:00-05:00", "2026-12-06T17:00:00-05:00", True, None),
    ("friday evening at 6", "2026-12-11T18:00:00-05:00", "2026-12-11T19:00:00-05:00", True, "evening"),
    ("monday night around 8", "2026-12-07T20:00:00-05:00", "2026-12-07T21:00:00-05:00", True, "night"),
    ("monday at 14:30", "2026-12-07T14:30:00-05:00", "2026-12-07T15:30:00-05:00", True, None),
    ("before noon tomorrow", "2026-12-06T08:00:00-05:00", "2026-12-06T12:00:00-05:00", True, None),
    ("tomorrow before 7am", "2026-12-06T00:00:00-05:00", "2026-12-06T07:00:00-05:00", True, None),
    ("tomorrow morning before 10", "2026-12-06T08:00:00-05:00", "2026-12-06T10:00:00-05:00", True, "morning"),
    ("between 2 and 4 on monday", "2026-12-07T14:00:00-05:00", "2026-12-07T16:00:00-05:00", True, None),
    ("monday at noon", "2026-12-07T12:00:00-05:00", "2026-12-07T13:00:00-05:00", True, None),
    ("day after tomorrow", "2026-12-07T00:00:00-05:00", "2026-12-08T00:00:00-05:00", False, None),
    ("next week", "2026-12-07T00:00:00-05:00", "2026-12-14T00:00:00-05:00", False, None),
    ("the 12th", "2026-12-12T00:00:00-05:00", "2026-12-13T00:00:00-05:00", False, None),
    ("the 2nd", "2027-01-02T00:00:00-05:00", "2027-01-03T00:00:00-05:00", False, None),  # this month's has passed
    ("jan 3", "2027-01-03T00:00:00-05:00", "2027-01-04T00:00:00-05:00", False, None),
    ("12/1", "2027-12-01T00:00:00-05:00", "2027-12-02T00:00:00-05:00", False, None),  # passed: next year's
    ("12/1/2026", "2026-12-01T00:00:00-05:00", "2026-12-02T00:00:00-05:00", False, None),  # a year given is kept
    ("TMRW @ 5PM", "2026-12-06T17:00:00-05:00", "2026-12-06T18:00:00-05:00", True, None),
    ("tommorow", "2026-12-06T00:00:00-05:00", "2026-12-07T00:00:00-05:00", False, None),
    ("Good morning! can I come wednesday", "2026-12-09T00:00:00-05:00", "2026-12-10T00:00:00-05:00", False, None),
])
def test_new_york_on_a_saturday_night(text, start, end, has_time, part):
    assert window(text, SATURDAY_NIGHT, NY) == (start, end, has_time, part)


SUNDAY_MORNING_CHICAGO = datetime(2026, 12, 13, 9, 5)


@pytest.mark.parametrize("text, start", [
    # Today's weekday: today when the time asked for is still ahead, else next week; "next" is always next week.
    ("sunday at 2", "2026-12-13T14:00:00-06:00"),
    ("sunday afternoon", "2026-12-13T12:00:00-06:00"),
    ("sunday at 8am", "2026-12-20T08:00:00-06:00"),
    ("sunday", "2026-12-20T00:00:00-06:00"),
    ("this sunday", "2026-12-13T09:05:00-06:00"),
    ("next sunday at 2", "2026-12-20T14:00:00-06:00"),
    ("monday", "2026-12-14T00:00:00-06:00"),
])
def test_todays_weekday(text, start):
    assert parse_when(text, now=SUNDAY_MORNING_CHICAGO, time_zone="America/Chicago").start.isoformat() == start


@pytest.mark.parametrize("text", [
    "do you have a rav4", "I waited 2 hours", "I have a 2015 civic with 120k miles", "under 35k",
    "call me at 617-555-0142", "open 24/7?", "stock #A1234", "will you take 41,500", "3 rows", "buenas noches",
    "vin 1FTFW1E50PFA12345", "the 2021 f-150 with 35,000 miles",
])
def test_no_time_named_gives_no_window(text):
    assert parse_when(text, now=SATURDAY_NIGHT, time_zone=NY) is None


@pytest.mark.parametrize("text, start, end, has_time", [
    # The day the clocks go back is 25 hours long.
    ("tomorrow", "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", False),
    # 1:30 comes twice that night; the first one (still daylight time) is meant, and the hour is a real hour.
    ("tomorrow at 1:30am", "2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00", True),
    # Elapsed time is real time: 22:00 EDT + 4 hours is 01:00 EST.
    ("in 4 hours", "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00", True),
    ("tomorrow morning", "2026-11-01T08:00:00-05:00", "2026-11-01T12:00:00-05:00", False),
    ("this weekend", "2026-10-31T22:00:00-04:00", "2026-11-02T00:00:00-05:00", False),
    ("sunday at 3pm", "2026-11-01T15:00:00-05:00", "2026-11-01T16:00:00-05:00", True),
])
def test_the_weekend_daylight_saving_time_ends(text, start, end, has_time):
    assert window(text, BEFORE_FALL_BACK, NY)[:3] == (start, end, has_time)


def test_the_fall_back_day_window_is_twenty_five_real_hours():
    found = parse_when("tomorrow", now=BEFORE_FALL_BACK, time_zone=NY)
    assert found.end - found.start == timedelta(hours=24)  # aware arithmetic in one zone counts wall hours
    assert found.end.astimezone(ZoneInfo("UTC")) - found.start.astimezone(ZoneInfo("UTC")) == timedelta(hours=25)


@pytest.mark.parametrize("text, start, end", [
    ("tomorrow", "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00"),
    # 2:30 does not exist that night: the real instant after the gap.
    ("tomorrow at 2:30am", "2026-03-08T03:30:00-04:00", "2026-03-08T04:30:00-04:00"),
    ("in 8 hours", "2026-03-08T05:00:00-04:00", "2026-03-08T06:00:00-04:00"),
])
def test_the_night_daylight_saving_time_begins(text, start, end):
    assert window(text, BEFORE_SPRING_FORWARD, NY)[:2] == (start, end)


@pytest.mark.parametrize("text, start, end, has_time, part", [
    ("tonight", "2026-12-07T17:00:00-08:00", "2026-12-08T00:00:00-08:00", False, "night"),
    ("in 2 hours", "2026-12-07T12:00:00-08:00", "2026-12-07T13:00:00-08:00", True, None),
    ("this weekend", "2026-12-12T00:00:00-08:00", "2026-12-14T00:00:00-08:00", False, None),
    ("tomorrow after 5", "2026-12-08T17:00:00-08:00", "2026-12-09T00:00:00-08:00", True, None),
    ("at 3pm", "2026-12-07T15:00:00-08:00", "2026-12-07T16:00:00-08:00", True, None),  # still ahead today
    ("this morning", "2026-12-07T10:00:00-08:00", "2026-12-07T12:00:00-08:00", False, "morning"),  # from now
    ("today", "2026-12-07T10:00:00-08:00", "2026-12-08T00:00:00-08:00", False, None),
    ("monday", "2026-12-14T00:00:00-08:00", "2026-12-15T00:00:00-08:00", False, None),
    ("esta noche", "2026-12-07T17:00:00-08:00", "2026-12-08T00:00:00-08:00", False, "night"),
])
def test_a_store_in_los_angeles(text, start, end, has_time, part):
    assert window(text, MONDAY_MORNING_LA, LA) == (start, end, has_time, part)


def test_an_aware_now_in_another_zone_is_read_in_the_store_zone():
    utc_now = datetime(2026, 12, 7, 18, 0, tzinfo=ZoneInfo("UTC"))  # 10:00 in Los Angeles
    assert parse_when("tonight", now=utc_now, time_zone=LA) == parse_when("tonight", now=MONDAY_MORNING_LA,
                                                                           time_zone=LA)
    found = parse_when("tomorrow", now=utc_now, time_zone=NY)  # 13:00 in New York, still Monday there
    assert found.start.isoformat() == "2026-12-08T00:00:00-05:00"


def test_asap_is_flagged():
    assert parse_when("asap pls", now=SATURDAY_NIGHT, time_zone=NY).asap
    assert not parse_when("tomorrow", now=SATURDAY_NIGHT, time_zone=NY).asap


def test_every_window_is_in_the_store_zone_and_ends_after_it_starts():
    for text in ("tomorrow after 5", "Saturday morning", "tonight", "in 2 hours", "asap", "next week", "at 3pm"):
        for now, zone in ((SATURDAY_NIGHT, NY), (BEFORE_FALL_BACK, NY), (MONDAY_MORNING_LA, LA)):
            found = parse_when(text, now=now, time_zone=zone)
            assert found.start.tzinfo == ZoneInfo(zone) and found.end > found.start
