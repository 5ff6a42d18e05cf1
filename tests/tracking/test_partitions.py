from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection

from factories import RooftopFactory
from tracking.messages import normalize
from tracking.models import ReceivedMessage, TrackedEvent
from tracking.partitions import (
    add_months, events_retention_apply, month_partition, partitions_ensure, partitions_existing, partitions_expired,
    partitions_wanted,
)
from tracking.services import events_record
from tracking.tasks import partitions_maintain

UTC = timezone.utc


def _month(y, m):
    return datetime(y, m, 1, tzinfo=UTC)


def test_the_wanted_partitions_are_this_month_and_the_next_two_across_a_year_end():
    wanted = partitions_wanted(now=datetime(2026, 11, 30, 23, 59, tzinfo=UTC))
    assert [p.name for p in wanted] == ["tracking_event_y2026m11", "tracking_event_y2026m12", "tracking_event_y2027m01"]
    assert wanted[-1].ends == _month(2027, 2)


def test_a_moment_late_on_the_last_day_in_new_york_is_already_next_month_in_utc():
    local = datetime(2026, 11, 30, 21, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert partitions_wanted(now=local, months_ahead=0)[0].name == "tracking_event_y2026m12"


def test_only_partitions_entirely_older_than_the_cutoff_expire():
    parts = [month_partition(_month(2025, m)) for m in (9, 10, 11)]
    assert [p.name for p in partitions_expired(parts, cutoff=datetime(2025, 11, 1, tzinfo=UTC))] == [
        "tracking_event_y2025m09", "tracking_event_y2025m10"]
    assert add_months(_month(2025, 12), 1) == _month(2026, 1)


def _store(rooftop, message_id: str, received_at: datetime):
    message = normalize({"type": "track", "event": "asc_pageview", "anonymousId": "anon-p", "messageId": message_id,
                         "timestamp": received_at.isoformat()}, received_at=received_at)
    events_record(rooftop=rooftop, messages=[message], received_at=received_at)


def _partition_of(message_id: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM tracking_event WHERE message_id = %s", [message_id])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_the_migration_made_this_month_and_the_next_two():
    names = {p.name for p in partitions_existing()}
    assert {p.name for p in partitions_wanted(now=datetime.now(UTC))} <= names


@pytest.mark.django_db
def test_rows_outside_every_month_land_in_the_default_partition_and_are_still_found():
    rooftop = RooftopFactory()
    far_future = add_months(datetime.now(UTC), 14)
    _store(rooftop, "future-1", far_future)
    assert _partition_of("future-1") == "tracking_event_default"
    assert TrackedEvent.objects.for_rooftops([rooftop.id]).filter(message_id="future-1").exists()


@pytest.mark.django_db
def test_creating_a_month_moves_its_rows_out_of_the_default_partition():
    rooftop = RooftopFactory()
    month = add_months(datetime(2026, 1, 1, tzinfo=UTC), 30)  # 2028-07
    _store(rooftop, "moved-1", month + timedelta(days=3))
    _store(rooftop, "stays-1", add_months(month, 5))
    assert _partition_of("moved-1") == "tracking_event_default"
    created = partitions_ensure(now=month, months_ahead=0)
    assert created == ["tracking_event_y2028m07"]
    assert _partition_of("moved-1") == "tracking_event_y2028m07"
    assert _partition_of("stays-1") == "tracking_event_default"
    assert TrackedEvent.objects.for_rooftops([rooftop.id]).count() == 2
    assert partitions_ensure(now=month, months_ahead=0) == []  # idempotent


@pytest.mark.django_db
def test_retention_drops_old_months_old_default_rows_and_old_message_ids():
    rooftop = RooftopFactory()
    now = datetime(2031, 6, 15, tzinfo=UTC)  # far from the real months other tests use
    partitions_ensure(now=now, months_back=3, months_ahead=0)  # 2031-03 .. 2031-06
    _store(rooftop, "old-month", datetime(2031, 3, 10, tzinfo=UTC))
    _store(rooftop, "recent", datetime(2031, 6, 1, tzinfo=UTC))
    _store(rooftop, "ancient-default", datetime(2030, 1, 1, tzinfo=UTC))
    result = events_retention_apply(now=now, retention_days=60)  # cutoff 2031-04-16
    # (this test's transaction is rolled back, so today's real months dropped here come back)
    assert "tracking_event_y2031m03" in result.partitions_dropped
    assert "tracking_event_y2031m04" not in result.partitions_dropped
    assert result.default_rows_deleted >= 1
    remaining = set(TrackedEvent.objects.for_rooftops([rooftop.id]).values_list("message_id", flat=True))
    assert remaining == {"recent"}
    assert set(ReceivedMessage.objects.filter(rooftop=rooftop).values_list("message_id", flat=True)) == {"recent"}
    assert "tracking_event_y2031m04" in {p.name for p in partitions_existing()}  # ends after the cutoff


@pytest.mark.django_db
def test_the_beat_task_keeps_the_partitions_and_is_scheduled():
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULE["tracking-partitions-maintain"]["task"] == "tracking.tasks.partitions_maintain"
    result = partitions_maintain()
    assert result["created"] == []  # the migration already made them
