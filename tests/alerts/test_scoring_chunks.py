"""A drainer's chunk of shoppers scored together (alerts.services.visitors_score_events), against PostgreSQL."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert, ShopperIntent
from alerts import services
from alerts.services import visitor_score_events, visitors_score_events
from factories import InventoryVehicleFactory, make_customer
from shopper_events import identify, send, track, vdp
from tracking.models import TrackedEvent
from tracking.services import scoring_left_to_sweep

pytestmark = pytest.mark.django_db


def _browsing(anonymous_id: str, vehicle) -> list[dict]:
    return [track("asc_pageview", anonymous_id=anonymous_id, page_type="home"),
            vdp(vehicle, anonymous_id=anonymous_id)]


def _visitor_id(rooftop, anonymous_id: str) -> int:
    return TrackedEvent.objects.for_rooftops([rooftop.id]).filter(visitor__anonymous_id=anonymous_id) \
        .values_list("visitor_id", flat=True).first()


def test_a_chunk_of_known_and_new_shoppers_shares_its_locks_and_transaction(world, django_assert_max_num_queries):
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop)
    known = [f"known-{n}" for n in range(3)]
    for anonymous_id in known:
        send(world.rooftop, _browsing(anonymous_id, vehicle))
        visitor_score_events(visitor_id=_visitor_id(world.rooftop, anonymous_id))
    fresh = [f"fresh-{n}" for n in range(3)]
    for anonymous_id in known + fresh:
        send(world.rooftop, _browsing(anonymous_id, vehicle))
    ids = [_visitor_id(world.rooftop, a) for a in known + fresh]
    # One transaction: its start and end, one statement locking the six intents, one making the three new ones
    # and one locking those; one read for all six, then a write per shopper. One at a time it was 5 each, 7 for a
    # new one; with a read per shopper, 17.
    with django_assert_max_num_queries(2 + 3 + 1 + len(ids)):
        outcomes = visitors_score_events(visitor_ids=ids)
    assert [(o.visitor_id, o.events_scored) for o in outcomes] == [(v, 2) for v in ids]
    counts = dict(ShopperIntent.unscoped.filter(visitor_id__in=ids).values_list("visitor_id", "event_count"))
    assert counts == {v: (4 if n < 3 else 2) for n, v in enumerate(ids)}
    assert not TrackedEvent.objects.for_rooftops([world.rooftop.id]).filter(scored_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)  # real commits: the push runs after its own transaction's
def test_a_shopper_whose_events_raise_an_alert_is_written_and_pushed_first_and_the_rest_after(world, monkeypatch):
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop)
    customer = make_customer(world.rooftop, first_name="Avery")
    identify(world.rooftop, "alerting", customer)
    start = timezone.now() - timedelta(minutes=20)
    with scoring_left_to_sweep():
        send(world.rooftop, [vdp(vehicle, at=start + timedelta(minutes=i), anonymous_id="alerting") for i in range(4)])
        for anonymous_id in ("before", "after-1", "after-2"):
            send(world.rooftop, _browsing(anonymous_id, vehicle))
    ids = [_visitor_id(world.rooftop, a) for a in ("before", "alerting", "after-1", "after-2")]
    happened = []
    real_write = services._fold_write
    monkeypatch.setattr(services, "_fold_write", lambda fold, **kw: happened.append(fold.visitor_id)
                        or real_write(fold, **kw))
    # The push itself is not this test's (test_live_delivery.py): here only when it happens.
    monkeypatch.setattr(services, "alert_push", lambda **kw: happened.append("pushed"))
    outcomes = visitors_score_events(visitor_ids=ids)
    # Read together, the alerting shopper is written first, alone: committed and pushed before the others' writes.
    assert happened == [ids[1], "pushed", ids[0], ids[2], ids[3]]
    assert [o.visitor_id for o in outcomes] == [ids[1], ids[0], ids[2], ids[3]]
    assert [bool(o.alert_ids) for o in outcomes] == [True, False, False, False]
    assert Alert.unscoped.filter(customer=customer, parent__isnull=True).count() == 1
    assert not TrackedEvent.objects.for_rooftops([world.rooftop.id]).filter(scored_at__isnull=True).exists()
