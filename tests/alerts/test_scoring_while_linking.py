"""Scoring a chunk of shoppers while a transaction joins their browsers to customers, on two real PostgreSQL
connections: the two write the same event rows (scored_at, customer_id) and must never deadlock.

The linker runs inside larger transactions (the collector's group commit, the assistant's handoff, a price-drop
sign-up) that cannot be retried alone, and may link several browsers in any order; scoring locks its chunk in
visitor order. The test holds the chunk between its two shoppers, links the second shopper and then the first in
one transaction (the link of the first waits on scoring), and lets scoring go on to the second.
"""

import threading
import time

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from alerts import services
from alerts.models import ShopperIntent
from factories import InventoryVehicleFactory, make_customer
from shopper_events import send, track, vdp
from tracking.models import TrackedEvent
from tracking.services import scoring_left_to_sweep, visitors_link_customer

WAIT = 30  # seconds: far past deadlock_timeout, so a deadlock is found and reported before any wait here ends


def _visitor_id(rooftop, anonymous_id: str) -> int:
    return TrackedEvent.objects.for_rooftops([rooftop.id]).filter(visitor__anonymous_id=anonymous_id) \
        .values_list("visitor_id", flat=True).first()


def _waiting_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return bool(row and row[0])


@pytest.mark.django_db(transaction=True)
def test_a_link_waiting_on_a_scored_shopper_and_the_rest_of_the_chunk_do_not_deadlock(world, monkeypatch):
    rooftop = world.rooftop
    vehicle = InventoryVehicleFactory(rooftop=rooftop)
    with scoring_left_to_sweep():  # no hints: only this test's two transactions touch the rows
        for anonymous_id in ("first", "second"):
            send(rooftop, [track("asc_pageview", anonymous_id=anonymous_id, page_type="home"),
                           vdp(vehicle, anonymous_id=anonymous_id)])
    first, second = sorted([_visitor_id(rooftop, "first"), _visitor_id(rooftop, "second")])
    customers = {first: make_customer(rooftop, first_name="First"), second: make_customer(rooftop, first_name="Second")}

    first_marked, go_on = threading.Event(), threading.Event()
    scoring_errors: list[Exception] = []
    real_write = services._fold_write

    def write_pausing_after_the_first(fold, **kwargs):
        try:
            outcome = real_write(fold, **kwargs)
        except DatabaseError as exc:  # the chunk would retry one by one and hide it: a deadlock fails the test
            scoring_errors.append(exc)
            raise
        if fold.visitor_id == first and not first_marked.is_set():
            first_marked.set()  # the first shopper's events are marked scored: their rows are locked till commit
            assert go_on.wait(WAIT)
        return outcome

    monkeypatch.setattr(services, "_fold_write", write_pausing_after_the_first)
    outcomes: list = []
    linker: dict = {}

    def scoring():
        try:
            outcomes.extend(services.visitors_score_events(visitor_ids=[first, second]))
        finally:
            connection.close()

    def linking():
        try:
            with scoring_left_to_sweep(), transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    linker["pid"] = cursor.fetchone()[0]
                # Two identify messages of one group commit, the higher visitor first.
                for visitor_id in (second, first):
                    visitors_link_customer(rooftop=rooftop, visitor_ids=[visitor_id], at=timezone.now(),
                                           customer_id=customers[visitor_id].id, reason="identified on the website")
        except Exception as exc:
            linker["error"] = exc
        finally:
            connection.close()

    scorer = threading.Thread(target=scoring)
    scorer.start()
    assert first_marked.wait(WAIT), "scoring never reached the end of the first shopper"
    link = threading.Thread(target=linking)
    link.start()
    deadline = time.monotonic() + WAIT
    while not ("pid" in linker and _waiting_on_a_lock(linker["pid"])) and link.is_alive():
        assert time.monotonic() < deadline, "the linker never waited on scoring's lock of the first shopper"
        time.sleep(0.01)
    go_on.set()
    scorer.join(WAIT)
    link.join(WAIT)
    assert not scorer.is_alive() and not link.is_alive(), "scoring and linking still wait on each other"

    assert linker.get("error") is None, f"the linking transaction failed: {linker.get('error')!r}"
    assert scoring_errors == [], f"scoring's chunk failed: {scoring_errors!r}"
    events = TrackedEvent.objects.for_rooftops([rooftop.id])
    # Both browsers joined their customers, with every earlier event.
    assert {v: c.id for v, c in customers.items()} == dict(events.values_list("visitor_id", "customer_id").distinct())
    # The first shopper was scored before the link; the second, whose events the linker held, was left for later
    # (the linker's commit hints it) and nothing of it was folded meanwhile.
    assert [(o.visitor_id, o.events_scored) for o in outcomes] == [(first, 2), (second, 0)]
    assert not events.filter(visitor_id=second, scored_at__isnull=False).exists()
    assert ShopperIntent.unscoped.get(visitor_id=second).event_count == 0

    services.visitors_score_events(visitor_ids=[second])
    assert not events.filter(scored_at__isnull=True).exists()
    assert dict(ShopperIntent.unscoped.filter(visitor_id__in=[first, second])
                .values_list("visitor_id", "event_count")) == {first: 2, second: 2}
