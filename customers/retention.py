"""When a customer's data has gone unused long enough to be purged (FTC Safeguards Rule: dispose of customer
information no later than two years after it was last used, unless needed). Pure: plain values in, a bool out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class CustomerActivity:
    created_at: datetime
    # The newest lead, repair order, appointment, timeline entry, message and web event; None when none.
    last_activity: tuple[datetime | None, ...]
    has_open_lead: bool


def last_used_at(activity: CustomerActivity) -> datetime:
    """The newest moment anything happened with the customer (their record's creation counts)."""
    return max([activity.created_at, *(at for at in activity.last_activity if at is not None)])


def retention_cutoff(*, now: datetime, retention_days: int) -> datetime | None:
    """Data unused since before this moment is purged; None when retention is off (0 days)."""
    if retention_days <= 0:
        return None
    return now - timedelta(days=retention_days)


def unused_since_cutoff(activity: CustomerActivity, *, cutoff: datetime | None) -> bool:
    """Whether the customer may be purged: nothing at or after the cutoff, and no lead still being worked."""
    if cutoff is None or activity.has_open_lead:
        return False
    return last_used_at(activity) < cutoff

