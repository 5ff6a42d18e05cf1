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

    @property
    def trend_grain(self) -> str:
        """Days for a month or less, weeks up to about half a year, months beyond."""
        if self.days <= 45:
            return "day"
        if self.days <= 200:
            return "week"
        return "month"
