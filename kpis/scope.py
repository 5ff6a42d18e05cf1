"""What a dashboard figure is about: which rooftops, which local days, and optionally one source, person or
alert kind. Pure: built by `kpis.forms` from what the manager may see, read by the measures."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

UNASSIGNED = 0  # person_id meaning "nobody": leads not assigned to anyone


@dataclass(frozen=True)
class ScopeRooftop:
    id: int
    name: str
    time_zone: str


@dataclass(frozen=True)
class Scope:
    rooftops: tuple[ScopeRooftop, ...]
    start: date  # first local day, inclusive
    end: date  # last local day, inclusive
    source: str | None = None
    person_id: int | None = None  # UNASSIGNED for "nobody"
    kind: str | None = None  # alert kind

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")
        if not self.rooftops:
            raise ValueError("a scope needs at least one rooftop")

    @property
    def rooftop_ids(self) -> list[int]:
        return [r.id for r in self.rooftops]

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> Scope:
        """The period of equal length just before this one, for the comparison."""
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))

    def narrowed(self, **changes) -> Scope:
        return replace(self, **changes)

    def bounds(self, rooftop: ScopeRooftop) -> tuple[datetime, datetime]:
        """UTC-comparable instants of this period at one rooftop: its local midnights."""
        zone = ZoneInfo(rooftop.time_zone)
        return (
            datetime.combine(self.start, time.min, tzinfo=zone),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone),
        )

    def day_ranges_and_months(self, *, with_previous: bool = True) -> tuple[list[tuple[date, date]], list[date]]:
        """This period (and the previous one) as whole calendar months plus the day ranges left over: month
        rollup rows answer the months, day rows the rest, so a year reads ~12 rows per key instead of 365."""
        ranges: list[tuple[date, date]] = []
        months: list[date] = []
        for period in ((self.previous, self) if with_previous else (self,)):
            period_ranges, period_months = month_split(period.start, period.end)
            ranges += period_ranges
            months += period_months
        return ranges, months

    @property
    def trend_grain(self) -> str:
        """Days for a month or less, weeks up to about half a year, months beyond."""
        if self.days <= 45:
            return "day"
        if self.days <= 200:
            return "week"
        return "month"


def _first_of_next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_split(start: date, end: date) -> tuple[list[tuple[date, date]], list[date]]:
    """Whole calendar months inside start..end (their first days), and the day ranges outside them."""
    first_full = start if start.day == 1 else _first_of_next_month(start)
    next_month = _first_of_next_month(end)
    after_last_full = next_month if end == next_month - timedelta(days=1) else end.replace(day=1)
    if first_full >= after_last_full:
        return [(start, end)], []
    months, month = [], first_full
    while month < after_last_full:
        months.append(month)
        month = _first_of_next_month(month)
    ranges = []
    if start < first_full:
        ranges.append((start, first_full - timedelta(days=1)))
    if after_last_full <= end:
        ranges.append((after_last_full, end))
    return ranges, months
