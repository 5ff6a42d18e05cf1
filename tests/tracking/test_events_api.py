"""GET /api/events/: staff read stored events of their rooftops, newest first, a page at a time."""

from datetime import datetime, timedelta, timezone

import pytest

from factories import add_contact, make_customer
from tracking.messages import normalize
from tracking.services import events_record

pytestmark = pytest.mark.django_db

NOW = datetime.now(timezone.utc)


def _record(rooftop, anonymous_id, count, start=0, **extra):
    raws = [{"type": "track", "event": "asc_pageview", "anonymousId": anonymous_id,
             "messageId": f"{anonymous_id}-{start + n}", "properties": {"n": start + n}, **extra}
            for n in range(count)]
    events_record(rooftop=rooftop, messages=[normalize(r, received_at=NOW) for r in raws], received_at=NOW)


@pytest.fixture
def events(world):
    customer = make_customer(world.rooftop)
    add_contact(customer, email="e@example.com")
    _record(world.rooftop, "anon-a", 3)
    events_record(rooftop=world.rooftop, received_at=NOW, messages=[normalize(
        {"type": "identify", "anonymousId": "anon-a", "messageId": "ident", "traits": {"email": "e@example.com"}},
        received_at=NOW)])
    _record(world.rooftop, "anon-b", 2)
    _record(world.other_rooftop, "anon-other", 4)
    return customer


def test_staff_read_their_rooftops_events_newest_first(client, world, events):
    client.force_login(world.salesperson)
    body = client.get("/api/events/").json()
    ids = [e["id"] for e in body["results"]]
    assert len(ids) == 6
    assert ids == sorted(ids, reverse=True)
    assert {e["rooftop"] for e in body["results"]} == {world.rooftop.id}
    first = body["results"][0]
    assert first["anonymous_id"] == "anon-b"
    assert first["event"] == "asc_pageview"


def test_filter_by_anonymous_id_and_by_customer(client, world, events):
    client.force_login(world.bdc)
    by_browser = client.get("/api/events/", {"anonymous_id": "anon-a"}).json()["results"]
    assert {e["anonymous_id"] for e in by_browser} == {"anon-a"}
    assert len(by_browser) == 4
    by_customer = client.get("/api/events/", {"customer": events.id}).json()["results"]
    assert {e["customer"] for e in by_customer} == {events.id}
    assert len(by_customer) == 4


def test_pages_follow_the_cursor_without_gaps_or_repeats(client, world, events):
    client.force_login(world.manager)
    first = client.get("/api/events/", {"limit": 4}).json()
    assert len(first["results"]) == 4
    _record(world.rooftop, "anon-late", 3)  # arrivals between pages shift nothing
    second = client.get(first["next"]).json()
    seen = [e["id"] for e in first["results"] + second["results"]]
    assert len(seen) == len(set(seen)) == 6


def test_the_other_rooftops_user_sees_none_of_them_and_gets_404_for_the_customer(client, world, events):
    client.force_login(world.outsider)
    body = client.get("/api/events/", {"anonymous_id": "anon-a"}).json()
    assert body["results"] == []
    assert client.get("/api/events/", {"customer": events.id}).status_code == 404
    own = client.get("/api/events/").json()["results"]
    assert {e["anonymous_id"] for e in own} == {"anon-other"}


def test_anonymous_gets_401_or_403(client, events):
    assert client.get("/api/events/").status_code in (401, 403)


def test_a_bad_customer_id_is_400(client, world, events):
    client.force_login(world.manager)
    assert client.get("/api/events/", {"customer": "abc"}).status_code == 400


def test_the_endpoint_is_in_the_schema(client, world):
    client.force_login(world.manager)
    schema = client.get("/api/schema/").content.decode()
    assert "/api/events/" in schema
    assert "anonymous_id" in schema
