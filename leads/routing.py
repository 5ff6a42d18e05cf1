"""Lead routing decisions: who gets a lead, by when they must answer, and when it moves on.

Everything here is a pure function of frozen dataclasses and an explicit `now`, so a
reader can answer "why did Dev get this lead?" from this file alone and the rules are
tested with tables, without a database or a clock.

Time zone rule: business hours are wall-clock times in the rooftop's zone ("we open at
09:00" means 09:00 on the clock on the showroom wall, whatever the UTC offset that day).
All arithmetic on instants is done in UTC, because adding a timedelta to a datetime
carrying a ZoneInfo adds wall-clock time and is wrong across daylight-saving changes.
Instants are returned in UTC too: Python never finds a local time inside the repeated
fall-back hour equal to a datetime in another zone, so a local result could fail `==`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from fractions import Fraction
from itertools import pairwise
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc

DAY_KEYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
AVAILABILITIES = frozenset({"available", "with_customer", "lunch", "off"})
MODES = frozenset({"round_robin", "weighted", "named_owner", "pool"})
AFTER_HOURS = frozenset({"next_shift", "pool"})
STEP_ACTIONS = frozenset({"none", "warn", "reroute", "escalate"})

Availability = Literal["available", "with_customer", "lunch", "off"]
Mode = Literal["round_robin", "weighted", "named_owner", "pool"]
AfterHours = Literal["next_shift", "pool"]
Action = Literal["none", "warn", "reroute", "escalate"]
Interval = tuple[time, time]
Segment = tuple[datetime, datetime]

# Strict "HH:MM": the JSON is edited by people, and fromisoformat would quietly accept
# "9:00:30" or "0900", which then round-trips differently.
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --------------------------------------------------------------------------- helpers


def _zone(tz: str) -> ZoneInfo:
    """Return the ZoneInfo for an IANA name, or raise ValueError."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"Unknown time zone {tz!r}: expected an IANA name such as 'America/New_York'") from exc


def _utc(moment: datetime, name: str) -> datetime:
    """Return an aware datetime converted to UTC, refusing naive ones."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def _fmt(t: time) -> str:
    """Format a time as HH:MM."""
    return t.strftime("%H:%M")


def _minutes(n: int) -> str:
    """Say '1 minute' or 'n minutes'."""
    return "1 minute" if n == 1 else f"{n} minutes"


# --------------------------------------------------------------------------- business hours


@dataclass(frozen=True)
class BusinessHours:
    """Opening intervals per weekday (0=Monday) in the rooftop's local time, plus closed dates."""

    weekly: tuple[tuple[Interval, ...], ...]
    closed_dates: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise ValueError(f"Business hours need 7 weekdays, Monday first; got {len(self.weekly)}")
        normalised: list[tuple[Interval, ...]] = []
        for key, intervals in zip(DAY_KEYS, self.weekly):
            ordered: list[Interval] = []
            for interval in intervals:
                if len(interval) != 2:
                    raise ValueError(f"{key}: each interval is (open, close), got {interval!r}")
                opens, closes = interval
                for t in (opens, closes):
                    if not isinstance(t, time):
                        raise ValueError(f"{key}: {t!r} is not a datetime.time")
                    if t.tzinfo is not None:
                        raise ValueError(f"{key}: {t} must be a local wall-clock time without tzinfo")
                    if t.second or t.microsecond:
                        raise ValueError(f"{key}: {t} must be a whole minute")
                if not opens < closes:
                    raise ValueError(
                        f"{key}: {_fmt(opens)}-{_fmt(closes)} closes before it opens "
                        "(overnight intervals are not supported; split them at midnight)"
                    )
                ordered.append((opens, closes))
            ordered.sort()
            for earlier, later in pairwise(ordered):
                if later[0] < earlier[1]:
                    raise ValueError(
                        f"{key}: {_fmt(earlier[0])}-{_fmt(earlier[1])} overlaps {_fmt(later[0])}-{_fmt(later[1])}"
                    )
            normalised.append(tuple(ordered))
        for day in self.closed_dates:
            # datetime is a subclass of date; a datetime here would never match a local date.
            if not isinstance(day, date) or isinstance(day, datetime):
                raise ValueError(f"closed_dates must hold dates, got {day!r}")
        # Sorted intervals make next_open and the JSON form deterministic.
        object.__setattr__(self, "weekly", tuple(normalised))
        object.__setattr__(self, "closed_dates", frozenset(self.closed_dates))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BusinessHours:
        """Build from JSON like {"mon": [["09:00", "20:00"]], "closed_dates": ["2026-12-25"]}."""
        if not isinstance(data, Mapping):
            raise ValueError(f"Business hours must be an object, got {type(data).__name__}")
        unknown = sorted(set(data) - set(DAY_KEYS) - {"closed_dates"})
        if unknown:
            raise ValueError(
                f"Unknown key(s) {', '.join(map(repr, unknown))}: expected {', '.join(DAY_KEYS)} and closed_dates"
            )
        weekly: list[tuple[Interval, ...]] = []
        for key in DAY_KEYS:
            # A missing day means closed all day, so a rooftop closed on Sundays can omit "sun".
            raw = data.get(key, [])
            if not isinstance(raw, (list, tuple)):
                raise ValueError(f"{key}: expected a list of [open, close] pairs, got {raw!r}")
            intervals: list[Interval] = []
            for index, pair in enumerate(raw):
                if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                    raise ValueError(
                        f"{key}[{index}]: expected [open, close] like [\"09:00\", \"20:00\"], got {pair!r}"
                    )
                opens, closes = (_parse_hhmm(value, f"{key}[{index}]") for value in pair)
                intervals.append((opens, closes))
            weekly.append(tuple(intervals))
        raw_dates = data.get("closed_dates", [])
        if not isinstance(raw_dates, (list, tuple)):
            raise ValueError(f"closed_dates: expected a list of YYYY-MM-DD dates, got {raw_dates!r}")
        closed = frozenset(_parse_iso_date(value) for value in raw_dates)
        return cls(weekly=tuple(weekly), closed_dates=closed)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form read by from_dict, with every weekday present."""
        out: dict[str, Any] = {
            key: [[_fmt(opens), _fmt(closes)] for opens, closes in intervals]
            for key, intervals in zip(DAY_KEYS, self.weekly)
        }
        out["closed_dates"] = [day.isoformat() for day in sorted(self.closed_dates)]
        return out


def _parse_hhmm(value: Any, where: str) -> time:
    """Parse a strict HH:MM string."""
    match = _HHMM.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{where}: {value!r} is not a 24-hour HH:MM time such as \"09:00\"")
    return time(int(match.group(1)), int(match.group(2)))


def _parse_iso_date(value: Any) -> date:
    """Parse a strict YYYY-MM-DD string."""
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"closed_dates: {value!r} is not a YYYY-MM-DD date")


def _offset_pieces(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, datetime, timedelta]]:
    """Split [start, end) UTC into pieces with a constant UTC offset in zone."""
    pieces: list[tuple[datetime, datetime, timedelta]] = []
    piece_start = start
    current = start.astimezone(zone).utcoffset()
    assert current is not None
    probe = start
    # Hourly probes, then bisection to the second: real zones never change offset twice
    # within an hour, and tzdata transitions fall on whole seconds.
    while probe < end:
        step = min(probe + timedelta(hours=1), end)
        if step.astimezone(zone).utcoffset() != current:
            low, high = 0, int((step - probe).total_seconds())
            while high - low > 1:
                middle = (low + high) // 2
                if (probe + timedelta(seconds=middle)).astimezone(zone).utcoffset() == current:
                    low = middle
                else:
                    high = middle
            change = probe + timedelta(seconds=high)
            pieces.append((piece_start, change, current))
            piece_start = change
            current = change.astimezone(zone).utcoffset()
            assert current is not None
        probe = step
    pieces.append((piece_start, end, current))
    return pieces


def _open_segments(hours: BusinessHours, zone: ZoneInfo, day: date) -> list[Segment]:
    """Return the UTC instants when the wall clock reads `day` inside an opening interval."""
    if day in hours.closed_dates or not hours.weekly[day.weekday()]:
        return []
    midnight = datetime.combine(day, time(0))
    # UTC offsets lie within -12h..+14h, so every instant whose local date is `day` is in here.
    window = _offset_pieces(zone, (midnight - timedelta(hours=15)).replace(tzinfo=UTC),
                            (midnight + timedelta(hours=39)).replace(tzinfo=UTC))
    segments: list[Segment] = []
    for piece_start, piece_end, offset in window:
        # Within a piece local = utc + offset exactly, so an interval maps to one UTC range;
        # a wall time skipped by spring-forward simply maps outside every piece.
        for opens, closes in hours.weekly[day.weekday()]:
            start = max((datetime.combine(day, opens) - offset).replace(tzinfo=UTC), piece_start)
            end = min((datetime.combine(day, closes) - offset).replace(tzinfo=UTC), piece_end)
            if start < end:
                segments.append((start, end))
    segments.sort()
    merged: list[Segment] = []
    for start, end in segments:
        # Pieces meet at a DST change; an interval spanning it must count as one stretch.
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _segments_after(hours: BusinessHours, zone: ZoneInfo, at: datetime) -> Iterator[Segment]:
    """Yield open stretches (UTC) that end after `at`, in order."""
    if not any(hours.weekly):
        raise ValueError("These business hours never open: every weekday is empty")
    # Start a day early: at a fall-back change the previous local date can still be open.
    day = at.astimezone(zone).date() - timedelta(days=1)
    # Closed dates are finite, so a longer run of days without an opening means none will come.
    limit = len(hours.closed_dates) + 370
    empty_run = 0
    while True:
        segments = _open_segments(hours, zone, day)
        empty_run = 0 if segments else empty_run + 1
        if empty_run > limit:
            raise ValueError("These business hours never open again")
        for start, end in segments:
            if end > at:
                yield start, end
        day += timedelta(days=1)


def is_open(hours: BusinessHours, tz: str, at: datetime) -> bool:
    """Say whether the rooftop is open at an instant, judged by its local wall clock."""
    local = _utc(at, "at").astimezone(_zone(tz))
    if local.date() in hours.closed_dates:
        return False
    now = local.time().replace(tzinfo=None)
    return any(opens <= now < closes for opens, closes in hours.weekly[local.weekday()])


def next_open(hours: BusinessHours, tz: str, at: datetime) -> datetime:
    """Return `at` (in UTC) if open, else the next opening instant in UTC."""
    moment = _utc(at, "at")
    if is_open(hours, tz, at):
        return moment
    for start, _end in _segments_after(hours, _zone(tz), moment):
        return max(start, moment)
    raise AssertionError("unreachable: _segments_after either yields or raises")


# --------------------------------------------------------------------------- who gets the lead


@dataclass(frozen=True)
class Candidate:
    """A salesperson who could take the lead, as loaded for this one decision."""

    staff_id: int
    availability: Availability
    is_active: bool
    on_shift: bool
    weight: int
    assigned_count: int
    last_assigned_at: datetime | None
    name: str = ""

    def __post_init__(self) -> None:
        if self.availability not in AVAILABILITIES:
            raise ValueError(
                f"availability must be one of {', '.join(sorted(AVAILABILITIES))}, got {self.availability!r}"
            )
        if self.weight < 0:
            raise ValueError(f"weight must be 0 or more, got {self.weight}")
        if self.assigned_count < 0:
            raise ValueError(f"assigned_count must be 0 or more, got {self.assigned_count}")
        if self.last_assigned_at is not None:
            # Comparing naive and aware datetimes raises mid-sort; fail at the boundary instead.
            _utc(self.last_assigned_at, "last_assigned_at")

    @property
    def label(self) -> str:
        """Name for reasons shown to people."""
        return self.name or f"staff #{self.staff_id}"


@dataclass(frozen=True)
class RoutingRule:
    """How a rooftop routes one kind of lead."""

    mode: Mode
    named_owner_id: int | None = None
    response_minutes: int = 15
    warn_before_minutes: int = 5
    max_hops: int = 2
    # A lead arriving while the store is closed: to whoever works the next shift, or left in the (BDC) pool.
    after_hours: AfterHours = "next_shift"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(sorted(MODES))}, got {self.mode!r}")
        if self.after_hours not in AFTER_HOURS:
            raise ValueError(
                f"after_hours must be one of {', '.join(sorted(AFTER_HOURS))}, got {self.after_hours!r}"
            )
        if self.mode == "named_owner" and self.named_owner_id is None:
            raise ValueError("named_owner mode needs a named_owner_id")
        for field_name in ("response_minutes", "warn_before_minutes", "max_hops"):
            if getattr(self, field_name) < 0:
                raise ValueError(f"{field_name} must be 0 or more, got {getattr(self, field_name)}")


@dataclass(frozen=True)
class Decision:
    """Who gets the lead (or the pool), with the reason shown to the team."""

    staff_id: int | None
    pool: bool
    reason: str

    def __post_init__(self) -> None:
        if self.pool != (self.staff_id is None):
            raise ValueError("A decision either assigns someone or leaves the lead in the pool, not both")


POOL_TAIL = "left in the pool for the first to claim"


def _why_not(candidate: Candidate, *, exclude_ids: frozenset[int], urgent: bool) -> str | None:
    """Return why a candidate cannot take the lead now, or None if they can."""
    if candidate.staff_id in exclude_ids:
        return "already had this lead"
    if not candidate.is_active:
        return "is no longer active"
    if candidate.availability == "off":
        return "is off"
    if candidate.availability == "lunch":
        return "is at lunch"
    if not candidate.on_shift:
        return "is not on shift"
    if candidate.availability == "with_customer" and urgent:
        # An urgent lead cannot wait for someone mid-test-drive; it goes elsewhere at once.
        return "is with a customer and the lead is urgent"
    return None


def why_not_assignable(candidate: Candidate, *, urgent: bool = False) -> str | None:
    """Say why a person cannot be given a lead now (for hand assignment), or None if they can."""
    return _why_not(candidate, exclude_ids=frozenset(), urgent=urgent)


def _round_robin_key(candidate: Candidate) -> tuple[bool, datetime, int]:
    """Order by longest wait: never-assigned first, then oldest assignment, then staff_id."""
    last = candidate.last_assigned_at
    if last is None:
        return (False, datetime.min.replace(tzinfo=UTC), candidate.staff_id)
    return (True, last.astimezone(UTC), candidate.staff_id)


def _round_robin(eligible: Sequence[Candidate], prefix: str = "") -> Decision:
    """Pick the eligible person who has waited longest."""
    chosen = min(eligible, key=_round_robin_key)
    return Decision(chosen.staff_id, False, f"{prefix}Round robin: next available salesperson")


def choose_assignee(
    candidates: Iterable[Candidate],
    rule: RoutingRule,
    *,
    previous_owner_id: int | None,
    exclude_ids: frozenset[int],
    store_open: bool,
    urgent: bool,
) -> Decision:
    """Decide who gets a lead now, or leave it in the pool, with a plain-language reason."""
    roster = {c.staff_id: c for c in candidates}
    if rule.mode == "pool":
        return Decision(None, True, f"Pool mode: {POOL_TAIL}")
    if not store_open:
        # Assigning at night starts a response clock nobody can meet.
        return Decision(None, True, f"Store is closed: {POOL_TAIL}")

    eligible = [
        c for c in roster.values() if _why_not(c, exclude_ids=exclude_ids, urgent=urgent) is None
    ]
    if rule.mode == "weighted":
        # Weight 0 means "takes no share of weighted leads", e.g. a closer or a trainee.
        eligible = [c for c in eligible if c.weight > 0]

    prefix = ""
    if previous_owner_id is not None:
        previous = roster.get(previous_owner_id)
        why = (
            "is not on the roster"
            if previous is None
            else _why_not(previous, exclude_ids=exclude_ids, urgent=urgent)
        )
        if previous is not None and why is None:
            # The relationship matters more than fairness: a returning customer asks for "their" salesperson.
            return Decision(
                previous.staff_id, False, f"Returning customer: back to {previous.label}, their previous salesperson"
            )
        label = previous.label if previous is not None else f"staff #{previous_owner_id}"
        prefix = f"Returning customer, but their previous salesperson {label} {why}. "

    if not eligible:
        return Decision(None, True, f"{prefix}Nobody is available: {POOL_TAIL}")

    if rule.mode == "weighted":
        # Exact fractions: 1/3 vs 2/6 must tie, then fall back to round-robin order.
        chosen = min(eligible, key=lambda c: (Fraction(c.assigned_count, c.weight), _round_robin_key(c)))
        return Decision(chosen.staff_id, False, f"{prefix}Weighted: furthest below their share of leads")

    if rule.mode == "named_owner":
        assert rule.named_owner_id is not None
        owner = roster.get(rule.named_owner_id)
        why = "is not on the roster" if owner is None else _why_not(owner, exclude_ids=exclude_ids, urgent=urgent)
        if owner is not None and why is None:
            return Decision(owner.staff_id, False, f"{prefix}Named owner: {owner.label} handles these leads")
        label = owner.label if owner is not None else f"staff #{rule.named_owner_id}"
        return _round_robin(eligible, f"{prefix}Named owner {label} {why}. ")

    return _round_robin(eligible, prefix)


# --------------------------------------------------------------------------- after hours


# Lunch and a customer on the lot describe this evening, not tomorrow morning. "Off" is different: it
# stays until the person says otherwise (a day off, a holiday), so it still rules them out.
_MOMENTARY: frozenset[str] = frozenset({"with_customer", "lunch"})


def _opening_label(opens_at: datetime, tz: str) -> str:
    """'Wed 09:00' on the rooftop's wall clock."""
    local = _utc(opens_at, "opens_at").astimezone(_zone(tz))
    return f"{local:%a} {_fmt(local.time())}"


def choose_after_hours(
    candidates_at_opening: Iterable[Candidate],
    rule: RoutingRule,
    *,
    opens_at: datetime,
    tz: str,
    previous_owner_id: int | None,
    exclude_ids: frozenset[int],
) -> Decision:
    """Decide who gets a lead that arrives while the store is closed: the next shift, or the pool.

    `candidates_at_opening` carry `on_shift` as judged at `opens_at` (the store's next opening), so
    "next shift" means "working when the doors open". The lead is assigned at once; its response clock
    counts from the opening (see `deadline_for`), so nobody is chased overnight.
    """
    closed = f"Store is closed until {_opening_label(opens_at, tz)}"
    if rule.mode == "pool":
        return Decision(None, True, f"Pool mode: {POOL_TAIL}")
    if rule.after_hours == "pool":
        return Decision(None, True, f"{closed}: after-hours leads from this source wait in the BDC pool, {POOL_TAIL}")
    ready = [
        replace(c, availability="available") if c.availability in _MOMENTARY else c for c in candidates_at_opening
    ]
    # Urgency is about who can answer right now; at night nobody can, so the morning decides.
    decision = choose_assignee(
        ready, rule, previous_owner_id=previous_owner_id, exclude_ids=exclude_ids, store_open=True, urgent=False
    )
    if decision.pool:
        return Decision(None, True, f"{closed}, nobody is on the next shift. {decision.reason}")
    return Decision(decision.staff_id, False, f"{closed}: for the next shift. {decision.reason}")


# --------------------------------------------------------------------------- response clock


def deadline_for(received_at: datetime, rule: RoutingRule, hours: BusinessHours, tz: str) -> datetime:
    """Return the response deadline in UTC, counting only open time; 0 minutes means when the clock starts."""
    zone = _zone(tz)
    moment = _utc(received_at, "received_at")
    # A lead at 23:00 starts its clock at the next opening, so nobody is rerouted overnight.
    remaining = timedelta(minutes=rule.response_minutes)
    for start, end in _segments_after(hours, zone, moment):
        start = max(start, moment)
        if remaining <= end - start:
            return start + remaining
        remaining -= end - start
    raise AssertionError("unreachable: _segments_after either yields or raises")


@dataclass(frozen=True)
class ResponseWindow:
    """When a new owner's response clock runs: from now, or from the next opening when the store is closed."""

    opens_at: datetime | None  # UTC: the opening the clock counts from; None when the store is open now
    deadline_at: datetime
    warn_at: datetime | None


def response_window(received_at: datetime, rule: RoutingRule, hours: BusinessHours, tz: str) -> ResponseWindow:
    """Return the opening the clock counts from (if closed), the deadline and the warning time, all UTC."""
    moment = _utc(received_at, "received_at")
    opens_at = None if is_open(hours, tz, moment) else next_open(hours, tz, moment)
    deadline = deadline_for(moment, rule, hours, tz)
    warn_at = deadline - timedelta(minutes=rule.warn_before_minutes) if rule.warn_before_minutes else None
    if warn_at is not None and opens_at is not None:
        # A warning at 08:55 reaches someone still on their way in; the earliest useful moment is the opening.
        warn_at = max(warn_at, opens_at)
    return ResponseWindow(opens_at=opens_at, deadline_at=deadline, warn_at=warn_at)


@dataclass(frozen=True)
class ClockState:
    """Where a lead's response clock stands, as stored on the lead."""

    deadline_at: datetime
    warned: bool = False
    hops: int = 0
    human_acted: bool = False
    owner_name: str = ""

    def __post_init__(self) -> None:
        _utc(self.deadline_at, "deadline_at")
        if self.hops < 0:
            raise ValueError(f"hops must be 0 or more, got {self.hops}")

    def after_warning(self) -> ClockState:
        """Return the state once the warning has been sent."""
        return replace(self, warned=True)

    def after_reroute(self, deadline_at: datetime, owner_name: str = "") -> ClockState:
        """Return the state for the new owner: one more hop, a fresh deadline and a fresh warning."""
        return replace(self, deadline_at=deadline_at, warned=False, hops=self.hops + 1, owner_name=owner_name)


@dataclass(frozen=True)
class Step:
    """What the response clock asks for now, with the reason to record."""

    action: Action
    reason: str

    def __post_init__(self) -> None:
        if self.action not in STEP_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(sorted(STEP_ACTIONS))}, got {self.action!r}")

    def rerouted_to(self, name: str | None) -> Step:
        """Complete a reroute reason with the new owner's name, or the pool when None."""
        return replace(self, reason=f"{self.reason} to {name if name else 'the pool'}")


def next_step(clock: ClockState, rule: RoutingRule, now: datetime) -> Step:
    """Decide whether to wait, warn, reroute or escalate a lead at `now`."""
    moment = _utc(now, "now")
    deadline = _utc(clock.deadline_at, "deadline_at")
    owner = clock.owner_name or "the current owner"
    if clock.human_acted:
        return Step("none", "Someone responded: the clock is stopped")
    if moment >= deadline:
        missed = (
            f"No response in {_minutes(rule.response_minutes)}"
            if rule.response_minutes
            else "No immediate response"
        )
        if clock.hops >= rule.max_hops:
            # Passing the lead around for ever helps nobody; a manager decides.
            tried = f" after {clock.hops} reroute{'' if clock.hops == 1 else 's'}" if clock.hops else ""
            return Step("escalate", f"{missed}{tried}: escalated to a manager")
        return Step("reroute", f"{missed}: rerouted from {owner}")
    left = math.ceil((deadline - moment).total_seconds() / 60)
    warn_from = deadline - timedelta(minutes=rule.warn_before_minutes)
    if rule.warn_before_minutes and not clock.warned and moment >= warn_from:
        return Step("warn", f"{_minutes(left)} left for {owner} to respond")
    return Step("none", f"Waiting for {owner}: {_minutes(left)} left")
