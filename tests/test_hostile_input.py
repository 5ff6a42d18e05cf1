"""Hostile input is answered 400 with a reason a person can read, never 500; what was accepted still is.

One mechanism per class of input: crm.input_guard (NUL and control characters in the path or query, every
page and API), crm.pagination (page numbers, offsets, cursors), crm.json_input (JSON bodies: nesting, NUL).
"""

import base64
import json

import pytest

from factories import make_customer
from tracking.messages import normalize
from tracking.services import events_record

pytestmark = pytest.mark.django_db


def _cursor(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


@pytest.fixture
def stored_events(world):
    from django.utils import timezone

    now = timezone.now()
    messages = [normalize({"type": "track", "event": "asc_pageview", "anonymousId": "anon-h", "messageId": f"h{n}"},
                          received_at=now) for n in range(3)]
    events_record(rooftop=world.rooftop, messages=messages, received_at=now)


def _reason(response) -> str:
    if response["Content-Type"].startswith("application/json"):
        body = response.json()
        return json.dumps(body)
    return response.content.decode()


@pytest.mark.parametrize("url, says", [
    ("/api/events/?type=%00", "NUL character"),
    ("/api/events/?event=%00", "NUL character"),
    ("/api/events/?anonymous_id=%00", "NUL character"),
    ("/api/events/?anonymous_id=a%01b", "control character U+0001"),
    ("/api/events/?%00=x", "query parameter name"),
    ("/leads/?q=%00", "NUL character"),
    ("/customers/?q=Pat%00", "NUL character"),
    ("/customers/%00/", "the address contains a NUL character"),
    ("/api/events/?cursor=" + _cursor("p=abc"), "invalid cursor"),
    ("/api/events/?cursor=" + _cursor("p=99999999999999999999999"), "invalid cursor"),
    ("/api/events/?cursor=not-base64!!", "invalid cursor"),
    ("/customers/duplicates/?page=1e20", "page must be a whole number"),
    ("/customers/duplicates/?page=100000000000000000000", "page must be a whole number"),
    ("/customers/duplicates/?page=-3", "page must be a whole number"),
    ("/leads/?page=1e20", "page must be a whole number"),
    ("/api/customers/search/?q=pat&page=1e20", "page must be a whole number"),
])
def test_staff_get_400_with_a_reason_for_hostile_query_input(client, world, stored_events, url, says):
    client.force_login(world.manager)
    response = client.get(url)
    assert response.status_code == 400, (url, response.content[:300])
    assert says in _reason(response)


@pytest.mark.parametrize("url", ["/demo-site/{slug}/?q=%00", "/demo-site/{slug}/?page=1e20",
                                 "/demo-site/{slug}/?q=camry%1b"])
def test_the_public_demo_site_answers_400_with_a_reason_to_anyone(client, world, url):
    response = client.get(url.format(slug=world.rooftop.slug))
    assert response.status_code == 400
    assert "<h1>Bad request</h1>" in response.content.decode()


def test_the_collector_answers_400_in_json_for_a_nul_in_its_query(client, world):
    response = client.post("/v1/batch?x=%00", "{}", content_type="application/json")
    assert response.status_code == 400
    assert "NUL character" in response.json()["detail"]


def test_json_nested_10000_deep_is_400_not_a_recursion_error(client, world):
    customer = make_customer(world.rooftop)
    client.force_login(world.salesperson)
    body = '{"text": ' + "[" * 10_000 + "]" * 10_000 + "}"
    response = client.post(f"/api/customers/{customer.id}/notes/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested deeper than 64 levels" in response.json()["detail"]


def test_json_with_a_nul_in_a_string_is_400(client, world):
    customer = make_customer(world.rooftop)
    client.force_login(world.salesperson)
    response = client.post(f"/api/customers/{customer.id}/notes/", '{"text": "a\\u0000b"}',
                           content_type="application/json")
    assert response.status_code == 400
    assert "NUL character" in response.json()["detail"]


def test_the_collector_refuses_json_nested_too_deep_with_a_reason(client, world):
    key = base64.b64encode(f"{world.rooftop.tracking_write_key}:".encode()).decode()
    body = '{"batch": [{"type": "track", "event": "x", "anonymousId": "a", "properties": {"p": ' + \
        "[" * 100 + "]" * 100 + "}}]}"
    response = client.post("/v1/batch", body, content_type="application/json", HTTP_AUTHORIZATION=f"Basic {key}")
    assert response.status_code == 400
    assert "nested deeper than 64 levels" in response.json()["message"]


# --- what was accepted before still is ------------------------------------------------------------

def test_ordinary_filters_searches_and_pages_still_answer(client, world, stored_events):
    make_customer(world.rooftop)
    client.force_login(world.manager)
    events = client.get("/api/events/", {"type": "track", "event": "asc_pageview", "anonymous_id": "anon-h",
                                         "limit": 2})
    assert events.status_code == 200
    body = events.json()
    assert len(body["results"]) == 2
    following = client.get(body["next"])
    assert following.status_code == 200
    assert len(following.json()["results"]) == 1
    for url in ("/leads/?q=Smith", "/leads/?q=a%09b", "/customers/?q=Pat", "/customers/duplicates/?page=2",
                "/customers/duplicates/?page=", "/leads/?page=9999", f"/demo-site/{world.rooftop.slug}/?q=camry",
                f"/demo-site/{world.rooftop.slug}/?page=50", "/api/customers/search/?q=pat&page=2"):
        assert client.get(url).status_code == 200, url


def test_a_page_past_the_end_shows_the_last_page(client, world):
    from factories import InventoryVehicleFactory

    stocks = [InventoryVehicleFactory(rooftop=world.rooftop).stock_number for _ in range(14)]  # 12 a page
    page = client.get(f"/demo-site/{world.rooftop.slug}/", {"page": 9999, "sort": "price"})
    assert page.status_code == 200
    shown = [stock for stock in stocks if f"/vehicles/{stock}/" in page.content.decode()]
    assert len(shown) == 2


def test_an_ordinary_note_is_still_added(client, world):
    customer = make_customer(world.rooftop)
    client.force_login(world.salesperson)
    response = client.post(f"/api/customers/{customer.id}/notes/", json.dumps({"text": "Called back, \"nested\": [[1]]"}),
                           content_type="application/json")
    assert response.status_code == 201
