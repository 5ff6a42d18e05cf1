"""How many miles the car has on it today. Pure: odometer readings and `today` in, a `MileageEstimate` out.

Readings come from repair orders (the mileage written in at drop-off) and from the sale. Advisors mistype them,
so the estimate trusts the longest run of readings that agree with each other: in date order, never going
backwards and never implying more than `MAX_MILES_PER_DAY`. One typo, high or low, drops out of that run
instead of bending the rate. The car's own pace is the run's miles over its days, once the run spans at least
`MIN_SPAN_DAYS`; otherwise the US average pace (`DEFAULT_MILES_PER_DAY`) is projected from the latest
trusted reading.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from service.wording import count, short_date

# 300 miles a day is 110,000 a year: more than a long-haul rideshare; faster than that is a typo.
MAX_MILES_PER_DAY = 300
# The FHWA's "average annual miles per driver" is about 13,500 (13,476); / 365 = 36.9 a day.
DEFAULT_MILES_PER_DAY = 37
# Two readings a few days apart say more about one road trip than about how the car is driven.
MIN_SPAN_DAYS = 60
# A fleet car can have hundreds of ROs; the run is found in O(n^2), so only the latest ones count.
MAX_READINGS = 400


class MileageBasis(str, Enum):
    OWN_PACE = "own_pace"  # the car's own readings over time
    DEFAULT_PACE = "default_pace"  # the national average from the latest reading
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Reading:
    on: date
    miles: int
    source: str = "repair order"  # "repair order", "sale", "trade appraisal", ...


@dataclass(frozen=True)
class MileageEstimate:
    basis: MileageBasis
    miles: int | None
    miles_per_day: float | None  # to one decimal
    method: str  # how it was worked out, or why it is unknown

    @property
    def miles_per_year(self) -> int | None:
        return None if self.miles_per_day is None else round(self.miles_per_day * 365)


def mileage_estimate(
    *,
    today: date,
    readings: Iterable[Reading] = (),
    sale_on: date | None = None,
    sale_mileage: int | None = None,
) -> MileageEstimate:
    """The odometer today from the car's readings (and the sale's), at its own pace when they allow it."""
    if not isinstance(today, date) or isinstance(today, datetime):
        raise TypeError(f"today must be a date, got {today!r}")  # a caller's bug, not bad data
    candidates = list(readings)
    if sale_on is not None and sale_mileage is not None:
        candidates.append(Reading(sale_on, sale_mileage, "sale"))
    usable = sorted((r for r in candidates if _usable(r, today)), key=lambda r: (r.on, r.miles))[-MAX_READINGS:]
    if not usable:
        return MileageEstimate(MileageBasis.UNKNOWN, None, None, "unknown: no dated odometer readings on file")
    run = _longest_agreeing_run(usable)
    set_aside = len(candidates) - len(run)
    note = "" if not set_aside else (
        f" ({count(set_aside, 'reading')} set aside: undated, after today, going backwards "
        f"or more than {MAX_MILES_PER_DAY} miles a day)")
    first, last = run[0], run[-1]
    span = (last.on - first.on).days
    days_since = (today - last.on).days
    if span >= MIN_SPAN_DAYS:
        rate = (last.miles - first.miles) / span
        return MileageEstimate(
            MileageBasis.OWN_PACE, last.miles + round(rate * days_since), round(rate, 1),
            f"own pace: {rate:.1f} miles a day over {count(len(run), 'reading')} from {short_date(first.on)} "
            f"to {short_date(last.on)}; {_from(last, days_since)}{note}")
    return MileageEstimate(
        MileageBasis.DEFAULT_PACE, last.miles + DEFAULT_MILES_PER_DAY * days_since, float(DEFAULT_MILES_PER_DAY),
        f"US average pace: {DEFAULT_MILES_PER_DAY} miles a day (about 13,500 a year, FHWA); "
        f"{_from(last, days_since)}{note}")


def _usable(reading: Any, today: date) -> bool:
    """A reading with a date no later than today and a whole, non-negative number of miles."""
    on, miles = getattr(reading, "on", None), getattr(reading, "miles", None)
    return (isinstance(on, date) and not isinstance(on, datetime) and on <= today
            and isinstance(miles, int) and not isinstance(miles, bool) and miles >= 0)


def _agrees(earlier: Reading, later: Reading) -> bool:
    """Could the car have gone from one reading to the next? Same-day readings get a day's allowance."""
    gained = later.miles - earlier.miles
    return gained >= 0 and gained <= MAX_MILES_PER_DAY * max((later.on - earlier.on).days, 1)


def _longest_agreeing_run(readings: list[Reading]) -> list[Reading]:
    """The most readings that agree pairwise in order; ties go to the run reaching the latest reading."""
    best_length = [1] * len(readings)
    previous: list[int | None] = [None] * len(readings)
    for i, later in enumerate(readings):
        for j in range(i):
            if best_length[j] + 1 > best_length[i] and _agrees(readings[j], later):
                best_length[i], previous[i] = best_length[j] + 1, j
    # max() keeps the first of equals, so scan from the latest reading backwards.
    end: int | None = max(reversed(range(len(readings))), key=lambda i: best_length[i])
    run: list[Reading] = []
    while end is not None:
        run.append(readings[end])
        end = previous[end]
    return run[::-1]


def _from(reading: Reading, days: int) -> str:
    where = f"{reading.miles:,} miles at the {reading.source} on {short_date(reading.on)}"
    return f"{where}, today" if days == 0 else f"{where} plus {count(days, 'day')}"
