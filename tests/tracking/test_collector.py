"""The collector over HTTP (Django's test client): status codes, limits, encodings, idempotency."""

import base64
import gzip
import json
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from factories import RooftopFactory
from tracking.messages import MAX_BATCH_BYTES, MAX_EVENT_BYTES
from tracking.models import ReceivedMessage, TrackedEvent, Visitor
from tracking.rejections import rejections_clear, rejections_recent
from tracking.selectors import write_key_cache_clear

pytestmark = pytest.mark.django_db


@pytest.fixture
def rooftop():
    write_key_cache_clear()
    rooftop = RooftopFactory(tracking_write_key="wk_test_lakeside")
    rejections_clear(rooftop_id=rooftop.id)
    return rooftop


def _basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def _track(n: int, anonymous_id: str = "anon-1", **extra) -> dict:
    return {"type": "track", "event": "asc_item_pageview", "anonymousId": anonymous_id, "messageId": f"msg-{n}",
            "timestamp": "2026-11-24T14:59:58Z", "properties": {"item_id": "2T3P1RFV0RC000001"}, **extra}


def _post(client, path="/v1/batch", body=None, key="wk_test_lakeside", content_type="application/json", raw=None,
          **headers):
    data = raw if raw is not None else json.dumps(body)
    if key is not None:
        headers.setdefault("HTTP_AUTHORIZATION", _basic(key))
    return client.post(path, data=data, content_type=content_type, **headers)


def _stored(rooftop) -> int:
    return TrackedEvent.objects.for_rooftops([rooftop.id]).count()


def test_a_batch_with_the_write_key_as_basic_user_is_stored_and_answered_like_segment(client, rooftop):
    response = _post(client, body={"batch": [_track(1), _track(2)]})
    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert _stored(rooftop) == 2


def test_the_write_key_may_come_in_the_body(client, rooftop):
    response = _post(client, body={"batch": [_track(1)], "writeKey": "wk_test_lakeside"}, key=None)
    assert response.status_code == 200
    assert _stored(rooftop) == 1


@pytest.mark.parametrize("key", [None, "wk_wrong", ""])
def test_a_missing_or_wrong_write_key_is_401_and_nothing_is_stored(client, rooftop, key):
    response = _post(client, body={"batch": [_track(1)]}, key=key)
    assert response.status_code == 401
    assert response.json()["success"] is False
    assert "write key" in response.json()["message"]
    assert _stored(rooftop) == 0


def test_a_message_without_any_id_is_400_naming_its_index_and_nothing_of_the_batch_is_stored(client, rooftop):
    bad = _track(3)
    del bad["anonymousId"]
    response = _post(client, body={"batch": [_track(1), _track(2), bad, _track(4)]})
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == [{"index": 2, "reason": "anonymousId or userId is required"}]
    assert body["message"].startswith("message 2:")
    assert _stored(rooftop) == 0
    assert ReceivedMessage.objects.filter(rooftop=rooftop).count() == 0


def test_a_wrong_type_is_400_with_its_index(client, rooftop):
    response = _post(client, body={"batch": [_track(1), {**_track(2), "type": "purchase"}]})
    assert response.status_code == 400
    assert response.json()["errors"][0]["index"] == 1
    assert "type must be one of" in response.json()["errors"][0]["reason"]


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b'"text"', b"\xff\xfe{}"])
def test_malformed_json_is_400(client, rooftop, raw):
    response = _post(client, raw=raw)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


def test_a_batch_that_is_not_a_list_is_400(client, rooftop):
    response = _post(client, body={"batch": {"type": "track"}})
    assert response.status_code == 400
    assert "batch must be a JSON array" in response.json()["message"]


def test_an_event_over_32_kb_is_413_and_the_whole_batch_is_refused(client, rooftop):
    big = _track(2, properties={"blob": "x" * MAX_EVENT_BYTES})
    response = _post(client, body={"batch": [_track(1), big]})
    assert response.status_code == 413
    assert response.json()["errors"][0]["index"] == 1
    assert _stored(rooftop) == 0


def test_an_event_just_under_32_kb_is_accepted(client, rooftop):
    message = _track(1, properties={"blob": ""})
    room = MAX_EVENT_BYTES - len(json.dumps(message, separators=(",", ":")).encode())
    message["properties"]["blob"] = "x" * room
    assert _post(client, body={"batch": [message]}).status_code == 200


def test_a_batch_over_500_kb_is_413_and_nothing_is_stored(client, rooftop):
    events = [_track(n, properties={"blob": "x" * 20_000}) for n in range(30)]  # each event is under 32 KB
    response = _post(client, body={"batch": events})
    assert len(json.dumps({"batch": events})) > MAX_BATCH_BYTES
    assert response.status_code == 413
    assert _stored(rooftop) == 0


def test_a_gzipped_batch_is_accepted(client, rooftop):
    raw = gzip.compress(json.dumps({"batch": [_track(1), _track(2)]}).encode())
    response = _post(client, raw=raw, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 200
    assert _stored(rooftop) == 2


def test_a_gzip_bomb_is_refused_with_413_by_its_decompressed_size(client, rooftop):
    inner = b'{"batch": [], "pad": "' + b" " * (20 * 1024 * 1024) + b'"}'
    raw = gzip.compress(inner, compresslevel=9)
    assert len(raw) < 64 * 1024
    response = _post(client, raw=raw, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 413
    assert "decompressed" in response.json()["message"]


def test_a_corrupt_gzip_body_is_400(client, rooftop):
    raw = gzip.compress(json.dumps({"batch": [_track(1)]}).encode())[:-12]
    response = _post(client, raw=raw, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 400
    assert _stored(rooftop) == 0


def test_text_plain_is_accepted_as_track_js_sends_it_with_send_beacon(client, rooftop):
    response = _post(client, body={"batch": [_track(1)], "writeKey": "wk_test_lakeside"}, key=None,
                     content_type="text/plain;charset=UTF-8")
    assert response.status_code == 200
    assert _stored(rooftop) == 1


def test_a_form_encoded_body_is_415(client, rooftop):
    response = _post(client, raw="a=b", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_a_retried_batch_stores_each_event_once_and_answers_the_same(client, rooftop):
    body = {"batch": [_track(1), _track(2), _track(3)]}
    first = _post(client, body=body)
    second = _post(client, body=body)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() == {"success": True}
    assert _stored(rooftop) == 3


def test_a_message_repeated_inside_one_batch_is_stored_once(client, rooftop):
    assert _post(client, body={"batch": [_track(1), _track(1)]}).status_code == 200
    assert _stored(rooftop) == 1


def test_a_device_clock_an_hour_fast_is_corrected_by_sent_at(client, rooftop):
    device_offset = timedelta(hours=1)
    now = datetime.now(timezone.utc)
    happened = now - timedelta(minutes=5)
    message = _track(1, timestamp=(happened + device_offset).isoformat())
    response = _post(client, body={"batch": [message], "sentAt": (now + device_offset).isoformat()})
    assert response.status_code == 200
    event = TrackedEvent.objects.for_rooftops([rooftop.id]).get()
    assert abs(event.occurred_at - happened) < timedelta(seconds=5)
    assert abs(event.received_at - now) < timedelta(seconds=5)


@pytest.mark.parametrize("path, body, check", [
    ("/v1/track", {"event": "chat_started", "anonymousId": "a1", "messageId": "t1"}, ("track", "chat_started")),
    ("/v1/page", {"name": "Home", "anonymousId": "a1", "messageId": "p1"}, ("page", "Home")),
    ("/v1/identify", {"traits": {"first_name": "Pat"}, "anonymousId": "a1", "messageId": "i1"}, ("identify", "")),
    ("/v1/alias", {"previousId": "a1", "userId": "u1", "messageId": "al1"}, ("alias", "")),
])
def test_each_single_message_endpoint_stores_its_type(client, rooftop, path, body, check):
    response = _post(client, path=path, body=body)
    assert response.status_code == 200, response.content
    event = TrackedEvent.objects.for_rooftops([rooftop.id]).get()
    assert (event.type, event.event) == check


def test_a_single_track_without_an_event_name_is_400(client, rooftop):
    response = _post(client, path="/v1/track", body={"anonymousId": "a1"})
    assert response.status_code == 400
    assert "event name" in response.json()["message"]


def test_a_browser_preflight_is_answered_and_answers_carry_cors(client, rooftop):
    preflight = client.options("/v1/batch", HTTP_ORIGIN="https://www.dealer.example",
                               HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                               HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type")
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert "Content-Type" in preflight["Access-Control-Allow-Headers"]
    answer = _post(client, body={"batch": [_track(1)]}, HTTP_ORIGIN="https://www.dealer.example")
    assert answer["Access-Control-Allow-Origin"] == "*"
    refused = _post(client, body={"batch": [_track(1)]}, key="nope", HTTP_ORIGIN="https://www.dealer.example")
    assert refused["Access-Control-Allow-Origin"] == "*"


def test_get_is_405(client, rooftop):
    assert client.get("/v1/batch").status_code == 405


def test_refused_requests_are_kept_for_the_debugger_with_their_reason(client, rooftop):
    bad = _track(1)
    del bad["anonymousId"]
    _post(client, body={"batch": [bad]})
    _post(client, body={"batch": [_track(2, properties={"blob": "x" * MAX_EVENT_BYTES})]})
    recent = rejections_recent(rooftop_id=rooftop.id)
    assert [r["status"] for r in recent] == [413, 400]
    assert "anonymousId or userId is required" in recent[1]["reason"]
    assert recent[1]["preview"].startswith('{"batch"')
    assert recent[1]["path"] == "/v1/batch"


@pytest.mark.parametrize("raw", [
    b'{"batch": [{"type": "track", "event": "x", "anonymousId": "a", "properties": {"n": NaN}}]}',
    b'{"batch": [{"type": "track", "event": "x", "anonymousId": "a", "properties": {"n": 1e999}}]}',
    b'{"batch": [{"type": "track", "event": "x\\u0000", "anonymousId": "a"}]}',
    b'{"batch": [{"type": "track", "event": "x", "anonymousId": "a\\ud800"}]}',
    b'{"batch": [{"type": "track", "event": "x", "anonymousId": "a", "properties": ' + b"[" * 5000 + b"]" * 5000 + b"}]}",
    b'{"batch": [{"type": "track", "event": "x", "anonymousId": "a", "properties": {"n": ' + b"9" * 5000 + b"}}]}",
    # Times at either end of the calendar are stored at the received time: tests/tracking/test_out_of_range_times.py
    b'{"batch": [{"type": "track", "event": "x", "anonymousId": "a", "timestamp": "yesterday"}]}',
    b'{"batch": [{"type": "track", "event": ["x"], "anonymousId": "a"}]}',
    b'{"batch": [{"type": "track", "event": "x", "anonymousId": true}]}',
    b'{"batch": [{"type": "track", "event": "x", "anonymousId": "a", "properties": "str"}]}',
    b'{"batch": [null, 3, "x"]}',
    b'{"batch": [], "sentAt": 5}',
])
def test_hostile_input_gets_a_4xx_never_a_500(client, rooftop, raw):
    response = _post(client, raw=raw)
    assert 400 <= response.status_code < 500, response.content
    assert _stored(rooftop) == 0


def test_visitors_are_upserted_per_anonymous_id(client, rooftop):
    _post(client, body={"batch": [_track(1, "anon-a"), _track(2, "anon-b"), _track(3, "anon-a")]})
    assert sorted(Visitor.objects.for_rooftops([rooftop.id]).values_list("anonymous_id", flat=True)) == [
        "anon-a", "anon-b"]


def test_pool_threads_recording_their_first_refusals_at_once_share_one_redis_client(monkeypatch):
    from tracking import rejections

    made = rejections.redis.Redis.from_url

    def slow_to_make(*args, **kwargs):
        time.sleep(0.02)  # a client takes a moment to make: the threads all arrive meanwhile
        return made(*args, **kwargs)

    monkeypatch.setattr(rejections.redis.Redis, "from_url", slow_to_make)
    rejections._client = None
    start = threading.Barrier(8)
    clients = []

    def first_refusal():
        start.wait()
        clients.append(rejections._redis())

    threads = [threading.Thread(target=first_refusal) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # A client made beside another and dropped was closed on collection, with a connection in use in it.
    assert len({id(client) for client in clients}) == 1
