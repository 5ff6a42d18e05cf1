"""How long an outbox row waits before its next attempt: pure, no Django, so a schedule is tested as a table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

# Customer texts and emails: 1, 2, 4, 8 minutes, then the message has failed (five attempts in all). A provider
# outage should not turn into a hammering, and a first response an hour late is no longer a first response.
MESSAGING_SCHEDULE: tuple[timedelta, ...] = tuple(timedelta(minutes=m) for m in (1, 2, 4, 8))

# Webhooks: about a day and a half of trying, so a receiver down overnight still gets everything in the morning;
# the endpoint itself is disabled once its deliveries have failed for 24 hours (rooftops.webhooks).
WEBHOOK_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=6),
    timedelta(hours=12), timedelta(hours=12),
)


def backoff_delay(attempts: int, schedule: Sequence[timedelta]) -> timedelta | None:
    """The wait after `attempts` failed attempts, or None when the schedule is used up (the row has failed)."""
    if attempts < 1:
        raise ValueError("backoff_delay is asked after at least one attempt")
    if attempts > len(schedule):
        return None
    return schedule[attempts - 1]


def max_attempts(schedule: Sequence[timedelta]) -> int:
    """The first attempt plus one retry per step of the schedule."""
    return len(schedule) + 1
