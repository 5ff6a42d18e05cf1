"""After hours, pure: when a closed store's response clock starts, and who gets the lead for the next shift.

Decision tables without a database or a clock. Instants are stated in UTC so a daylight-saving mistake cannot
hide in the fixture; the comment on each row says what the rooftop's wall clock reads.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from leads.routing import (
    BusinessHours, Candidate, Decision, RoutingRule, choose_after_hours, is_open, response_window,
)

UTC = timezone.utc
NY = "America/New_York"
LA = "America/Los_Angeles"
KOLKATA = "Asia/Kolkata"  # UTC+05:30 all year: a half-hour offset and no DST

# Weekdays 09-20, Saturday 09-18, Sunday 11-17, closed all day on Christmas.
SHOWROOM = BusinessHours.from_dict({
    "mon": [["09:00", "20:00"]], "tue": [["09:00", "20:00"]], "wed": [["09:00", "20:00"]],
    "thu": [["09:00", "20:00"]], "fri": [["09:00", "20:00"]], "sat": [["09:00", "18:00"]],
    "sun": [["11:00", "17:00"]], "closed_dates": ["2026-12-25"],
})
RULE = RoutingRule(mode="round_robin", response_minutes=15, warn_before_minutes=5)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --------------------------------------------------------------------------- the response window


@pytest.mark.parametrize(("tz", "received", "opens", "deadline"), [
    # Tuesday 03:09 in New York (EST): the clock counts from 09:00, so the deadline is 09:15.
    (NY, utc(2026, 11, 24, 8, 9), utc(2026, 11, 24, 14, 0), utc(2026, 11, 24, 14, 15)),
    # Tuesday 10:00: open, the clock runs from now.
    (NY, utc(2026, 11, 24, 15, 0), None, utc(2026, 11, 24, 15, 15)),
    # Tuesday 19:55: open for 5 more minutes; the other 10 are counted from Wednesday 09:00.
    (NY, utc(2026, 11, 25, 0, 55), None, utc(2026, 11, 25, 14, 10)),
    # Spring-forward night: Sunday 01:30 EST, two hours before the jump. Sunday opens at 11:00 EDT (15:00 UTC);
    # adding wall-clock hours to the local time would say 16:00 UTC.
    (NY, utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 15, 0), utc(2026, 3, 8, 15, 15)),
    # Spring-forward night, 03:09 EDT, just after the jump.
    (NY, utc(2026, 3, 8, 7, 9), utc(2026, 3, 8, 15, 0), utc(2026, 3, 8, 15, 15)),
    # Fall-back night: 01:30 the first time (EDT) and the second time (EST); both wait for 11:00 EST.
    (NY, utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 16, 0), utc(2026, 11, 1, 16, 15)),
    (NY, utc(2026, 11, 1, 6, 30), utc(2026, 11, 1, 16, 0), utc(2026, 11, 1, 16, 15)),
    # Fall-back night, 03:09 EST.
    (NY, utc(2026, 11, 1, 8, 9), utc(2026, 11, 1, 16, 0), utc(2026, 11, 1, 16, 15)),
    # Christmas (a Friday) is closed all day: 03:09 and 10:00 on the 25th both wait for Saturday 09:00.
    (NY, utc(2026, 12, 25, 8, 9), utc(2026, 12, 26, 14, 0), utc(2026, 12, 26, 14, 15)),
    (NY, utc(2026, 12, 25, 15, 0), utc(2026, 12, 26, 14, 0), utc(2026, 12, 26, 14, 15)),
    # Christmas Eve 19:55: 5 minutes on Thursday, the rest on Saturday (Friday is closed).
    (NY, utc(2026, 12, 25, 0, 55), None, utc(2026, 12, 26, 14, 10)),
    # The same 03:09 on another coast: 09:00 PST is 17:00 UTC.
    (LA, utc(2026, 11, 24, 11, 9), utc(2026, 11, 24, 17, 0), utc(2026, 11, 24, 17, 15)),
    # Half-hour offset: Tuesday 03:09 IST (21:39 UTC Monday) opens at 09:00 IST = 03:30 UTC.
    (KOLKATA, utc(2026, 11, 23, 21, 39), utc(2026, 11, 24, 3, 30), utc(2026, 11, 24, 3, 45)),
], ids=["ny-3am", "ny-open", "ny-closing", "spring-0130", "spring-0309", "fall-0130-edt", "fall-0130-est",
        "fall-0309", "christmas-3am", "christmas-10am", "christmas-eve-1955", "la-3am", "kolkata-3am"])
def test_the_clock_counts_from_the_next_opening_on_the_rooftops_wall_clock(
        tz: str, received: datetime, opens: datetime | None, deadline: datetime) -> None:
    window = response_window(received, RULE, SHOWROOM, tz)
    assert (window.opens_at, window.deadline_at) == (opens, deadline)
    assert window.warn_at == deadline - timedelta(minutes=5)


def test_a_zero_minute_rule_at_night_is_due_the_moment_the_store_opens_with_no_warning() -> None:
    window = response_window(utc(2026, 11, 24, 8, 9), RoutingRule(mode="round_robin", response_minutes=0,
                                                                   warn_before_minutes=0), SHOWROOM, NY)
    assert (window.opens_at, window.deadline_at, window.warn_at) == (utc(2026, 11, 24, 14, 0),) * 2 + (None,)


def test_a_warning_longer_than_the_window_never_fires_before_the_doors_open() -> None:
    rule = RoutingRule(mode="round_robin", response_minutes=15, warn_before_minutes=20)
    window = response_window(utc(2026, 11, 24, 8, 9), rule, SHOWROOM, NY)
    assert window.warn_at == window.opens_at == utc(2026, 11, 24, 14, 0)


def test_the_window_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        response_window(datetime(2026, 11, 24, 3, 9), RULE, SHOWROOM, NY)


# --------------------------------------------------------------------------- who gets the lead for the next shift

# Shifts as the roster stores them; None means "whenever the store is open".
EARLY = BusinessHours.from_dict({d: [["08:00", "14:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
LATE = BusinessHours.from_dict({d: [["13:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
WEEKDAYS = BusinessHours.from_dict({d: [["09:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri")})


def person(staff_id: int, name: str, shift: BusinessHours | None, opens_at: datetime, tz: str = NY, *,
           availability: str = "available", is_active: bool = True, weight: int = 1, assigned_count: int = 0,
           last: datetime | None = None) -> Candidate:
    """A candidate as the service loads them for a closed store: their shift judged at the next opening."""
    on_shift = True if shift is None else is_open(shift, tz, opens_at)
    return Candidate(staff_id=staff_id, availability=availability, is_active=is_active,  # type: ignore[arg-type]
                     on_shift=on_shift, weight=weight, assigned_count=assigned_count, last_assigned_at=last,
                     name=name)


def decide(received: datetime, roster: list[tuple], rule: RoutingRule = RULE, tz: str = NY,
           previous_owner_id: int | None = None) -> Decision:
    opens_at = response_window(received, rule, SHOWROOM, tz).opens_at
    assert opens_at is not None, "these rows are about a closed store"
    candidates = [person(staff_id, name, shift, opens_at, tz, **extra) for staff_id, name, shift, extra in roster]
    return choose_after_hours(candidates, rule, opens_at=opens_at, tz=tz, previous_owner_id=previous_owner_id,
                              exclude_ids=frozenset())


TUE_0309 = utc(2026, 11, 24, 8, 9)  # Tuesday 03:09 EST; opens 09:00
SPRING_0309 = utc(2026, 3, 8, 7, 9)  # Sunday 03:09 EDT on the spring-forward night; opens 11:00 EDT
FALL_0130_EST = utc(2026, 11, 1, 6, 30)  # Sunday 01:30 EST, the repeated hour; opens 11:00 EST
CHRISTMAS_0309 = utc(2026, 12, 25, 8, 9)  # Friday, closed all day; opens Saturday 09:00
SAT_EVENING = utc(2026, 11, 29, 0, 0)  # Saturday 19:00 EST, after closing; opens Sunday 11:00


@pytest.mark.parametrize(("received", "roster", "rule", "previous", "expected_id", "reason"), [
    # Only the early shift works at 09:00; the late shift starts at 13:00.
    (TUE_0309, [(1, "Maria", EARLY, {}), (2, "Dev", LATE, {})], RULE, None, 1,
     "Store is closed until Tue 09:00: for the next shift. Round robin: next available salesperson"),
    # Sunday opens at 11:00 EDT on the spring-forward day: still the early shift (08-14) on the wall clock.
    (SPRING_0309, [(1, "Maria", LATE, {}), (2, "Dev", EARLY, {})], RULE, None, 2,
     "Store is closed until Sun 11:00: for the next shift. Round robin: next available salesperson"),
    # Fall-back night: 11:00 EST, same wall-clock answer.
    (FALL_0130_EST, [(1, "Maria", LATE, {}), (2, "Dev", EARLY, {})], RULE, None, 2,
     "Store is closed until Sun 11:00: for the next shift. Round robin: next available salesperson"),
    # Christmas is skipped: the next shift is Saturday's, and a weekday-only person is not on it.
    (CHRISTMAS_0309, [(1, "Maria", WEEKDAYS, {}), (2, "Dev", None, {})], RULE, None, 2,
     "Store is closed until Sat 09:00: for the next shift. Round robin: next available salesperson"),
    # Saturday evening: the next opening is Sunday 11:00, when the weekday-only person does not work.
    (SAT_EVENING, [(1, "Maria", WEEKDAYS, {}), (2, "Dev", EARLY, {})], RULE, None, 2,
     "Store is closed until Sun 11:00: for the next shift. Round robin: next available salesperson"),
    # Lunch and a customer on the lot are about tonight, not the morning.
    (TUE_0309, [(1, "Maria", None, {"availability": "lunch"})], RULE, None, 1,
     "Store is closed until Tue 09:00: for the next shift. Round robin: next available salesperson"),
    (TUE_0309, [(1, "Maria", None, {"availability": "with_customer"})], RULE, None, 1,
     "Store is closed until Tue 09:00: for the next shift. Round robin: next available salesperson"),
    # "Off" lasts until they say otherwise (a day off): the next person gets it.
    (TUE_0309, [(1, "Maria", None, {"availability": "off"}), (2, "Dev", None, {})], RULE, None, 2,
     "Store is closed until Tue 09:00: for the next shift. Round robin: next available salesperson"),
    # Off the roster or deactivated: never.
    (TUE_0309, [(1, "Maria", None, {"is_active": False}), (2, "Dev", None, {})], RULE, None, 2,
     "Store is closed until Tue 09:00: for the next shift. Round robin: next available salesperson"),
    # Round robin among the next shift: whoever waited longest.
    (TUE_0309, [(1, "Maria", None, {"last": utc(2026, 11, 23, 20, 0)}), (2, "Dev", None, {"last": utc(2026, 11, 23, 15, 0)})],
     RULE, None, 2, "Store is closed until Tue 09:00: for the next shift. Round robin: next available salesperson"),
    # A returning customer goes back to their salesperson when they work the next shift...
    (TUE_0309, [(1, "Maria", None, {}), (2, "Dev", EARLY, {})], RULE, 2, 2,
     "Store is closed until Tue 09:00: for the next shift. Returning customer: back to Dev, their previous salesperson"),
    # ...and to the next shift when they do not.
    (TUE_0309, [(1, "Maria", None, {}), (2, "Dev", LATE, {})], RULE, 2, 1,
     "Store is closed until Tue 09:00: for the next shift. Returning customer, but their previous salesperson Dev "
     "is not on shift. Round robin: next available salesperson"),
    # The named owner works the next shift.
    (TUE_0309, [(1, "Maria", None, {}), (2, "Dev", None, {})], RoutingRule(mode="named_owner", named_owner_id=2),
     None, 2, "Store is closed until Tue 09:00: for the next shift. Named owner: Dev handles these leads"),
    # Weighted: furthest below their share, among the next shift.
    (TUE_0309, [(1, "Maria", None, {"weight": 1, "assigned_count": 3}), (2, "Dev", None, {"weight": 3, "assigned_count": 3})],
     RoutingRule(mode="weighted"), None, 2,
     "Store is closed until Tue 09:00: for the next shift. Weighted: furthest below their share of leads"),
    # Nobody on the next shift: the pool, and the sweep offers it again at the opening.
    (TUE_0309, [(1, "Maria", LATE, {}), (2, "Dev", None, {"availability": "off"})], RULE, None, None,
     "Store is closed until Tue 09:00, nobody is on the next shift. "
     "Nobody is available: left in the pool for the first to claim"),
    # The source is set to wait in the BDC pool after hours.
    (TUE_0309, [(1, "Maria", None, {})], RoutingRule(mode="round_robin", after_hours="pool"), None, None,
     "Store is closed until Tue 09:00: after-hours leads from this source wait in the BDC pool, "
     "left in the pool for the first to claim"),
    # A pool rule is a pool rule at any hour.
    (TUE_0309, [(1, "Maria", None, {})], RoutingRule(mode="pool"), None, None,
     "Pool mode: left in the pool for the first to claim"),
], ids=["early-shift", "spring-forward", "fall-back", "christmas", "sunday", "lunch", "with-customer", "off",
        "inactive", "round-robin", "returning-on-shift", "returning-off-shift", "named-owner", "weighted",
        "nobody", "after-hours-pool", "pool-mode"])
def test_an_after_hours_lead_goes_to_the_next_shift_or_the_pool(
        received: datetime, roster: list[tuple], rule: RoutingRule, previous: int | None,
        expected_id: int | None, reason: str) -> None:
    decision = decide(received, roster, rule, previous_owner_id=previous)
    assert decision == Decision(expected_id, expected_id is None, reason)


def test_the_opening_in_the_reason_is_read_on_the_rooftops_own_clock() -> None:
    decision = decide(utc(2026, 11, 24, 11, 9), [(1, "Maria", None, {})], tz=LA)
    assert decision.reason.startswith("Store is closed until Tue 09:00:")


def test_after_hours_is_next_shift_or_pool_and_nothing_else() -> None:
    assert RULE.after_hours == "next_shift"
    with pytest.raises(ValueError, match="after_hours must be one of next_shift, pool"):
        RoutingRule(mode="round_robin", after_hours="tomorrow")  # type: ignore[arg-type]
