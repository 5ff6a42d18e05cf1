"""Proof with clients nobody here wrote: Segment's and RudderStack's Python libraries, pointed at the real
ASGI server on loopback, deliver events that end up stored in PostgreSQL."""

import time

import pytest

from factories import RooftopFactory
from tracking.models import TrackedEvent, Visitor

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for_events(rooftop, count: int, timeout: float = 15.0) -> list[TrackedEvent]:
    deadline = time.monotonic() + timeout
    while True:
        events = list(TrackedEvent.objects.for_rooftops([rooftop.id]).order_by("id"))
        if len(events) >= count or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def _send_all(client) -> None:
    client.track(anonymous_id="web-anon-1", event="asc_item_pageview", message_id="lib-1",
                 properties={"item_id": "5YFB4MDE0RP000123", "item_make": "Toyota", "item_price": 24995})
    client.page(anonymous_id="web-anon-1", name="Used inventory", message_id="lib-2",
                properties={"page_type": "srp"})
    client.identify(anonymous_id="web-anon-1", user_id="dms-778", message_id="lib-3",
                    traits={"first_name": "Robin", "last_name": "Library"})
    client.track(user_id="dms-778", event="trade_in_calculator_completed", message_id="lib-4",
                 properties={"estimated_value": 11250, "trade_make": "Honda"})
    client.alias(previous_id="web-anon-1", user_id="dms-778", message_id="lib-5")
    client.flush()


def _check(rooftop, errors) -> None:
    assert errors == []
    events = _wait_for_events(rooftop, 5)
    assert sorted((e.message_id, e.type, e.event) for e in events) == [
        ("lib-1", "track", "asc_item_pageview"), ("lib-2", "page", "Used inventory"), ("lib-3", "identify", ""),
        ("lib-4", "track", "trade_in_calculator_completed"), ("lib-5", "alias", ""),
    ]
    vdp = next(e for e in events if e.message_id == "lib-1")
    assert vdp.vin == "5YFB4MDE0RP000123"
    assert vdp.properties["item_price"] == 24995
    identify = next(e for e in events if e.message_id == "lib-3")
    assert identify.traits["first_name"] == "Robin"
    visitor = Visitor.objects.for_rooftops([rooftop.id]).get(anonymous_id="web-anon-1")
    assert visitor.user_id == "dms-778"


def test_segment_analytics_python_delivers_to_the_collector(live_server_url):
    from segment.analytics import Client

    rooftop = RooftopFactory(tracking_write_key="wk_segment_lib")
    errors = []
    client = Client("wk_segment_lib", host=live_server_url, on_error=lambda e, batch: errors.append(e),
                    max_retries=1)
    try:
        _send_all(client)
    finally:
        client.shutdown()
    _check(rooftop, errors)


def test_rudder_sdk_python_delivers_gzipped_batches_to_the_collector(live_server_url):
    from rudderstack.analytics import Client

    rooftop = RooftopFactory(tracking_write_key="wk_rudder_lib")
    errors = []
    client = Client("wk_rudder_lib", host=live_server_url, on_error=lambda e, batch: errors.append(e),
                    max_retries=1)
    assert client.gzip is True  # RudderStack's default: the collector must decompress
    try:
        _send_all(client)
    finally:
        client.shutdown()
    _check(rooftop, errors)


def test_a_wrong_write_key_is_reported_to_the_library_as_401(live_server_url):
    from segment.analytics import Client

    RooftopFactory(tracking_write_key="wk_right")
    errors = []
    client = Client("wk_wrong", host=live_server_url, on_error=lambda e, batch: errors.append(e), max_retries=0)
    try:
        client.track(anonymous_id="a", event="x")
        client.flush()
    finally:
        client.shutdown()
    assert [getattr(e, "status", None) for e in errors] == [401]
    assert errors[0].code == "unauthorized"


def test_a_burst_of_single_requests_keeps_the_database_connections_bounded(live_server_url):
    """Under ASGI the collector reuses a few pooled connections; a connection per request would pile up until
    PostgreSQL refuses clients (seen in the ingest benchmark before the collector used a pool)."""
    import base64
    import http.client
    import json
    import threading
    from urllib.parse import urlsplit

    from django.db import connection

    rooftop = RooftopFactory(tracking_write_key="wk_burst")
    url = urlsplit(live_server_url)
    headers = {"Content-Type": "application/json",
               "Authorization": "Basic " + base64.b64encode(b"wk_burst:").decode()}
    statuses, peak = [], [0]

    def backends() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            return cursor.fetchone()[0]

    def sender(k: int) -> None:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        for n in range(150):
            conn.request("POST", "/v1/track", body=json.dumps(
                {"event": "asc_pageview", "anonymousId": f"burst-{k}", "messageId": f"burst-{k}-{n}"}), headers=headers)
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
        conn.close()

    before = backends()
    threads = [threading.Thread(target=sender, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peak[0] = max(peak[0], backends())
        time.sleep(0.05)
    assert statuses == [200] * 900
    assert TrackedEvent.objects.for_rooftops([rooftop.id]).count() == 900
    assert peak[0] - before <= 12
