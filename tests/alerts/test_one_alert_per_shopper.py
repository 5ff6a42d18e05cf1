"""One open alert per shopper per rooftop, through the real scoring path and PostgreSQL (issue: three rows for
one phone call). Signals fold into the open alert; a new alert only after it was closed and the cooldown passed."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from alerts.frames import replay_frames
from alerts.models import Alert
from alerts.scoring import ScoringRules
from alerts.services import alert_dismiss, alert_snooze, scoring_settings_save, visitor_score_events
from factories import InventoryVehicleFactory, make_customer
from rooftops.selectors import staff_access
from shopper_events import identify, send, track, vdp, views
from tracking.models import Visitor

pytestmark = pytest.mark.django_db


def score(visitor_id, **kwargs):
    return visitor_score_events(visitor_id=visitor_id, **kwargs)


def trade_in(shopper, at=None):
    return track("trade_in_calculator_completed", anonymous_id=shopper.anonymous_id, at=at,
                 trade_year=2019, trade_make="Toyota", trade_model="RAV4", trade_value_cents=2_150_000)


def roots(customer):
    return list(Alert.unscoped.filter(customer=customer, parent__isnull=True).order_by("id"))


def burst(world, shopper, start):
    """The shopper of the issue: four looks at one car's page, then the trade-in calculator, scored at once."""
    send(world.rooftop, views(shopper, 4, start=start, step=timedelta(seconds=20)) + [trade_in(shopper, at=start + timedelta(seconds=90))])
    return score(shopper.visitor.id)


def test_views_then_trade_in_then_the_same_again_is_one_alert_whose_reasons_and_priority_rise(world, shopper):
    start = timezone.now() - timedelta(minutes=3)
    first = burst(world, shopper, start)
    second = burst(world, shopper, start + timedelta(seconds=100))
    [root] = roots(shopper.customer)
    history = list(root.follow_ups.order_by("id"))
    assert len(first.alert_ids) + len(second.alert_ids) == 1 + len(history) >= 3
    assert root.state == "new" and root.follow_up_count == len(history)
    assert root.priority == max(a.priority for a in [root, *history]) == Alert.Priority.URGENT
    assert any(r.startswith("Finished the trade-in calculator") for r in root.reasons)
    assert any("times in the last 48 hours" in r for r in root.reasons)
    assert root.score >= max(a.score for a in history)
    # The feed re-notified only where a signal raised the alert's priority.
    running = Alert.Priority.HIGH  # the four views raised the alert at high
    for h in history:
        assert h.priority_rose == (h.priority > running), (h.kind, h.priority, running)
        running = max(running, h.priority)


def test_a_signal_folding_in_says_the_strongest_next_step_and_keeps_the_alert_alive(world, shopper):
    start = timezone.now() - timedelta(hours=2)
    send(world.rooftop, views(shopper, 4, start=start))
    score(shopper.visitor.id)
    [root] = roots(shopper.customer)
    first_expiry = root.expires_at
    send(world.rooftop, [track("credit_application_started", anonymous_id=shopper.anonymous_id)])
    score(shopper.visitor.id)
    root.refresh_from_db()
    assert root.priority == Alert.Priority.URGENT and "credit" in root.reasons[0].lower()
    assert root.kind == "repeat_vdp_views"  # what the alert started as stays, for the dashboards
    assert root.suggested_next_step == root.follow_ups.get().suggested_next_step
    assert root.expires_at > first_expiry


def test_a_new_alert_comes_only_after_the_open_one_is_closed_and_the_kinds_cooldown_passed(world, shopper):
    now = timezone.now()
    send(world.rooftop, views(shopper, 4, start=now - timedelta(minutes=40)))
    score(shopper.visitor.id, now=now)
    [root] = roots(shopper.customer)
    alert_dismiss(alert=root, user=world.bdc, reason="other", note="called, not ready")
    # Inside the cooldown: the signal is kept for the history under the dismissed alert, no new row.
    camry = InventoryVehicleFactory(rooftop=world.rooftop, model="Camry", trim="SE")
    send(world.rooftop, [vdp(camry, anonymous_id=shopper.anonymous_id, at=now - timedelta(minutes=5 - i)) for i in range(4)])
    outcome = score(shopper.visitor.id, now=now)
    assert roots(shopper.customer) == [root]
    assert outcome.alert_ids and all(Alert.unscoped.get(pk=i).parent_id == root.id for i in outcome.alert_ids)
    root.refresh_from_db()
    assert root.state == "dismissed" and root.follow_up_count == len(outcome.alert_ids)
    # A day later the same kind of signal is news again: a new alert.
    later = now + timedelta(hours=25)
    corolla = InventoryVehicleFactory(rooftop=world.rooftop, model="Corolla", trim="LE")
    send(world.rooftop, [vdp(corolla, anonymous_id=shopper.anonymous_id, at=later - timedelta(minutes=4 - i))
                         for i in range(4)], received_at=later)
    score(shopper.visitor.id, now=later)
    assert len(roots(shopper.customer)) == 2 and roots(shopper.customer)[1].state == "new"


def test_a_kind_whose_cooldown_passed_still_folds_while_the_alert_is_open(world, shopper):
    now = timezone.now()
    send(world.rooftop, views(shopper, 4, start=now - timedelta(minutes=40)))
    score(shopper.visitor.id, now=now)
    [root] = roots(shopper.customer)
    send(world.rooftop, [track("credit_application_started", anonymous_id=shopper.anonymous_id)])
    score(shopper.visitor.id)
    assert roots(shopper.customer) == [root]


def test_a_snoozed_alert_wakes_when_a_folded_signal_raises_its_priority(world, shopper):
    send(world.rooftop, views(shopper, 4))
    score(shopper.visitor.id)
    [root] = roots(shopper.customer)
    alert_snooze(alert=root, user=world.bdc, until=timezone.now() + timedelta(hours=1))
    send(world.rooftop, [track("credit_application_started", anonymous_id=shopper.anonymous_id)])
    score(shopper.visitor.id)
    root.refresh_from_db()
    assert root.snoozed_until is None and root.priority == Alert.Priority.URGENT


def test_an_alert_past_its_expiry_is_expired_and_a_later_signal_starts_anew(world, shopper):
    now = timezone.now()
    send(world.rooftop, views(shopper, 4, start=now - timedelta(hours=30), step=timedelta(minutes=1)))
    score(shopper.visitor.id, now=now - timedelta(hours=29))
    [old] = roots(shopper.customer)
    send(world.rooftop, [track("credit_application_started", anonymous_id=shopper.anonymous_id, at=now)])
    score(shopper.visitor.id, now=now)
    old.refresh_from_db()
    assert old.state == "expired" and len(roots(shopper.customer)) == 2


def test_a_browser_identified_in_the_middle_of_a_burst_keeps_its_one_alert(world):
    scoring_settings_save(rooftop=world.rooftop, rules=ScoringRules(), user=world.manager,
                          alert_anonymous_shoppers=True, alert_expiry_hours=24)
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop)
    start = timezone.now() - timedelta(minutes=5)
    send(world.rooftop, [vdp(vehicle, anonymous_id="mid-burst", at=start + timedelta(seconds=i)) for i in range(4)])
    visitor = Visitor.unscoped.get(rooftop=world.rooftop, anonymous_id="mid-burst")
    [anonymous_alert] = [Alert.unscoped.get(pk=i) for i in score(visitor.id).alert_ids]
    assert anonymous_alert.customer_id is None
    customer = make_customer(world.rooftop, first_name="Named")
    identify(world.rooftop, "mid-burst", customer)
    send(world.rooftop, [track("trade_in_calculator_completed", anonymous_id="mid-burst")])
    score(visitor.id)
    [root] = Alert.unscoped.filter(rooftop=world.rooftop, parent__isnull=True)
    assert root.id == anonymous_alert.id and root.customer_id == customer.id and root.follow_up_count == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_scoring_one_customers_two_browsers_at_once_raise_one_alert(world):
    customer = make_customer(world.rooftop, first_name="Twice")
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop)
    visitors = [identify(world.rooftop, name, customer) for name in ("phone", "laptop")]
    for name in ("phone", "laptop"):
        send(world.rooftop, [vdp(vehicle, anonymous_id=name) for _ in range(4)]
             + [track("trade_in_calculator_completed", anonymous_id=name)])
    barrier = threading.Barrier(2)
    errors = []

    def worker(visitor_id):
        try:
            barrier.wait(timeout=10)
            score(visitor_id)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(v.id,)) for v in visitors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    [root] = roots(customer)
    assert root.follow_up_count == Alert.unscoped.filter(parent=root).count() >= 2


def test_a_replay_after_a_reconnect_shows_each_alert_once_in_its_current_state(world, shopper):
    access = staff_access(world.bdc)
    send(world.rooftop, views(shopper, 4))
    score(shopper.visitor.id)
    [root] = roots(shopper.customer)
    send(world.rooftop, [trade_in(shopper)])
    score(shopper.visitor.id)
    send(world.rooftop, [track("credit_application_started", anonymous_id=shopper.anonymous_id)])
    score(shopper.visitor.id)
    root.refresh_from_db()
    folded = list(root.follow_ups.order_by("id").values_list("id", flat=True))
    assert len(folded) == 2

    # A browser that had the alert: one update frame, the row as it is now, moved up, re-notifying (it rose).
    frames, last, more = replay_frames(access=access, after=root.id)
    assert [(f["type"], f["id"]) for f in frames] == [("update", root.id)]
    [update] = frames
    assert update["seq"] == last == folded[-1] and update["follow_up_ids"] == folded
    assert update["moved"] and update["renotify"] and update["alert"]["priority"] == Alert.Priority.URGENT
    assert "2 follow-up signals" in update["html"] and more is False
    # A browser that had nothing: the alert once, already showing both folded signals.
    frames, last, _ = replay_frames(access=access, after=0)
    assert [(f["type"], f["id"]) for f in frames] == [("alert", root.id)] and last == folded[-1]
    assert "2 follow-up signals" in frames[0]["html"]
    # Read in batches of one: the memory of what was shown spans the batches of one catch-up.
    shown, after, got = {}, 0, []
    while True:
        batch, after, more = replay_frames(access=access, after=after, limit=1, shown_roots=shown)
        got += [(f["type"], f["id"]) for f in batch]
        if not more:
            break
    assert got == [("alert", root.id)]
