"""Times far outside any real clock: replaced on the way in, and pages survive those stored before."""

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection

from factories import make_customer
from tracking.messages import MAX_FUTURE, MAX_PAST, normalize
from tracking.models import TrackedEvent, Visitor

pytestmark = pytest.mark.django_db

YEAR_1 = datetime(1, 1, 1, tzinfo=timezone.utc)
YEAR_9999 = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
RECEIVED = datetime(2026, 3, 10, 15, 0, tzinfo=timezone.utc)


def _insert_raw_event(rooftop, *, occurred_at, customer, message_id):
    """Straight into the tables, as an event stored before the collector refused such times."""
    visitor = Visitor.unscoped.create(rooftop=rooftop, anonymous_id=f"anon-{message_id}", customer=customer,
                                      first_seen_at=occurred_at, last_seen_at=occurred_at)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tracking_event (received_at, rooftop_id, visitor_id, customer_id, message_id, type, event,"
            " occurred_at, sent_at, vin, properties, traits, context) VALUES"
            " (now(), %s, %s, %s, %s, 'track', 'asc_pageview', %s, %s, '', '{}', '{}', '{}')",
            [rooftop.id, visitor.id, customer.id, message_id, occurred_at, occurred_at],
        )


# Year 1 overflows west of UTC, year 9999 east of it: each in the zone where it breaks.
@pytest.mark.parametrize("when, time_zone", [
    (YEAR_1, "America/New_York"), (YEAR_1, "America/Denver"),
    (YEAR_9999, "Pacific/Auckland"), (YEAR_9999, "Asia/Tokyo"),
], ids=["year-1-new-york", "year-1-denver", "year-9999-auckland", "year-9999-tokyo"])
def test_tracking_page_debugger_timeline_and_apis_show_an_event_stored_from_year_1_or_9999(
        client, world, when, time_zone):
    world.rooftop.time_zone = time_zone
    world.rooftop.save(update_fields=["time_zone"])
    customer = make_customer(world.rooftop)
    _insert_raw_event(world.rooftop, occurred_at=when, customer=customer, message_id="far-1")
    client.force_login(world.manager)
    for url in ("/tracking/setup/", f"/tracking/setup/{world.rooftop.id}/debugger/",
                f"/customers/{customer.id}/", f"/customers/{customer.id}/timeline/",
                "/api/events/", f"/api/events/?customer={customer.id}",
                f"/api/customers/{customer.id}/timeline/", f"/api/customers/{customer.id}/"):
        response = client.get(url)
        assert response.status_code == 200, url
    page = client.get(f"/tracking/setup/{world.rooftop.id}/debugger/").content.decode()
    assert "asc_pageview" in page
    events = client.get("/api/events/").json()["results"]
    assert [e["message_id"] for e in events] == ["far-1"]


@pytest.mark.parametrize("timestamp, sent_at", [
    ("0001-01-01T00:00:00Z", None),
    ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"),
], ids=["year-1", "year-9999-sent-year-1"])
def test_an_event_from_either_end_of_the_calendar_is_stored_at_its_arrival_with_the_senders_time_kept(
        client, world, timestamp, sent_at):
    body = {"type": "track", "event": "asc_pageview", "anonymousId": "anon-y1", "messageId": "y1",
            "timestamp": timestamp, **({"sentAt": sent_at} if sent_at else {})}
    key = base64.b64encode(f"{world.rooftop.tracking_write_key}:".encode()).decode()
    before = datetime.now(timezone.utc)
    response = client.post("/v1/batch", json.dumps({"batch": [body]}), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Basic {key}")
    assert response.status_code == 200
    event = TrackedEvent.objects.for_rooftops([world.rooftop.id]).get(message_id="y1")
    assert event.occurred_at == event.received_at >= before
    assert event.context["crm_clock"]["timestamp"] == timestamp
    assert event.context["crm_clock"]["sentAt"] == sent_at
    assert "not believed" in event.context["crm_clock"]["reason"]
    client.force_login(world.manager)
    assert client.get("/tracking/setup/").status_code == 200
    assert client.get(f"/tracking/setup/{world.rooftop.id}/debugger/").status_code == 200


@pytest.mark.parametrize("timestamp", [
    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00",
    (RECEIVED - MAX_PAST - timedelta(days=1)).isoformat(), (RECEIVED + MAX_FUTURE + timedelta(minutes=1)).isoformat(),
], ids=["year-1", "year-9999", "year-1-east", "year-9999-west", "past-window", "future-window"])
def test_a_time_outside_the_believable_window_is_replaced_by_the_received_time(timestamp):
    message = normalize({"type": "track", "event": "x", "anonymousId": "a", "timestamp": timestamp},
                        received_at=RECEIVED)
    assert message.occurred_at == RECEIVED
    assert message.context["crm_clock"]["timestamp"] == timestamp


@pytest.mark.parametrize("sent_at", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59-12:00"])
def test_a_sent_at_outside_the_window_is_not_used_to_correct_the_clock(sent_at):
    message = normalize({"type": "track", "event": "x", "anonymousId": "a", "timestamp": "2026-03-10T14:59:00Z",
                         "sentAt": sent_at}, received_at=RECEIVED)
    assert message.occurred_at == datetime(2026, 3, 10, 14, 59, tzinfo=timezone.utc)
    assert message.sent_at is None
    assert message.context["crm_clock"]["sentAt"] == sent_at


def test_a_time_inside_the_window_is_kept_and_skew_corrected_without_a_note():
    message = normalize({"type": "track", "event": "x", "anonymousId": "a", "timestamp": "2026-03-10T14:58:00Z",
                         "sentAt": "2026-03-10T14:59:00Z", "context": {"page": {"path": "/"}}}, received_at=RECEIVED)
    assert message.occurred_at == RECEIVED - timedelta(minutes=1)
    assert message.context == {"page": {"path": "/"}}
