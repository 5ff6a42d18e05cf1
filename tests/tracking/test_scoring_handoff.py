"""The hand-off to scoring: `alerts.tasks.score_soon(visitor_ids)`, only after commit, on the hand-off thread.

The hint belongs to the alerts app (it queues the visitors and publishes a drainer on queue "scoring"); here a
stand-in records what the collector hands over, so the contract is checked whether or not that app is installed.
"""

import sys
import types
from datetime import datetime, timezone

import pytest
from django.db import transaction

from crm import handoff
from factories import RooftopFactory, add_contact, make_customer
from tracking.messages import normalize
from tracking.services import events_record

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)


class RecordingHint:
    def __init__(self, fail: bool = False):
        self.calls = []
        self.fail = fail

    def __call__(self, visitor_ids):
        # No task names its own queue: Celery takes the drainer's from the routing table (crm/queues.py), as here.
        from crm.queues import TASK_ROUTES

        if self.fail:
            raise ConnectionError("Redis is down")
        self.calls.append((tuple(visitor_ids), TASK_ROUTES["alerts.tasks.score_pending"]["queue"]))

    @property
    def visitors(self) -> list[int]:
        return sorted(v for ids, _ in self.calls for v in ids)


@pytest.fixture
def scoring(monkeypatch):
    hint = RecordingHint()
    monkeypatch.setitem(sys.modules, "alerts.tasks", types.SimpleNamespace(score_soon=hint))
    return hint


@pytest.fixture
def django_capture_on_commit_callbacks(django_capture_on_commit_callbacks):
    """The callbacks hand the publish to crm.handoff's thread; leaving the block waits until it was done."""
    from contextlib import contextmanager

    @contextmanager
    def capture(**kwargs):
        with django_capture_on_commit_callbacks(**kwargs) as callbacks:
            yield callbacks
        assert handoff.flush()

    return capture


def _messages(*anonymous_ids):
    return [normalize({"type": "track", "event": "asc_pageview", "anonymousId": a, "messageId": f"{a}-{n}"},
                      received_at=NOW) for n, a in enumerate(anonymous_ids)]


def test_each_visitor_of_a_stored_batch_is_queued_once_after_commit(scoring, django_capture_on_commit_callbacks):
    rooftop = RooftopFactory()
    with django_capture_on_commit_callbacks(execute=True):
        result = events_record(rooftop=rooftop, messages=_messages("a", "b", "a"), received_at=NOW)
    assert scoring.visitors == sorted(result.visitor_ids) and len(result.visitor_ids) == 2
    assert [queue for _, queue in scoring.calls] == ["scoring"]  # one hint for the batch


def test_nothing_is_queued_when_the_transaction_rolls_back(scoring, django_capture_on_commit_callbacks):
    rooftop = RooftopFactory()
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                events_record(rooftop=rooftop, messages=_messages("a"), received_at=NOW)
                raise RuntimeError("caller failed after storing")
        except RuntimeError:
            pass
    assert scoring.calls == []


def test_a_retried_batch_queues_nothing_new(scoring, django_capture_on_commit_callbacks):
    rooftop = RooftopFactory()
    events_record(rooftop=rooftop, messages=_messages("a"), received_at=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        events_record(rooftop=rooftop, messages=_messages("a"), received_at=NOW)
    assert scoring.calls == []


def test_a_visitor_joined_to_a_customer_is_queued_once(scoring, django_capture_on_commit_callbacks):
    rooftop = RooftopFactory()
    customer = make_customer(rooftop)
    add_contact(customer, email="q@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        result = events_record(rooftop=rooftop, received_at=NOW, messages=_messages("a") + [normalize(
            {"type": "identify", "anonymousId": "a", "messageId": "i", "traits": {"email": "q@example.com"}},
            received_at=NOW)])
    assert scoring.calls == [((result.visitor_ids[0],), "scoring")]


def test_redis_down_does_not_fail_the_store(monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setitem(sys.modules, "alerts.tasks", types.SimpleNamespace(score_soon=RecordingHint(fail=True)))
    rooftop = RooftopFactory()
    with django_capture_on_commit_callbacks(execute=True):
        result = events_record(rooftop=rooftop, messages=_messages("a"), received_at=NOW)
    assert result.stored == 1  # stored; the sweep of unscored events (alerts app) picks it up later
    assert handoff.breaker.is_open()  # and the next requests skip publishing for a few seconds


def test_while_the_breaker_is_open_nothing_is_tried_and_the_store_answers_at_once(
        scoring, django_capture_on_commit_callbacks):
    handoff.breaker.trip()
    rooftop = RooftopFactory()
    with django_capture_on_commit_callbacks(execute=True):
        result = events_record(rooftop=rooftop, messages=_messages("a"), received_at=NOW)
    assert result.stored == 1 and scoring.calls == []
    handoff.breaker.reset()
    with django_capture_on_commit_callbacks(execute=True):
        events_record(rooftop=rooftop, messages=_messages("b"), received_at=NOW)
    assert len(scoring.calls) == 1


def test_a_bulk_load_leaves_scoring_to_the_sweep_and_queues_nothing(scoring, django_capture_on_commit_callbacks):
    from tracking.models import TrackedEvent
    from tracking.services import scoring_left_to_sweep

    rooftop = RooftopFactory()
    with django_capture_on_commit_callbacks(execute=True), scoring_left_to_sweep():
        events_record(rooftop=rooftop, messages=_messages("a", "b"), received_at=NOW)
    assert scoring.calls == []
    # Stored unscored: exactly what alerts' beat sweep picks up.
    assert TrackedEvent.objects.for_rooftops([rooftop.id]).filter(scored_at__isnull=True).count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        events_record(rooftop=rooftop, messages=_messages("c"), received_at=NOW)
    assert len(scoring.calls) == 1  # outside the block, the hand-off is back
