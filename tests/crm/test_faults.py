"""Faults with the real services: Redis stopped and Redis frozen (SIGSTOP) while events arrive, a Celery worker
killed mid-send, PostgreSQL unreachable. Each test runs its own redis-server (or TCP proxy) so stopping it
harms no other test; uvicorn and the Celery worker run as real child processes on the test database."""

from __future__ import annotations

import base64
import json
import signal
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from alerts.models import Alert, ShopperIntent
from factories import InventoryVehicleFactory, add_contact, make_customer
from fake_twilio import FakeTwilio
from rooftops.services import api_token_create
from support import FeedClient, four_looks, free_port, subprocess_env
from support import celery_client as _celery_client
from support import kill_group as _kill
from support import uvicorn_start as _uvicorn
from support import wait_until as _wait_until
from support import worker_start as _worker
from tracking.models import TrackedEvent, Visitor

pytestmark = pytest.mark.django_db(transaction=True)

FAULT_SECONDS = 6  # how long Redis is stopped or frozen while events keep arriving
ANSWER_WITHIN = 1.0  # the collector's bound during a fault




def _shoppers(world, count: int) -> list[tuple[str, object]]:
    shoppers = []
    for n in range(count):
        customer = make_customer(world.rooftop, first_name=f"Fault{n}")
        add_contact(customer, email=f"fault{n}@example.com")
        vehicle = InventoryVehicleFactory(rooftop=world.rooftop)
        Visitor.unscoped.create(rooftop=world.rooftop, anonymous_id=f"fault-{n}", customer=customer,
                                identified_at=timezone.now())
        shoppers.append((f"fault-{n}", vehicle))
    return shoppers


def _post_batch(base_url: str, write_key: str, batch: list[dict], timeout: float = 4.0) -> tuple[int, float, dict]:
    """POST /v1/batch as a Segment client with its 4-second timeout; (status, seconds, headers)."""
    body = json.dumps({"batch": batch, "sentAt": timezone.now().isoformat()}).encode()
    request = urllib.request.Request(f"{base_url}/v1/batch", data=body, method="POST", headers={
        "Content-Type": "application/json", "Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, time.monotonic() - started, {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as exc:
        return exc.code, time.monotonic() - started, {k.lower(): v for k, v in exc.headers.items()}


# --------------------------------------------------------------------------- Redis stopped / frozen


@pytest.mark.parametrize("fault", ["stopped", "frozen"])
def test_while_redis_is_away_the_collector_answers_at_once_and_afterwards_every_alert_reaches_the_feed(
        world, redis_server, tmp_path, fault):
    world.rooftop.tracking_write_key = f"wk_fault_{fault}"
    world.rooftop.save(update_fields=["tracking_write_key"])
    key = api_token_create(user=world.bdc, name="feed")[1]
    shoppers = _shoppers(world, 1 + int(FAULT_SECONDS / 0.5))
    connection.close()
    env = {**subprocess_env(), "REDIS_URL": redis_server.url, "ALERT_FEED_LIVENESS_SECONDS": "1",
           "HANDOFF_BREAKER_SECONDS": "2"}
    log = tmp_path / "servers.log"
    web, base_url = _uvicorn(env, log)
    worker = _worker(env, log)
    feed = FeedClient(f"ws://{base_url.removeprefix('http://')}/ws/alerts/?token={key}")
    listener = threading.Thread(target=feed.run, daemon=True)
    latencies: list[float] = []
    try:
        listener.start()
        _wait_until(lambda: feed.connects, timeout=15, what="the feed to connect")
        # Redis up: the first shopper's alert arrives live.
        status, seconds, _ = _post_batch(base_url, world.rooftop.tracking_write_key, four_looks(*shoppers[0], 0))
        assert status == 200
        _wait_until(lambda: feed.alert_ids, timeout=30, what="the first alert on the feed")

        redis_server.freeze() if fault == "frozen" else redis_server.stop()
        away_since = time.monotonic()
        for n, shopper in enumerate(shoppers[1:], start=1):
            status, seconds, _ = _post_batch(base_url, world.rooftop.tracking_write_key, four_looks(*shopper, n))
            latencies.append(seconds)
            assert status == 200, f"event batch {n} answered {status} while Redis was {fault}"
            time.sleep(max(0.0, away_since + n * 0.5 - time.monotonic()))
        redis_server.thaw() if fault == "frozen" else redis_server.start()

        # Every event was stored while Redis was away.
        events = TrackedEvent.objects.for_rooftops([world.rooftop.id])
        assert events.count() == 4 * len(shoppers)
        # Beat's sweep scores what was stored (events older than 5 s); run it through the worker as beat would.
        sweeper = _celery_client(redis_server.url)

        def all_scored() -> bool:
            if not events.filter(scored_at__isnull=True).exists():
                return True
            try:
                sweeper.send_task("alerts.tasks.sweep", queue="celery")
            except Exception:  # noqa: BLE001 - the broker is still coming back
                pass
            return False

        _wait_until(all_scored, timeout=45, every=1.5, what="the sweep to score every stored event")
        # Each event scored once: every shopper's intent counted exactly their four looks.
        counts = dict(ShopperIntent.objects.across_rooftops().filter(visitor__rooftop=world.rooftop)
                      .values_list("visitor__anonymous_id", "event_count"))
        assert counts == {anonymous_id: 4 for anonymous_id, _ in shoppers}
        def one_alert_per_shopper() -> set[int] | None:
            ids = set(Alert.unscoped.filter(rooftop=world.rooftop, parent__isnull=True).values_list("id", flat=True))
            return ids if len(ids) == len(shoppers) else None

        roots = _wait_until(one_alert_per_shopper, timeout=30, what="one alert per shopper")
        # ... and every alert reached the open feed (it closed when its layer failed, reconnected and replayed).
        _wait_until(lambda: roots <= feed.root_ids, timeout=45, what="every alert on the feed")
        assert feed.connects >= 2, "the feed never noticed that its channel layer had failed"
    finally:
        feed.stopping.set()
        listener.join(5)
        _kill(worker)
        _kill(web)
        connection.close()
    worst = max(latencies)
    print(f"\nRedis {fault} {FAULT_SECONDS} s: {len(latencies)} batches, collector answered in "
          f"p50 {sorted(latencies)[len(latencies) // 2] * 1000:.0f} ms, max {worst * 1000:.0f} ms; "
          f"feed close codes {feed.close_codes[:6]}, connects {feed.connects}")
    assert worst < ANSWER_WITHIN, f"the collector took {worst:.2f} s while Redis was {fault}"


# --------------------------------------------------------------------------- a worker killed mid-task


def test_a_worker_killed_while_sending_a_text_runs_the_task_again_and_the_text_arrives_once(
        world, redis_server, tmp_path, settings, monkeypatch):
    from crm import outbox
    from customers.messaging import outbound_message_queue
    from customers.models import ConsentRecord, OutboundMessage

    fake = FakeTwilio().start()
    fake.answer_gate = threading.Event()
    settings.MESSAGING_QUIET_HOURS_CHANNELS = []  # whatever the hour the test runs at
    customer = make_customer(world.rooftop, first_name="Pat")
    add_contact(customer, phone="+16175550142")
    ConsentRecord.objects.create(customer=customer, dealer_group=customer.dealer_group, channel="sms",
                                 purpose="transactional", granted=True, source="web form", recorded_at=timezone.now())
    # The in-process hint would go to the suite's broker; this test publishes to its own Redis below.
    monkeypatch.setattr(outbox, "hand_off", lambda publish, what: False)  # messaging hands over through crm.outbox
    message = outbound_message_queue(customer=customer, rooftop=world.rooftop, channel="sms", kind="staff",
                                     to_address="+16175550142", body="Your RAV4 is ready.", idempotency_key="kill-1",
                                     now=timezone.now())
    connection.close()
    env = {**subprocess_env(), "REDIS_URL": redis_server.url, "SMS_BACKEND": "customers.sms.TwilioSmsBackend",
           "TWILIO_ACCOUNT_SID": fake.account_sid, "TWILIO_AUTH_TOKEN": fake.auth_token,
           "TWILIO_FROM_NUMBER": "+16175550100", "TWILIO_API_BASE": fake.base_url, "SMS_HTTP_TIMEOUT_SECONDS": "20",
           "MESSAGING_QUIET_HOURS_CHANNELS": "", "MESSAGING_SEND_LEASE_SECONDS": "2",
           "CELERY_VISIBILITY_TIMEOUT_SECONDS": "3", "CELERY_UNACKED_RESTORE_INTERVAL_SECONDS": "1"}
    log = tmp_path / "workers.log"
    first = _worker(env, log, queues="messages", concurrency=1)
    second = None
    try:
        _celery_client(redis_server.url).send_task("customers.tasks.send_outbound_message", args=[message.pk],
                                                   queue="messages")
        _wait_until(lambda: fake.requests, timeout=30, what="the worker to hand the text to the provider")
        _kill(first, signal.SIGKILL)  # mid-request: the provider took the text, the worker never heard back
        fake.answer_gate.set()
        second = _worker(env, log, queues="messages", concurrency=1)
        # No beat runs here: only the broker's redelivery of the unacknowledged task can send it again.
        _wait_until(lambda: len(fake.requests) >= 2, timeout=40, what="the task to run again on the new worker")
        message.refresh_from_db()
        _wait_until(lambda: (message.refresh_from_db(), message.status)[1] == "sent", timeout=10, what="sent")
    finally:
        fake.answer_gate.set()
        _kill(first, signal.SIGKILL)
        if second is not None:
            _kill(second)
        fake.stop()
        connection.close()
    assert len(fake.requests) == 2 and len({r["key"] for r in fake.requests}) == 1  # the same idempotency key
    assert len(fake.delivered) == 1  # the customer got one text
    assert message.attempts == 2 and message.provider_id == fake.delivered[0]["sid"]
    assert OutboundMessage.unscoped.filter(customer=customer).count() == 1


# --------------------------------------------------------------------------- PostgreSQL unreachable


class PostgresProxy:
    """A TCP front for the test database's Unix socket that can be cut (PostgreSQL unreachable) and restored."""

    def __init__(self, unix_path: str):
        self.unix_path = unix_path
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.open_sockets: list[socket.socket] = []
        self.lock = threading.Lock()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        with self.lock:
            if self.listener is not None:
                self.listener.close()
                self.listener = None
            for sock in self.open_sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self.open_sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            try:
                upstream.connect(self.unix_path)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open_sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def test_with_postgresql_unreachable_doors_answer_503_with_retry_after_and_a_retried_batch_is_stored_once(
        world, tmp_path):
    db = settings.DATABASES["default"]
    if not (db.get("HOST") or "").startswith("/"):
        pytest.skip("the proxy fronts PostgreSQL's Unix socket (the embedded server's)")
    proxy = PostgresProxy(f"{db['HOST']}/.s.PGSQL.{db.get('PORT') or 5432}")
    proxy.open()
    world.rooftop.tracking_write_key = "wk_fault_pg"
    world.rooftop.save(update_fields=["tracking_write_key"])
    key = api_token_create(user=world.manager, name="api")[1]
    connection.close()
    env = {**subprocess_env(), "DATABASE_URL": f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}",
           "DB_POOL_TIMEOUT_SECONDS": "1.5", "DB_CONNECT_TIMEOUT_SECONDS": "2"}
    log = tmp_path / "web.log"
    web, base_url = _uvicorn(env, log)
    batch = [{"type": "track", "event": "asc_pageview", "anonymousId": "pg-1", "messageId": f"pg-{n}"}
             for n in range(3)]

    def api_get() -> tuple[int, dict, bytes]:
        request = urllib.request.Request(f"{base_url}/api/events/", headers={"Authorization": f"Token {key}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()

    try:
        assert api_get()[0] == 200
        proxy.close()
        status, seconds, headers = _post_batch(base_url, "wk_fault_pg", batch, timeout=10)
        assert (status, headers.get("retry-after")) == (503, "5")
        assert seconds < 4
        status, headers, body = api_get()
        assert (status, headers.get("retry-after")) == (503, "5"), body
        assert b"Traceback" not in body and json.loads(body)["code"] == "unavailable"
        time.sleep(1)
        proxy.open()
        # The sender retries the same batch until it is taken; the messageIds store each event once.
        _wait_until(lambda: _post_batch(base_url, "wk_fault_pg", batch, timeout=10)[0] == 200, timeout=30,
                    every=1, what="PostgreSQL to be reachable again")
        assert _post_batch(base_url, "wk_fault_pg", batch)[0] == 200
    finally:
        _kill(web)
        proxy.close()
    stored = TrackedEvent.objects.for_rooftops([world.rooftop.id])
    assert sorted(stored.values_list("message_id", flat=True)) == ["pg-0", "pg-1", "pg-2"]
    assert "Traceback" not in log.read_text()
