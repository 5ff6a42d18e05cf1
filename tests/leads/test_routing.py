"""Tests for lead routing: business hours, who gets a lead, deadlines and the response clock."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from leads.routing import (
    BusinessHours,
    Candidate,
    ClockState,
    Decision,
    RoutingRule,
    Step,
    choose_assignee,
    deadline_for,
    is_open,
    next_open,
    next_step,
)

UTC = timezone.utc
NY = "America/New_York"
LA = "America/Los_Angeles"


def utc(*args: int) -> datetime:
    """Build a UTC instant; tests state instants in UTC so DST bugs cannot hide in the fixture."""
    return datetime(*args, tzinfo=UTC)


# A typical rooftop: weekdays 09-20, Saturday 09-18, Sunday 11-17, closed Christmas.
SHOWROOM = BusinessHours.from_dict(
    {
        "mon": [["09:00", "20:00"]],
        "tue": [["09:00", "20:00"]],
        "wed": [["09:00", "20:00"]],
        "thu": [["09:00", "20:00"]],
        "fri": [["09:00", "20:00"]],
        "sat": [["09:00", "18:00"]],
        "sun": [["11:00", "17:00"]],
        "closed_dates": ["2026-12-25"],
    }
)
# Open through the small hours of Sunday, so the DST jump itself falls inside business time.
NIGHT_SHIFT = BusinessHours.from_dict({"sun": [["00:00", "06:00"]]})
# Opens at a wall time that does not exist on spring-forward Sunday.
OPENS_IN_THE_GAP = BusinessHours.from_dict({"sun": [["02:30", "05:00"]]})
# Opens inside the hour that happens twice on fall-back Sunday.
OPENS_IN_THE_REPEAT = BusinessHours.from_dict({"sun": [["01:30", "05:00"]]})
SPLIT_SHIFT = BusinessHours.from_dict({"mon": [["13:00", "17:00"], ["09:00", "12:00"]]})


# --------------------------------------------------------------------------- BusinessHours JSON


def test_business_hours_round_trip_through_json_with_every_weekday_present() -> None:
    data = SHOWROOM.to_dict()
    assert data["mon"] == [["09:00", "20:00"]]
    assert data["closed_dates"] == ["2026-12-25"]
    assert list(data) == ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "closed_dates"]
    assert BusinessHours.from_dict(data) == SHOWROOM


def test_a_missing_weekday_means_closed_all_day() -> None:
    hours = BusinessHours.from_dict({"mon": [["09:00", "17:00"]]})
    assert hours.weekly[0] == ((time(9), time(17)),)
    assert hours.weekly[6] == ()
    assert hours.closed_dates == frozenset()


def test_intervals_are_kept_in_time_order_whatever_order_they_were_given() -> None:
    assert SPLIT_SHIFT.weekly[0] == ((time(9), time(12)), (time(13), time(17)))
    assert SPLIT_SHIFT.to_dict()["mon"] == [["09:00", "12:00"], ["13:00", "17:00"]]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"monday": [["09:00", "17:00"]]}, "Unknown key(s) 'monday'"),
        ({"mon": [["9am", "17:00"]]}, "mon[0]: '9am' is not a 24-hour HH:MM time"),
        ({"mon": [["09:00", "24:00"]]}, "mon[0]: '24:00' is not a 24-hour HH:MM time"),
        ({"mon": [["9:00", "17:00"]]}, "mon[0]: '9:00' is not a 24-hour HH:MM time"),
        ({"mon": [["20:00", "09:00"]]}, "mon: 20:00-09:00 closes before it opens"),
        ({"mon": [["09:00", "09:00"]]}, "mon: 09:00-09:00 closes before it opens"),
        ({"tue": [["09:00", "13:00"], ["12:00", "18:00"]]}, "tue: 09:00-13:00 overlaps 12:00-18:00"),
        ({"wed": [["09:00"]]}, "wed[0]: expected [open, close]"),
        ({"thu": "09:00-17:00"}, "thu: expected a list of [open, close] pairs"),
        ({"closed_dates": ["25/12/2026"]}, "closed_dates: '25/12/2026' is not a YYYY-MM-DD date"),
        ({"closed_dates": ["2026-02-30"]}, "closed_dates: '2026-02-30' is not a YYYY-MM-DD date"),
        ({"closed_dates": "2026-12-25"}, "closed_dates: expected a list"),
        ([["09:00", "17:00"]], "Business hours must be an object"),
    ],
)
def test_invalid_business_hours_json_is_refused_with_a_clear_message(data: object, message: str) -> None:
    with pytest.raises(ValueError) as error:
        BusinessHours.from_dict(data)  # type: ignore[arg-type]
    assert message in str(error.value)


def test_business_hours_need_exactly_seven_weekdays() -> None:
    with pytest.raises(ValueError, match="need 7 weekdays"):
        BusinessHours(weekly=((),) * 6)


def test_business_hours_refuse_datetimes_as_closed_dates() -> None:
    with pytest.raises(ValueError, match="closed_dates must hold dates"):
        BusinessHours(weekly=((),) * 7, closed_dates=frozenset({datetime(2026, 12, 25)}))


# --------------------------------------------------------------------------- is_open / next_open


@pytest.mark.parametrize(
    ("tz", "at", "expected"),
    [
        # Wednesday 2026-06-10, EDT (UTC-4) / PDT (UTC-7).
        (NY, utc(2026, 6, 10, 12, 59), False),  # 08:59 local
        (NY, utc(2026, 6, 10, 13, 0), True),  # 09:00 local: opening minute counts
        (NY, utc(2026, 6, 10, 23, 59), True),  # 19:59 local
        (NY, utc(2026, 6, 11, 0, 0), False),  # 20:00 local: closing minute does not
        (LA, utc(2026, 6, 10, 13, 0), False),  # 06:00 in Los Angeles
        (LA, utc(2026, 6, 10, 16, 0), True),  # 09:00 in Los Angeles
        (NY, utc(2026, 12, 25, 15, 0), False),  # Christmas, a closed date
        # Spring-forward Sunday 2026-03-08: Sunday hours 11-17 on the new offset.
        (NY, utc(2026, 3, 8, 15, 0), True),  # 11:00 EDT
        (NY, utc(2026, 3, 8, 15, 59), True),
        (NY, utc(2026, 3, 8, 16, 0) - timedelta(hours=1, minutes=1), False),  # 10:59 EDT
        (NY, utc(2026, 3, 8, 21, 0), False),  # 17:00 EDT
        (LA, utc(2026, 3, 8, 18, 0), True),  # 11:00 PDT
        (LA, utc(2026, 3, 8, 17, 59), False),  # 10:59 PDT
        # Fall-back Sunday 2026-11-01: 11:00 is on standard time again.
        (NY, utc(2026, 11, 1, 15, 59), False),  # 10:59 EST
        (NY, utc(2026, 11, 1, 16, 0), True),  # 11:00 EST
        (LA, utc(2026, 11, 1, 18, 59), False),  # 10:59 PST
        (LA, utc(2026, 11, 1, 19, 0), True),  # 11:00 PST
        (LA, utc(2026, 11, 2, 0, 59), True),  # 16:59 PST
    ],
)
def test_the_store_is_open_by_its_own_wall_clock(tz: str, at: datetime, expected: bool) -> None:
    assert is_open(SHOWROOM, tz, at) is expected


@pytest.mark.parametrize(
    ("hours", "tz", "at", "expected"),
    [
        # Already open: the same instant comes back.
        (SHOWROOM, NY, utc(2026, 6, 10, 14, 0), utc(2026, 6, 10, 14, 0)),
        # Before opening on a weekday.
        (SHOWROOM, NY, utc(2026, 6, 10, 11, 0), utc(2026, 6, 10, 13, 0)),
        # After closing: next morning.
        (SHOWROOM, NY, utc(2026, 6, 11, 1, 0), utc(2026, 6, 11, 13, 0)),
        # Christmas Eve evening skips the closed Christmas Day.
        (SHOWROOM, NY, utc(2026, 12, 25, 2, 0), utc(2026, 12, 26, 14, 0)),
        # Between the two halves of a split shift.
        (SPLIT_SHIFT, NY, utc(2026, 6, 8, 16, 30), utc(2026, 6, 8, 17, 0)),
        # Saturday night before spring-forward: Sunday 11:00 EDT is 15:00 UTC, not 16:00.
        (SHOWROOM, NY, utc(2026, 3, 8, 2, 0), utc(2026, 3, 8, 15, 0)),
        (SHOWROOM, LA, utc(2026, 3, 8, 5, 0), utc(2026, 3, 8, 18, 0)),
        # Saturday night before fall-back: Sunday 11:00 EST is 16:00 UTC, not 15:00.
        (SHOWROOM, NY, utc(2026, 11, 1, 2, 0), utc(2026, 11, 1, 16, 0)),
        (SHOWROOM, LA, utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 19, 0)),
        # 02:30 never happens on spring-forward Sunday; the store opens when the clock jumps to 03:00 EDT.
        (OPENS_IN_THE_GAP, NY, utc(2026, 3, 8, 6, 0), utc(2026, 3, 8, 7, 0)),
        (OPENS_IN_THE_GAP, LA, utc(2026, 3, 8, 9, 0), utc(2026, 3, 8, 10, 0)),
        # 01:30 happens twice on fall-back Sunday; the store opens the first time.
        (OPENS_IN_THE_REPEAT, NY, utc(2026, 11, 1, 4, 0), utc(2026, 11, 1, 5, 30)),
        (OPENS_IN_THE_REPEAT, LA, utc(2026, 11, 1, 7, 0), utc(2026, 11, 1, 8, 30)),
    ],
)
def test_next_open_finds_the_next_opening_instant(
    hours: BusinessHours, tz: str, at: datetime, expected: datetime
) -> None:
    opening = next_open(hours, tz, at)
    assert opening == expected
    assert opening.utcoffset() is not None
    assert is_open(hours, tz, opening)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(2026, 11, 1, 5, 29), False),  # 01:29 EDT
        (utc(2026, 11, 1, 5, 45), True),  # 01:45 EDT
        (utc(2026, 11, 1, 6, 0), False),  # 01:00 EST: the wall clock went back before opening time
        (utc(2026, 11, 1, 6, 30), True),  # 01:30 EST: opening time again
        (utc(2026, 11, 1, 9, 59), True),  # 04:59 EST
    ],
)
def test_a_store_opening_inside_the_repeated_hour_follows_the_wall_clock(at: datetime, expected: bool) -> None:
    assert is_open(OPENS_IN_THE_REPEAT, NY, at) is expected


def test_next_open_finds_the_second_opening_of_a_repeated_hour() -> None:
    assert next_open(OPENS_IN_THE_REPEAT, NY, utc(2026, 11, 1, 6, 0)) == utc(2026, 11, 1, 6, 30)


def test_next_open_returns_utc_so_it_compares_equal_to_any_zone() -> None:
    assert next_open(SHOWROOM, NY, utc(2026, 3, 8, 2, 0)).tzinfo is UTC
    assert next_open(SHOWROOM, NY, utc(2026, 6, 10, 14, 0)).tzinfo is UTC


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: is_open(SHOWROOM, NY, datetime(2026, 6, 10, 14)), "at must be timezone-aware"),
        (lambda: next_open(SHOWROOM, "Mars/Olympus_Mons", utc(2026, 6, 10)), "Unknown time zone"),
        (lambda: next_open(BusinessHours.from_dict({}), NY, utc(2026, 6, 10)), "never open"),
    ],
)
def test_bad_inputs_to_the_clock_functions_raise_value_error(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


def test_next_open_looks_past_a_long_run_of_closed_dates() -> None:
    # A Monday-only rooftop closed for 60 Mondays reopens on the 61st.
    mondays = frozenset(date(2026, 6, 8) + timedelta(weeks=n) for n in range(60))
    hours = BusinessHours(weekly=(((time(9), time(17)),),) + ((),) * 6, closed_dates=mondays)
    assert next_open(hours, NY, utc(2026, 6, 8)) == utc(2027, 8, 2, 13, 0)


# --------------------------------------------------------------------------- deadline_for


def rule(mode: str = "round_robin", **kwargs: object) -> RoutingRule:
    """Build a routing rule with test defaults."""
    return RoutingRule(mode=mode, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("hours", "tz", "received_at", "minutes", "expected"),
    [
        # Open: plain elapsed minutes.
        (SHOWROOM, NY, utc(2026, 6, 10, 14, 0), 15, utc(2026, 6, 10, 14, 15)),
        # Hot lead while open: due at once.
        (SHOWROOM, NY, utc(2026, 6, 10, 14, 0), 0, utc(2026, 6, 10, 14, 0)),
        # Hot lead while closed: due the moment the store opens, not in the middle of the night.
        (SHOWROOM, NY, utc(2026, 6, 11, 3, 0), 0, utc(2026, 6, 11, 13, 0)),
        # Arrives at 23:00: the clock starts at 09:00.
        (SHOWROOM, NY, utc(2026, 6, 11, 3, 0), 15, utc(2026, 6, 11, 13, 15)),
        # Arrives at 19:50: ten minutes tonight, five tomorrow morning.
        (SHOWROOM, NY, utc(2026, 6, 10, 23, 50), 15, utc(2026, 6, 11, 13, 5)),
        # Exactly enough time left: due at closing.
        (SHOWROOM, NY, utc(2026, 6, 10, 23, 45), 15, utc(2026, 6, 11, 0, 0)),
        # Lunch gap in a split shift is not business time.
        (SPLIT_SHIFT, NY, utc(2026, 6, 8, 15, 50), 30, utc(2026, 6, 8, 17, 20)),
        # Christmas Eve (Thursday) 19:50: Christmas is skipped, ten minutes on the 24th, twenty on the 26th.
        (SHOWROOM, NY, utc(2026, 12, 25, 0, 50), 30, utc(2026, 12, 26, 14, 20)),
        # Saturday 17:50 before spring-forward: ten minutes Saturday, twenty from Sunday 11:00 EDT.
        (SHOWROOM, NY, utc(2026, 3, 7, 22, 50), 30, utc(2026, 3, 8, 15, 20)),
        (SHOWROOM, LA, utc(2026, 3, 8, 1, 50), 30, utc(2026, 3, 8, 18, 20)),
        # Saturday 17:50 before fall-back: the rest counts from Sunday 11:00 EST.
        (SHOWROOM, NY, utc(2026, 10, 31, 21, 50), 30, utc(2026, 11, 1, 16, 20)),
        (SHOWROOM, LA, utc(2026, 11, 1, 0, 50), 30, utc(2026, 11, 1, 19, 20)),
        # Open across the jump: 01:30 EST + 60 real minutes is 03:30 EDT, not 02:30 (which never happens).
        (NIGHT_SHIFT, NY, utc(2026, 3, 8, 6, 30), 60, utc(2026, 3, 8, 7, 30)),
        (NIGHT_SHIFT, LA, utc(2026, 3, 8, 9, 30), 60, utc(2026, 3, 8, 10, 30)),
        # Open across the repeat: 01:30 EDT + 60 real minutes is 01:30 EST.
        (NIGHT_SHIFT, NY, utc(2026, 11, 1, 5, 30), 60, utc(2026, 11, 1, 6, 30)),
        (NIGHT_SHIFT, LA, utc(2026, 11, 1, 8, 30), 60, utc(2026, 11, 1, 9, 30)),
        # The short night has five real open hours, the long one seven.
        (NIGHT_SHIFT, NY, utc(2026, 3, 8, 5, 0), 5 * 60, utc(2026, 3, 8, 10, 0)),
        (NIGHT_SHIFT, NY, utc(2026, 11, 1, 4, 0), 7 * 60, utc(2026, 11, 1, 11, 0)),
        # One minute more than the short night runs on to the next Sunday.
        (NIGHT_SHIFT, NY, utc(2026, 3, 8, 5, 0), 5 * 60 + 1, utc(2026, 3, 15, 4, 1)),
    ],
)
def test_the_response_deadline_counts_only_business_time(
    hours: BusinessHours, tz: str, received_at: datetime, minutes: int, expected: datetime
) -> None:
    assert deadline_for(received_at, rule(response_minutes=minutes), hours, tz) == expected


def test_a_deadline_in_the_repeated_hour_is_utc_so_it_compares_equal() -> None:
    # 01:30 EST local would compare unequal to every other zone; UTC avoids that trap.
    deadline = deadline_for(utc(2026, 11, 1, 5, 30), rule(response_minutes=60), NIGHT_SHIFT, NY)
    assert deadline.tzinfo is UTC
    assert deadline == datetime(2026, 11, 1, 0, 30, tzinfo=ZoneInfo("America/Denver"))
    # The same instant on New York's wall clock is the second 01:30, which Python will not equate.
    assert deadline.astimezone(ZoneInfo(NY)) != deadline


# --------------------------------------------------------------------------- choose_assignee

LONG_AGO = utc(2026, 6, 1, 9, 0)
YESTERDAY = utc(2026, 6, 9, 15, 0)
AN_HOUR_AGO = utc(2026, 6, 10, 13, 0)


def person(
    staff_id: int,
    name: str = "",
    *,
    availability: str = "available",
    is_active: bool = True,
    on_shift: bool = True,
    weight: int = 1,
    assigned_count: int = 0,
    last_assigned_at: datetime | None = AN_HOUR_AGO,
) -> Candidate:
    """Build a candidate who can take a lead unless told otherwise."""
    return Candidate(
        staff_id=staff_id,
        availability=availability,  # type: ignore[arg-type]
        is_active=is_active,
        on_shift=on_shift,
        weight=weight,
        assigned_count=assigned_count,
        last_assigned_at=last_assigned_at,
        name=name,
    )


MARIA = person(1, "Maria", last_assigned_at=AN_HOUR_AGO)
DEV = person(2, "Dev", last_assigned_at=LONG_AGO)
SAM = person(3, "Sam", last_assigned_at=YESTERDAY)


def choose(
    candidates: list[Candidate],
    mode: str = "round_robin",
    *,
    previous_owner_id: int | None = None,
    exclude_ids: frozenset[int] = frozenset(),
    store_open: bool = True,
    urgent: bool = False,
    named_owner_id: int | None = None,
) -> Decision:
    """Call choose_assignee with test defaults."""
    return choose_assignee(
        candidates,
        rule(mode, named_owner_id=named_owner_id),
        previous_owner_id=previous_owner_id,
        exclude_ids=exclude_ids,
        store_open=store_open,
        urgent=urgent,
    )


@pytest.mark.parametrize(
    ("candidates", "kwargs", "staff_id", "reason"),
    [
        # Round robin: longest wait first.
        ([MARIA, DEV, SAM], {}, 2, "Round robin: next available salesperson"),
        # Never assigned beats anyone who has had a lead.
        ([DEV, person(9, last_assigned_at=None)], {}, 9, "Round robin: next available salesperson"),
        # Equal waits: the lower staff_id, so the result never depends on input order.
        ([person(5, last_assigned_at=None), person(4, last_assigned_at=None)], {}, 4, "Round robin"),
        ([person(7), person(6)], {}, 6, "Round robin"),
        # Not eligible: inactive, off, lunch, off shift, already tried.
        ([MARIA, person(2, "Dev", last_assigned_at=LONG_AGO, is_active=False)], {}, 1, "Round robin"),
        ([MARIA, person(2, "Dev", last_assigned_at=LONG_AGO, availability="off")], {}, 1, "Round robin"),
        ([MARIA, person(2, "Dev", last_assigned_at=LONG_AGO, availability="lunch")], {}, 1, "Round robin"),
        ([MARIA, person(2, "Dev", last_assigned_at=LONG_AGO, on_shift=False)], {}, 1, "Round robin"),
        ([MARIA, DEV], {"exclude_ids": frozenset({2})}, 1, "Round robin"),
        # With a customer: fine for a normal lead, skipped for an urgent one.
        ([MARIA, person(2, "Dev", last_assigned_at=LONG_AGO, availability="with_customer")], {}, 2, "Round robin"),
        (
            [MARIA, person(2, "Dev", last_assigned_at=LONG_AGO, availability="with_customer")],
            {"urgent": True},
            1,
            "Round robin",
        ),
        # Returning customer goes back to their salesperson even if it is not their turn.
        (
            [MARIA, DEV, SAM],
            {"previous_owner_id": 1},
            1,
            "Returning customer: back to Maria, their previous salesperson",
        ),
        # ...even in weighted and named-owner modes.
        ([MARIA, DEV], {"previous_owner_id": 1, "mode": "weighted"}, 1, "Returning customer: back to Maria"),
        (
            [MARIA, DEV],
            {"previous_owner_id": 1, "mode": "named_owner", "named_owner_id": 2},
            1,
            "Returning customer: back to Maria",
        ),
        # A previous salesperson with a customer still gets a normal returning lead...
        (
            [person(1, "Maria", availability="with_customer"), DEV],
            {"previous_owner_id": 1},
            1,
            "Returning customer: back to Maria",
        ),
        # ...but an urgent one goes elsewhere at once, and the reason says why.
        (
            [person(1, "Maria", availability="with_customer"), DEV],
            {"previous_owner_id": 1, "urgent": True},
            2,
            "Returning customer, but their previous salesperson Maria is with a customer and the lead is urgent. "
            "Round robin: next available salesperson",
        ),
        (
            [person(1, "Maria", availability="lunch"), DEV],
            {"previous_owner_id": 1},
            2,
            "Returning customer, but their previous salesperson Maria is at lunch. Round robin",
        ),
        (
            [DEV],
            {"previous_owner_id": 42},
            2,
            "Returning customer, but their previous salesperson staff #42 is not on the roster. Round robin",
        ),
        # Weighted: smallest assigned_count / weight, i.e. furthest below their share.
        (
            [
                person(1, "Maria", weight=3, assigned_count=3),  # 1.0
                person(2, "Dev", weight=1, assigned_count=0, last_assigned_at=AN_HOUR_AGO),  # 0.0
                person(3, "Sam", weight=2, assigned_count=1),  # 0.5
            ],
            {"mode": "weighted"},
            2,
            "Weighted: furthest below their share of leads",
        ),
        (
            [person(1, weight=3, assigned_count=5), person(2, weight=1, assigned_count=2)],
            {"mode": "weighted"},
            1,  # 5/3 < 2/1
            "Weighted",
        ),
        # Exact ties (2/6 and 1/3) fall back to round-robin order.
        (
            [
                person(1, weight=6, assigned_count=2, last_assigned_at=AN_HOUR_AGO),
                person(2, weight=3, assigned_count=1, last_assigned_at=LONG_AGO),
            ],
            {"mode": "weighted"},
            2,
            "Weighted",
        ),
        # Weight 0 takes no weighted share.
        (
            [person(1, weight=0, assigned_count=0), person(2, weight=1, assigned_count=9)],
            {"mode": "weighted"},
            2,
            "Weighted",
        ),
        # Named owner when eligible, else round robin with the reason.
        ([MARIA, DEV], {"mode": "named_owner", "named_owner_id": 1}, 1, "Named owner: Maria handles these leads"),
        (
            [person(1, "Maria", availability="off"), DEV, SAM],
            {"mode": "named_owner", "named_owner_id": 1},
            2,
            "Named owner Maria is off. Round robin: next available salesperson",
        ),
        (
            [DEV, SAM],
            {"mode": "named_owner", "named_owner_id": 1},
            2,
            "Named owner staff #1 is not on the roster. Round robin",
        ),
    ],
)
def test_the_right_salesperson_gets_the_lead(
    candidates: list[Candidate], kwargs: dict, staff_id: int, reason: str
) -> None:
    decision = choose(candidates, **kwargs)
    assert decision.staff_id == staff_id
    assert decision.pool is False
    assert decision.reason.startswith(reason)


@pytest.mark.parametrize(
    ("candidates", "kwargs", "reason"),
    [
        ([], {}, "Nobody is available: left in the pool for the first to claim"),
        (
            [
                person(1, is_active=False),
                person(2, availability="off"),
                person(3, availability="lunch"),
                person(4, on_shift=False),
                person(5),
            ],
            {"exclude_ids": frozenset({5})},
            "Nobody is available: left in the pool for the first to claim",
        ),
        ([person(1, availability="with_customer")], {"urgent": True}, "Nobody is available"),
        ([person(1, weight=0)], {"mode": "weighted"}, "Nobody is available"),
        # Closed store: nobody, not even the previous salesperson.
        ([MARIA, DEV], {"store_open": False, "previous_owner_id": 1}, "Store is closed: left in the pool"),
        # Pool mode never assigns.
        ([MARIA, DEV], {"mode": "pool", "previous_owner_id": 1}, "Pool mode: left in the pool for the first to claim"),
        (
            [person(1, "Maria", availability="lunch")],
            {"previous_owner_id": 1},
            "Returning customer, but their previous salesperson Maria is at lunch. Nobody is available",
        ),
        (
            [person(1, "Maria", availability="off")],
            {"mode": "named_owner", "named_owner_id": 1},
            "Nobody is available",
        ),
    ],
)
def test_the_lead_goes_to_the_pool_when_nobody_may_take_it(
    candidates: list[Candidate], kwargs: dict, reason: str
) -> None:
    decision = choose(candidates, **kwargs)
    assert (decision.staff_id, decision.pool) == (None, True)
    assert decision.reason.startswith(reason)


def test_the_choice_does_not_depend_on_the_order_candidates_arrive_in() -> None:
    people = [MARIA, DEV, SAM, person(4, last_assigned_at=LONG_AGO)]
    assert {choose(order).staff_id for order in (people, people[::-1], people[1:] + people[:1])} == {2}


def test_round_robin_compares_instants_not_wall_clocks() -> None:
    # 09:00 in New York is earlier than 08:00 in Los Angeles.
    east = person(1, last_assigned_at=datetime(2026, 6, 10, 9, 0, tzinfo=ZoneInfo(NY)))
    west = person(2, last_assigned_at=datetime(2026, 6, 10, 8, 0, tzinfo=ZoneInfo(LA)))
    assert choose([west, east]).staff_id == 1


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: person(1, availability="busy"), "availability must be one of"),
        (lambda: person(1, weight=-1), "weight must be 0 or more"),
        (lambda: person(1, last_assigned_at=datetime(2026, 6, 10, 9)), "last_assigned_at must be timezone-aware"),
        (lambda: rule("shark_tank"), "mode must be one of"),
        (lambda: rule("named_owner"), "named_owner mode needs a named_owner_id"),
        (lambda: rule(response_minutes=-1), "response_minutes must be 0 or more"),
        (lambda: Decision(staff_id=1, pool=True, reason="x"), "either assigns someone"),
        (lambda: Step("snooze", "x"), "action must be one of"),
    ],
)
def test_invalid_routing_values_are_refused(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]


# --------------------------------------------------------------------------- next_step

DEADLINE = utc(2026, 6, 10, 14, 15)
MARIAS_CLOCK = ClockState(DEADLINE, owner_name="Maria")
RULE = rule(response_minutes=15, warn_before_minutes=5, max_hops=2)


@pytest.mark.parametrize(
    ("clock", "now", "action", "reason"),
    [
        (MARIAS_CLOCK, utc(2026, 6, 10, 14, 0), "none", "Waiting for Maria: 15 minutes left"),
        (MARIAS_CLOCK, utc(2026, 6, 10, 14, 9, 59), "none", "Waiting for Maria: 6 minutes"),
        # Warn exactly warn_before_minutes before the deadline...
        (MARIAS_CLOCK, utc(2026, 6, 10, 14, 10), "warn", "5 minutes left for Maria to respond"),
        (MARIAS_CLOCK, utc(2026, 6, 10, 14, 14), "warn", "1 minute left for Maria"),
        # ...and only once.
        (MARIAS_CLOCK.after_warning(), utc(2026, 6, 10, 14, 12), "none", "Waiting for Maria"),
        # Deadline reached: reroute, even if the warning was never sent.
        (MARIAS_CLOCK, DEADLINE, "reroute", "No response in 15 minutes: rerouted from Maria"),
        (ClockState(DEADLINE, warned=True, hops=1), utc(2026, 6, 10, 15), "reroute", "No response in 15 minutes"),
        # After max_hops reroutes a manager decides.
        (ClockState(DEADLINE, hops=2), DEADLINE, "escalate", "No response in 15 minutes after 2 reroutes: escalated"),
        (ClockState(DEADLINE, hops=3), utc(2026, 6, 11), "escalate", "No response in 15 minutes after 3 reroutes"),
        # A human action stops the clock for good.
        (ClockState(DEADLINE, human_acted=True), utc(2026, 6, 10, 14, 10), "none", "Someone responded"),
        (ClockState(DEADLINE, hops=5, human_acted=True), utc(2027, 1, 1), "none", "Someone responded"),
    ],
)
def test_the_response_clock_waits_warns_reroutes_and_escalates(
    clock: ClockState, now: datetime, action: str, reason: str
) -> None:
    step = next_step(clock, RULE, now)
    assert step.action == action
    assert step.reason.startswith(reason)


def test_a_rule_without_warning_time_never_warns() -> None:
    silent = rule(response_minutes=15, warn_before_minutes=0)
    assert next_step(ClockState(DEADLINE), silent, DEADLINE - timedelta(seconds=1)).action == "none"


def test_a_rule_with_no_hops_escalates_at_the_first_missed_deadline() -> None:
    step = next_step(ClockState(DEADLINE), rule(max_hops=0, response_minutes=15), DEADLINE)
    assert (step.action, step.reason) == ("escalate", "No response in 15 minutes: escalated to a manager")


def test_a_missed_hot_lead_says_no_immediate_response() -> None:
    step = next_step(MARIAS_CLOCK, rule(response_minutes=0), DEADLINE)
    assert step.reason == "No immediate response: rerouted from Maria"


def test_a_reroute_reason_names_who_the_lead_went_to() -> None:
    step = next_step(MARIAS_CLOCK, RULE, DEADLINE)
    assert step.rerouted_to("Dev").reason == "No response in 15 minutes: rerouted from Maria to Dev"
    assert step.rerouted_to(None).reason == "No response in 15 minutes: rerouted from Maria to the pool"


def test_the_clock_compares_instants_across_time_zones() -> None:
    # 10:15 EDT is 14:15 UTC: the deadline is reached, whatever zone `now` carries.
    now = datetime(2026, 6, 10, 7, 15, tzinfo=ZoneInfo(LA))
    assert next_step(ClockState(DEADLINE), RULE, now).action == "reroute"


def test_following_the_clock_from_lead_to_manager() -> None:
    # Walk one lead through warn, reroute, reroute, escalate the way the task will.
    clock = MARIAS_CLOCK
    actions = []
    now = utc(2026, 6, 10, 14, 0)
    while len(actions) < 20:
        step = next_step(clock, RULE, now)
        if step.action != "none":
            actions.append(step.action)
        if step.action == "warn":
            clock = clock.after_warning()
        elif step.action == "reroute":
            clock = clock.after_reroute(now + timedelta(minutes=15), owner_name="Dev")
        elif step.action == "escalate":
            break
        now += timedelta(minutes=1)
    assert actions == ["warn", "reroute", "warn", "reroute", "warn", "escalate"]
    assert clock.hops == 2


def test_next_step_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        next_step(ClockState(DEADLINE), RULE, datetime(2026, 6, 10, 14))


# --------------------------------------------------------------------------- hand assignment


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, None),
    ({"availability": "with_customer"}, None),
    ({"availability": "lunch"}, "is at lunch"),
    ({"availability": "off"}, "is off"),
    ({"is_active": False}, "is no longer active"),
    ({"on_shift": False}, "is not on shift"),
])
def test_hand_assignment_refuses_whoever_routing_would_never_pick(changes: dict, expected: str | None) -> None:
    from leads.routing import why_not_assignable

    values = dict(staff_id=1, availability="available", is_active=True, on_shift=True, weight=1, assigned_count=0,
                  last_assigned_at=None, name="Sam")
    values.update(changes)
    assert why_not_assignable(Candidate(**values)) == expected


def test_with_a_customer_blocks_hand_assignment_of_an_urgent_lead_only() -> None:
    from leads.routing import why_not_assignable

    busy = Candidate(staff_id=1, availability="with_customer", is_active=True, on_shift=True, weight=1,
                     assigned_count=0, last_assigned_at=None)
    assert why_not_assignable(busy, urgent=True) == "is with a customer and the lead is urgent"
