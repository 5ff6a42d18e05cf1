"""Times that came from outside (a shopper's device clock) and must still be shown and computed with.

Python's datetime ends at years 1 and 9999, so a stored time at either end cannot be moved into a
rooftop's time zone (`localtime` of 0001-01-01 UTC in New York is year 0: OverflowError) nor have a
scoring window added to it. The collector no longer accepts such times (tracking.messages), but rows
stored before it refused them stay for the retention period. `displayable` pulls such a time inside a
range where every conversion and window is safe; the field below applies it to every ORM read of a
column that holds a sender's clock, so every page, API and task reading it survives.
"""

from __future__ import annotations

from datetime import datetime, timezone

from django.db import models

# A year inside Python's range at each end: any time zone offset and any scoring window fits.
DISPLAYABLE_MIN = datetime(2, 1, 1, tzinfo=timezone.utc)
DISPLAYABLE_MAX = datetime(9998, 12, 31, tzinfo=timezone.utc)


def displayable(value: datetime | None) -> datetime | None:
    """The time, or the nearest end of the safe range when it lies outside it (naive values left alone)."""
    if value is None or value.tzinfo is None:
        return value
    if value < DISPLAYABLE_MIN:
        return DISPLAYABLE_MIN
    if value > DISPLAYABLE_MAX:
        return DISPLAYABLE_MAX
    return value


class SenderDateTimeField(models.DateTimeField):
    """A DateTimeField whose value may have come from a sender's clock: read back through `displayable`."""

    def from_db_value(self, value, expression, connection):
        return displayable(value)
