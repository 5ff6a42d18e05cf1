"""Group commit under real uvicorn: concurrent requests share one transaction, each is answered only after
its rows are committed, a bad request is answered alone, and a database error fails its whole group.

To make a group deterministic the test holds a lock on tracking_receivedmessage from its own connection: the
committer's first insert waits on it, the requests arriving meanwhile queue behind it, and releasing the lock
lets them through as one group (tracking.group_commit)."""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time
from urllib.parse import urlsplit

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from factories import RooftopFactory
from support import wait_until
from tracking.models import TrackedEvent
from tracking.rejections import rejections_clear, rejections_recent
from tracking.selectors import write_key_cache_clear

pytestmark = pytest.mark.django_db(transaction=True)

# Enough for the requests that arrive behind the lock to reach the committer's queue (they are parsed and
# checked first); not a speed assertion: a slower machine only makes the group smaller, never wrong.
QUEUE_SETTLE_SECONDS = 1.0


def _connect() -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(host=db["HOST"] or None, port=db.get("PORT") or None, user=db["USER"],
                           dbname=db["NAME"], password=db.get("PASSWORD") or None)


class _Lock:
    """Holds tracking_receivedmessage against inserts until released: the committer waits inside its group."""

    def __init__(self):
        self.conn = _connect()
        self.conn.execute("LOCK TABLE tracking_receivedmessage IN SHARE ROW EXCLUSIVE MODE")

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()


def _committer_waiting() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                       " AND wait_event_type = 'Lock' AND query LIKE '%%tracking_receivedmessage%%'")
        return cursor.fetchone()[0] > 0


class _Sender(threading.Thread):
    """One POST; on its answer, looks at once (its own connection) whether its messages are committed."""

    def __init__(self, base_url: str, path: str, body: dict, key: str, message_ids: list[str]):
        super().__init__()
        self.url = urlsplit(base_url)
        self.path, self.body, self.key, self.message_ids = path, body, key, message_ids
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.answer: dict = {}
        self.visible_at_answer: int | None = None
        self.answered_at: float | None = None

    def run(self) -> None:
        conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=30)
        conn.request("POST", self.path, body=json.dumps(self.body), headers={
            "Content-Type": "application/json",
            "Authorization": "Basic " + base64.b64encode(f"{self.key}:".encode()).decode()})
        response = conn.getresponse()
        self.answer = json.loads(response.read() or b"{}")
        self.status, self.answered_at = response.status, time.monotonic()
        self.headers = {k.lower(): v for k, v in response.getheaders()}
        conn.close()
        with _connect() as db:
            self.visible_at_answer = db.execute("SELECT count(*) FROM tracking_event WHERE message_id = ANY(%s)",
                                                [self.message_ids]).fetchone()[0]


def _track(message_id: str, anonymous_id: str = "group-anon", **extra) -> dict:
    return {"event": "asc_item_pageview", "anonymousId": anonymous_id, "messageId": message_id,
            "properties": {"item_id": "2T3P1RFV0RC000001"}, **extra}


def _send(base_url: str, key: str, body: dict, message_ids: list[str], path: str = "/v1/track") -> _Sender:
    sender = _Sender(base_url, path, body, key, message_ids)
    sender.start()
    return sender


@pytest.fixture
def server(start_live_server):
    write_key_cache_clear()
    # Other tests of the session send from the same loopback address within the same minute.
    return start_live_server(RATE_LIMIT_COLLECTOR_PER_ADDRESS="100000/60", RATE_LIMIT_COLLECTOR_PER_KEY="100000/60")


def _stored(message_ids: list[str]) -> list[str]:
    return sorted(TrackedEvent.objects.across_rooftops().filter(message_id__in=message_ids)
                  .values_list("message_id", flat=True))


def test_concurrent_single_events_are_committed_together_each_once_and_answered_only_after_commit(server):
    rooftop = RooftopFactory(tracking_write_key="wk_group")
    lock = _Lock()
    try:
        opener = _send(server, "wk_group", _track("g-open"), ["g-open"])
        wait_until(_committer_waiting, timeout=15, what="the committer to wait on the lock")
        ids = [f"g-{n}" for n in range(30)]
        # Ten of them are also retried at the same moment (a client that timed out): stored once all the same.
        senders = [_send(server, "wk_group", _track(i, anonymous_id=f"group-anon-{n % 5}"), [i])
                   for n, i in enumerate(ids + ids[:10])]
        time.sleep(QUEUE_SETTLE_SECONDS)
        # Nothing is committed while the lock is held, so nobody may have been answered yet.
        assert [s.status for s in [opener, *senders] if s.status is not None] == []
    finally:
        lock.release()
    for sender in [opener, *senders]:
        sender.join(timeout=30)
    assert [s.status for s in [opener, *senders]] == [200] * 41
    # Each answer came after its row was visible to another connection, i.e. after COMMIT.
    assert [s.visible_at_answer for s in [opener, *senders]] == [1] * 41
    assert _stored(["g-open", *ids]) == sorted(["g-open", *ids])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT xmin::text) FROM tracking_event WHERE rooftop_id = %s AND message_id"
                       " = ANY(%s)", [rooftop.id, ids])
        transactions = cursor.fetchone()[0]
    # The thirty requests queued behind the lock shared transactions (one each would be 30).
    assert transactions < len(ids) / 2


def test_a_bad_request_amid_good_ones_gets_its_own_4xx_and_rejection_while_the_others_store(server):
    rooftop = RooftopFactory(tracking_write_key="wk_group_bad")
    rejections_clear(rooftop_id=rooftop.id)
    lock = _Lock()
    try:
        opener = _send(server, "wk_group_bad", _track("b-open"), ["b-open"])
        wait_until(_committer_waiting, timeout=15, what="the committer to wait on the lock")
        good = [_send(server, "wk_group_bad", _track(f"b-{n}"), [f"b-{n}"]) for n in range(10)]
        nameless = _track("b-bad")
        del nameless["event"]
        bad = _send(server, "wk_group_bad", nameless, ["b-bad"])
        half_bad_batch = _send(server, "wk_group_bad", {"batch": [
            {"type": "track", **_track("b-batch-1")}, {"type": "track", **_track("b-batch-2"), "properties": []}]},
            ["b-batch-1", "b-batch-2"], path="/v1/batch")
        # Refused before they could join a group: answered while the good ones still wait for the lock.
        bad.join(timeout=15)
        half_bad_batch.join(timeout=15)
        assert (bad.status, half_bad_batch.status) == (400, 400)
        assert all(s.status is None for s in [opener, *good])
    finally:
        lock.release()
    for sender in [opener, *good]:
        sender.join(timeout=30)
    assert [s.status for s in [opener, *good]] == [200] * 11
    assert bad.answer["message"] == "the message: track needs an event name; nothing was stored"
    assert half_bad_batch.answer["errors"] == [{"index": 1, "reason": "properties must be a JSON object"}]
    assert _stored(["b-open", "b-bad", "b-batch-1", "b-batch-2", *[f"b-{n}" for n in range(10)]]) == sorted(
        ["b-open", *[f"b-{n}" for n in range(10)]])
    assert sorted(r["status"] for r in rejections_recent(rooftop_id=rooftop.id)) == [400, 400]


def test_a_database_error_mid_group_fails_that_whole_group_with_503_and_stores_none_of_it(server, world):
    first, second = sorted([world.rooftop, world.other_rooftop], key=lambda r: r.id)
    first.tracking_write_key, second.tracking_write_key = "wk_group_a", "wk_group_b"
    first.save(update_fields=["tracking_write_key"])
    second.save(update_fields=["tracking_write_key"])
    with connection.cursor() as cursor:
        # A real PostgreSQL error inside the group's transaction, after the first rooftop's rows are written
        # (rooftops are stored in id order): the poisoned message belongs to the second rooftop.
        cursor.execute("""
            CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.message_id = 'p-poison' THEN RAISE EXCEPTION 'poisoned message'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_poison BEFORE INSERT ON tracking_receivedmessage
                FOR EACH ROW EXECUTE FUNCTION test_poison();
        """)
    try:
        lock = _Lock()
        try:
            opener = _send(server, "wk_group_a", _track("p-open"), ["p-open"])
            wait_until(_committer_waiting, timeout=15, what="the committer to wait on the lock")
            group = [_send(server, "wk_group_a", _track(f"p-a{n}"), [f"p-a{n}"]) for n in range(5)]
            group += [_send(server, "wk_group_b", _track(f"p-b{n}"), [f"p-b{n}"]) for n in range(5)]
            group.append(_send(server, "wk_group_b", _track("p-poison"), ["p-poison"]))
            time.sleep(QUEUE_SETTLE_SECONDS)
        finally:
            lock.release()
        for sender in [opener, *group]:
            sender.join(timeout=30)
        assert opener.status == 200
        assert [(s.status, s.headers.get("retry-after"), s.answer.get("code")) for s in group] == [
            (503, "5", "unavailable")] * 11
        # Nothing half-stored: not the first rooftop's rows either, though they were written before the error.
        assert _stored([m for s in group for m in s.message_ids]) == []
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS test_poison ON tracking_receivedmessage;"
                           " DROP FUNCTION IF EXISTS test_poison()")
    # The senders retry (Segment's clients do on 503); the same messageIds store each event once.
    retries = [_send(server, s.key, _track(s.message_ids[0]), s.message_ids) for s in group]
    for sender in retries:
        sender.join(timeout=30)
    assert [s.status for s in retries] == [200] * 11
    assert _stored([m for s in group for m in s.message_ids]) == sorted(m for s in group for m in s.message_ids)
