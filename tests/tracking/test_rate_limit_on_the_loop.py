"""The collector's rate limits under ASGI: checked on the event loop (crm.ratelimit.retry_after_async) with the
same counts as the thread's check, answered 429 through the real server, and open when Redis does not answer."""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import socket
import time
import uuid
from urllib.parse import urlsplit

import pytest

from crm import ratelimit
from crm.ratelimit import retry_after, retry_after_async
from factories import RooftopFactory


@pytest.fixture
def collector_limits(settings):
    def set_limits(**limits):
        settings.RATE_LIMIT_ENABLED = True
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "collector": limits}
    ratelimit.breaker.reset()
    yield set_limits
    ratelimit.breaker.reset()


# Plain tests around asyncio.run, as elsewhere here: the browser run loads no pytest-asyncio (-p no:asyncio), and
# an asyncio mark would fail its collection.
def test_the_loops_check_counts_in_the_same_windows_as_the_threads_check(collector_limits):
    collector_limits(per_key="3/60", per_address="1000/60")
    key, now = f"wk-loop-{uuid.uuid4().hex}", time.time()

    async def on_the_loop(k):
        return await retry_after_async("collector", key=k, address=None, now=now)

    assert [asyncio.run(on_the_loop(key)) for _ in range(2)] == [None, None]
    assert retry_after("collector", key=key, address=None, now=now) is None  # the third, counted by the thread
    wait = asyncio.run(on_the_loop(key))
    assert wait is not None and 1 <= wait <= 60
    # Another key is not held back by this one.
    assert asyncio.run(on_the_loop(key + "-other")) is None


def test_with_redis_not_answering_the_loops_check_lets_requests_through_quickly(collector_limits, settings):
    collector_limits(per_key="1/60", per_address="1/60")
    hung = socket.socket()  # accepts connections, never answers: a hung Redis
    hung.bind(("127.0.0.1", 0))
    hung.listen(16)
    settings.CACHE_URL = f"redis://127.0.0.1:{hung.getsockname()[1]}/0"
    ratelimit._async_clients.clear()
    async def five_checks():
        return [await retry_after_async("collector", key="wk-hung", address="192.0.2.1") for _ in range(5)]

    try:
        started = time.monotonic()
        waits = asyncio.run(five_checks())
        elapsed = time.monotonic() - started
    finally:
        hung.close()
        ratelimit._async_clients.clear()
    assert waits == [None] * 5  # over the limit, but it cannot be counted: open
    assert ratelimit.breaker.is_open()
    assert elapsed < 2.0  # one short timeout, then the breaker skips Redis


@pytest.mark.django_db(transaction=True)
def test_through_the_asgi_server_a_write_key_past_its_limit_is_answered_429_with_retry_after(start_live_server):
    key = f"wk_loop_{uuid.uuid4().hex[:12]}"
    RooftopFactory(tracking_write_key=key)
    url = urlsplit(start_live_server(RATE_LIMIT_ENABLED="true", RATE_LIMIT_COLLECTOR_PER_KEY="2/3600",
                                     RATE_LIMIT_COLLECTOR_PER_ADDRESS="100000/60"))
    answers = []
    for n in range(3):
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        conn.request("POST", "/v1/track", body=json.dumps({"event": "asc_pageview", "anonymousId": "loop-a",
                                                           "messageId": f"loop-{n}"}),
                     headers={"Content-Type": "application/json",
                              "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()})
        response = conn.getresponse()
        answers.append((response.status, response.getheader("Retry-After"), json.loads(response.read())))
        conn.close()
    assert [status for status, _, _ in answers] == [200, 200, 429]
    status, retry, body = answers[2]
    assert body["code"] == "rate_limited" and 1 <= int(retry) <= 3600
