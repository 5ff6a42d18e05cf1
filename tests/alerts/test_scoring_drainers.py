"""Coalesced scoring (alerts/pending.py, alerts.tasks.score_pending) with the real Redis, PostgreSQL and worker:
stored shoppers wait in their shard's pending set and one drainer per shard scores them; no beat sweep runs here,
so a hint that was stranded would leave events unscored and fail the test."""

from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from alerts import pending, tasks
from alerts.coalescing import CHUNK, drainer_key, pending_key, shard_of
from alerts.models import Alert, ShopperIntent
from crm import handoff
from factories import InventoryVehicleFactory, make_customer
from shopper_events import identify, send, vdp, views
from support import wait_until
from tracking.models import TrackedEvent


def _shoppers(world, count: int, prefix: str):
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop)
    made = []
    for n in range(count):
        customer = make_customer(world.rooftop, first_name=f"{prefix.title()}{n}")
        made.append((f"{prefix}-{n}", customer, identify(world.rooftop, f"{prefix}-{n}", customer)))
    return vehicle, made


def _all_scored(rooftop) -> bool:
    return not TrackedEvent.objects.for_rooftops([rooftop.id]).filter(scored_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_many_shoppers_batches_is_all_scored_and_each_alert_raised_once(world, celery_worker):
    vehicle, shoppers = _shoppers(world, 30, "burst")
    start = timezone.now() - timedelta(minutes=30)
    # Everyone's first two looks at the car, then everyone's last two: 60 batches, one hint each, in a burst.
    for half in (0, 1):
        for anonymous_id, _, _ in shoppers:
            send(world.rooftop, [vdp(vehicle, at=start + timedelta(minutes=2 * half + i), anonymous_id=anonymous_id)
                                 for i in range(2)])
    assert handoff.flush()

    wait_until(lambda: _all_scored(world.rooftop), timeout=90, what="every stored event scored by the drainers")
    counts = dict(ShopperIntent.unscoped.filter(rooftop=world.rooftop)
                  .values_list("visitor__anonymous_id", "event_count"))
    assert counts == {anonymous_id: 4 for anonymous_id, _, _ in shoppers}
    roots = Counter(Alert.unscoped.filter(rooftop=world.rooftop, parent__isnull=True)
                    .values_list("customer_id", flat=True))
    assert roots == {customer.id: 1 for _, customer, _ in shoppers}
    # Every drainer handed its shard back once the sets were empty.
    wait_until(lambda: not any(pending._redis().exists(drainer_key(s), pending_key(s))
                               for s in range(settings.SCORING_DRAINERS)),
               timeout=15, what="the drainers to release their shards")


@pytest.mark.django_db(transaction=True)
def test_a_shoppers_batches_are_scored_in_the_order_they_were_stored(world, celery_worker):
    vehicle, shoppers = _shoppers(world, 8, "order")
    anonymous_id, customer, visitor = shoppers[0]
    start = timezone.now() - timedelta(minutes=30)
    # Six batches of one look each from our shopper, others' batches between them.
    for n in range(6):
        send(world.rooftop, [vdp(vehicle, at=start + timedelta(minutes=n), anonymous_id=anonymous_id)])
        for other, _, _ in shoppers[1:]:
            send(world.rooftop, [vdp(vehicle, at=start + timedelta(minutes=n, seconds=1), anonymous_id=other)])
    assert handoff.flush()

    wait_until(lambda: _all_scored(world.rooftop), timeout=90, what="every stored event scored by the drainers")
    events = list(TrackedEvent.objects.for_rooftops([world.rooftop.id]).filter(visitor=visitor)
                  .order_by("id").values_list("occurred_at", "scored_at"))
    assert len(events) == 6
    scored = [scored_at for _, scored_at in events]
    assert scored == sorted(scored), "a later batch of the shopper was scored before an earlier one"
    intent = ShopperIntent.unscoped.get(visitor=visitor)
    assert intent.event_count == 6 and intent.last_event_at == events[-1][0]
    assert Alert.unscoped.filter(customer=customer, parent__isnull=True).count() == 1


@pytest.mark.django_db
def test_a_hint_landing_while_the_drainer_finishes_is_scored_by_that_drainer(
        world, shopper, monkeypatch, django_capture_on_commit_callbacks):
    shard = shard_of(shopper.visitor.id, settings.SCORING_DRAINERS)
    token = 4242
    assert pending.claim(shard, token)  # the shard's drainer, about to find its set empty
    real_take = pending.take
    landed = []

    def take(shard_taken: int, count: int = CHUNK) -> list[int]:
        taken = real_take(shard_taken, count)
        if not landed:
            # Between "nothing left" and handing the shard back, the shopper's four looks are stored: their hint
            # finds the shard held, so it publishes no drainer of its own.
            assert taken == []
            with django_capture_on_commit_callbacks(execute=True):
                send(world.rooftop, views(shopper, 4))
            assert handoff.flush()
            assert pending._redis().zscore(pending_key(shard), shopper.visitor.id) is not None
            assert pending._redis().get(drainer_key(shard)) == b"4242"
            landed.append(True)
        return taken

    monkeypatch.setattr(pending, "take", take)
    assert tasks.score_pending.apply(args=[shard, token]).get() == 4
    assert Alert.unscoped.filter(customer=shopper.customer, parent__isnull=True).count() == 1
    assert not pending._redis().exists(drainer_key(shard), pending_key(shard))


@pytest.mark.django_db
def test_a_hint_for_a_held_shard_publishes_no_second_drainer_and_a_stale_drainer_steps_aside(world, shopper):
    shard = shard_of(shopper.visitor.id, settings.SCORING_DRAINERS)
    [(hinted_shard, token)] = pending.hint([shopper.visitor.id], now=1.0)
    assert hinted_shard == shard
    assert pending.hint([shopper.visitor.id], now=2.0) == []  # held: the drainer already published will see it
    assert tasks.score_pending.apply(args=[shard, token + 1]).get() == 0  # not its hold: it leaves the set alone
    assert pending._redis().zscore(pending_key(shard), shopper.visitor.id) == 1.0  # waiting since the first hint


@pytest.mark.django_db(transaction=True)
def test_a_scoring_task_queued_by_the_older_release_is_still_run_by_the_worker(world, shopper, celery_worker):
    from crm.celery import app
    from tracking.services import scoring_left_to_sweep

    with scoring_left_to_sweep():  # stored without a hint: only the old-style message will score them
        send(world.rooftop, views(shopper, 4))
    # As a worker of the previous release finds it in Redis at upgrade time: one task per visitor, by name.
    app.send_task("alerts.tasks.score_visitor_events", args=[shopper.visitor.id])
    wait_until(lambda: _all_scored(world.rooftop), timeout=60, what="the old-style task to score the shopper")
    assert ShopperIntent.unscoped.get(visitor=shopper.visitor).event_count == 4
    assert Alert.unscoped.filter(customer=shopper.customer, parent__isnull=True).count() == 1
