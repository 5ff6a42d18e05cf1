"""The timeline row's time label is the date filter's "M j, Y g:i A", without the filter's per-row format parsing."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import dateformat, translation

from customers.templatetags.timeline import when_label

ZONE = ZoneInfo("America/Denver")
MOMENTS = [
    datetime(2026, 1, 1, 0, 0, tzinfo=ZONE),  # midnight is 12 AM
    datetime(2026, 3, 8, 1, 59, tzinfo=ZONE),
    datetime(2026, 6, 9, 11, 59, tzinfo=ZONE),
    datetime(2026, 6, 9, 12, 0, tzinfo=ZONE),  # noon is 12 PM
    datetime(2026, 9, 30, 13, 5, tzinfo=ZONE),
    datetime(2026, 12, 31, 23, 59, 59, tzinfo=ZONE),
    datetime(999, 5, 4, 9, 7),  # a four-digit year, as "Y" pads it
] + [datetime(2025, 1, 15, 7, 30, tzinfo=ZONE) + timedelta(days=31 * i, hours=5 * i) for i in range(12)]


@pytest.mark.parametrize("when", MOMENTS, ids=str)
def test_the_label_is_the_date_filters(when):
    assert when_label(when) == dateformat.format(when, "M j, Y g:i A")


@pytest.mark.parametrize("language", ["en", "de", "es"])
def test_the_label_speaks_the_active_language_like_the_filter(settings, language):
    settings.USE_I18N = True
    with translation.override(language):
        for when in MOMENTS[:6]:
            assert when_label(when) == dateformat.format(when, "M j, Y g:i A")
