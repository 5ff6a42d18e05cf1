"""The rollups' sorted time arrays are stored uncompressed (migration 0009).

The exact percentiles cut one bucket's slice out of each row's sorted array; a compressed array is
decompressed whole for every slice, which was most of the slice statements' time on a group's year. A month
row's array (thousands of answer times) must therefore be stored as it is, whichever way it is written.
"""

import pytest
from django.db import connection

from kpis.models import AlertDay, AlertKindDay, LeadDay, LeadPersonDay, LeadRooftopDay, LeadSourceDay

pytestmark = pytest.mark.django_db

SORTED_ARRAYS = [(LeadDay, "speed_seconds"), (LeadRooftopDay, "speed_seconds"), (LeadSourceDay, "speed_seconds"),
                 (LeadPersonDay, "speed_seconds"), (AlertDay, "claim_seconds"), (AlertDay, "act_seconds"),
                 (AlertKindDay, "claim_seconds"), (AlertKindDay, "act_seconds")]


def test_every_sorted_array_column_is_stored_without_compression():
    with connection.cursor() as cursor:
        for model, column in SORTED_ARRAYS:
            cursor.execute("SELECT attstorage FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s",
                           [model._meta.db_table, column])
            assert cursor.fetchone() == ("e",), (model._meta.db_table, column)


def test_a_month_of_answer_times_is_written_uncompressed(world):
    # 5,000 sorted times, as a busy store's month row holds: compressible, and past the size at which
    # PostgreSQL would compress it under the default storage.
    times = sorted(i % 900 for i in range(5000))
    row = LeadRooftopDay.unscoped.create(rooftop=world.rooftop, day="2026-01-01", is_month=True, leads=5000,
                                         speed_eligible=5000, answered=5000, speed_seconds=times,
                                         speed_cum=[0, 5000])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_column_compression(speed_seconds), cardinality(speed_seconds), "
                       "speed_seconds[2001:2003] FROM kpis_lead_rooftop_day WHERE id = %s", [row.id])
        compression, size, cut = cursor.fetchone()
    assert compression is None
    assert size == 5000 and cut == times[2000:2003]
