"""Quiet hours: when a dealership may text or call a customer.

Messages go out only from 08:00 to 21:00 on the customer's own wall clock, the window
the TCPA and most state telemarketing rules use. Pure functions: `at` is passed in.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc

QUIET_START = time(21)
QUIET_END = time(8)


def _local(at: datetime, tz: str) -> tuple[datetime, ZoneInfo]:
    """Return `at` on the customer's wall clock, refusing naive datetimes and unknown zones."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"at must be timezone-aware, got naive {at.isoformat()}")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"Unknown time zone {tz!r}: expected an IANA name such as 'America/New_York'") from exc
    return at.astimezone(zone), zone


def _first_instant_at_or_after(zone: ZoneInfo, wall: datetime) -> datetime:
    """Return the first instant whose local wall clock reads `wall` or later."""
    earlier = wall.replace(tzinfo=zone, fold=0)
    if earlier.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
        # fold=0 is the first of a repeated fall-back hour, which is when the clock first shows it.
        return earlier
    # `wall` was skipped by spring-forward: the first moment past it is the jump itself.
    bounds = sorted(wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))
    low, high = 0, int((bounds[1] - bounds[0]).total_seconds())
    while high - low > 1:
        middle = (low + high) // 2
        if (bounds[0] + timedelta(seconds=middle)).astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return (bounds[0] + timedelta(seconds=high)).astimezone(zone)


def may_send_at(at: datetime, tz: str) -> bool:
    """Say whether a message may go out at `at` for a customer in zone `tz`."""
    local, _zone = _local(at, tz)
    return QUIET_END <= local.time() < QUIET_START


def next_send_time(at: datetime, tz: str) -> datetime:
    """Return `at` (in UTC) if sending is allowed, else the next 08:00 on the customer's wall clock, in UTC."""
    local, zone = _local(at, tz)
    if QUIET_END <= local.time() < QUIET_START:
        return at.astimezone(UTC)
    # Before 08:00 the window opens today; after 21:00 it opens tomorrow.
    day = local.date() if local.time() < QUIET_END else local.date() + timedelta(days=1)
    # UTC, because a local time in a repeated fall-back hour never compares equal across zones.
    return _first_instant_at_or_after(zone, datetime.combine(day, QUIET_END)).astimezone(UTC)
