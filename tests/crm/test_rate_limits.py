"""Rate limits of the public doors (crm/ratelimit.py): per key and per address, 429 with Retry-After, and
open (no limit, no delay) when Redis does not answer."""

import json
import socket
import time

import pytest

from crm import ratelimit
from factories import RooftopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    def set_limits(door, **limits):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, door: limits}
    return set_limits


def _track(client, write_key, address="203.0.113.7", n=0):
    body = {"writeKey": write_key, "event": "asc_pageview", "anonymousId": "a1", "messageId": f"m-{time.time()}-{n}"}
    return client.post("/v1/track", json.dumps(body), content_type="application/json", REMOTE_ADDR=address)


def _retry_after(response) -> int:
    value = int(response["Retry-After"])
    assert 1 <= value <= 60
    return value


def test_the_collector_answers_429_with_retry_after_past_the_per_address_limit(client, limits):
    limits("collector", per_key="1000/60", per_address="3/60")
    rooftop = RooftopFactory(tracking_write_key="wk_rl_addr")
    assert [_track(client, "wk_rl_addr", n=n).status_code for n in range(3)] == [200, 200, 200]
    limited = _track(client, "wk_rl_addr", n=3)
    assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
    _retry_after(limited)
    # Another sender of the same store is not held back by this one.
    assert _track(client, "wk_rl_addr", address="198.51.100.9").status_code == 200
    from tracking.models import TrackedEvent
    assert TrackedEvent.objects.for_rooftops([rooftop.id]).count() == 4  # the limited request stored nothing


def test_the_collector_limits_one_write_key_across_addresses_and_reads_the_key_from_the_body_too(client, limits):
    limits("collector", per_key="2/60", per_address="1000/60")
    RooftopFactory(tracking_write_key="wk_rl_key")
    RooftopFactory(tracking_write_key="wk_rl_other")
    assert _track(client, "wk_rl_key", address="192.0.2.1").status_code == 200
    assert _track(client, "wk_rl_key", address="192.0.2.2").status_code == 200
    assert _track(client, "wk_rl_key", address="192.0.2.3").status_code == 429
    assert _track(client, "wk_rl_other", address="192.0.2.3").status_code == 200


def test_adf_intake_is_limited_per_intake_address(client, limits):
    limits("adf", per_key="2/60", per_address="1000/60")
    rooftop = RooftopFactory()
    url = f"/intake/adf/{rooftop.lead_intake_token}/"
    codes = [client.post(url, b"<not-adf/>", content_type="application/xml", REMOTE_ADDR=f"192.0.2.{n}").status_code
             for n in range(3)]
    assert codes == [201, 201, 429]  # an unreadable document is kept for review (201 needs_review)
    response = client.post(url, b"<x/>", content_type="application/xml", REMOTE_ADDR="192.0.2.9")
    _retry_after(response)
    assert response.json()["status"] == "rejected"


def test_the_sms_webhook_is_limited_per_address_before_the_signature_is_checked(client, limits):
    limits("sms", per_key="1000/60", per_address="2/60")
    post = lambda: client.post("/webhooks/sms/inbound/", {"MessageSid": "SM1", "From": "+16175550142",  # noqa: E731
                                                          "To": "+16175550100", "Body": "hi"},
                               HTTP_X_TWILIO_SIGNATURE="forged", REMOTE_ADDR="203.0.113.50")
    assert [post().status_code for _ in range(3)] == [403, 403, 429]
    _retry_after(post())


def test_with_redis_not_answering_the_doors_stay_open_and_fast(client, limits, settings):
    limits("collector", per_key="1/60", per_address="1/60")
    RooftopFactory(tracking_write_key="wk_rl_down")
    # A listening socket that never answers: a hung Redis, as far as the limiter can tell.
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(16)
    settings.CACHE_URL = f"redis://127.0.0.1:{hung.getsockname()[1]}/0"
    ratelimit._client.clear()
    try:
        started = time.monotonic()
        codes = [_track(client, "wk_rl_down", n=n).status_code for n in range(5)]
        elapsed = time.monotonic() - started
    finally:
        hung.close()
        ratelimit._client.clear()
    assert codes == [200] * 5  # over the limit, but the limit cannot be counted: fail open
    assert ratelimit.breaker.is_open()
    assert elapsed < 2.0  # one short timeout, then the breaker skips Redis
