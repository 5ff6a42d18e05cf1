"""Scoring as the worker runs it: stored events → intent → alerts, against the real PostgreSQL."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import Alert, ScoringSettings, ShopperIntent
from alerts.scoring import ScoringRules
from alerts.selectors import alert_rows, intent_for_customer
from alerts.services import alerts_expire, scoring_settings_save, snoozes_wake, sweep_idle, sweep_price_drops, \
    sweep_unscored, visitor_score_events, alert_snooze
from customers.models import OwnedVehicle
from factories import InventoryVehicleFactory, make_customer, make_staff
from leads.inventory import vehicle_set_price
from rooftops.models import Role, StaffRole
from service.models import RepairOrder
from shopper_events import identify, send, track, vdp, views
from tracking.models import TrackedEvent

pytestmark = pytest.mark.django_db


def score(shopper, **kwargs):
    return visitor_score_events(visitor_id=shopper.visitor.id, **kwargs)


def test_the_fourth_view_of_one_vehicle_alerts_the_assigned_salesperson_and_the_bdc_feed(world, shopper):
    send(world.rooftop, views(shopper, 3))
    assert score(shopper).alert_ids == ()
    send(world.rooftop, views(shopper, 1))
    outcome = score(shopper)
    alert = Alert.unscoped.get(pk=outcome.alert_ids[0])
    assert alert.kind == "repeat_vdp_views" and alert.priority == Alert.Priority.HIGH
    assert alert.reasons == [f"Viewed the 2024 Toyota RAV4 XLE (stock {shopper.vehicle.stock_number}) 4 times in the last 48 hours"]
    assert alert.suggested_next_step == "Call now: ask if they want to see the RAV4 today"
    assert (alert.customer, alert.vehicle, alert.lead) == (shopper.customer, shopper.vehicle, shopper.lead)
    assert (alert.for_user, alert.for_team, alert.state) == (world.salesperson, "bdc", "new")
    assert alert.expires_at == alert.created_at + timedelta(hours=24)


def test_scoring_marks_each_event_scored_once_and_a_second_run_finds_nothing(world, shopper):
    send(world.rooftop, views(shopper, 2) + [track("newsletter_opened", anonymous_id=shopper.anonymous_id)])
    first = score(shopper)
    assert first.events_scored == 3
    assert not TrackedEvent.unscoped.filter(visitor_id=shopper.visitor.id, scored_at__isnull=True).exists()
    assert score(shopper).events_scored == 0
    intent = ShopperIntent.unscoped.get(visitor=shopper.visitor)
    assert intent.event_count == 3 and intent.customer == shopper.customer
    assert intent.viewed_vins == [shopper.vehicle.vin]
    assert intent.score == pytest.approx(6.0, abs=0.1)  # two VDP views at 3 points; unknown events weigh nothing


def test_the_work_for_one_new_event_does_not_grow_with_the_shoppers_history(world, shopper):
    other = InventoryVehicleFactory(rooftop=world.rooftop, model="Camry")
    long_ago = timezone.now() - timedelta(days=5)

    def one_more_event_queries():
        send(world.rooftop, [vdp(other, anonymous_id=shopper.anonymous_id)])
        with CaptureQueriesContext(connection) as queries:
            assert score(shopper).events_scored == 1
        return len(queries)

    send(world.rooftop, [vdp(shopper.vehicle, at=long_ago + timedelta(minutes=i), anonymous_id=shopper.anonymous_id)
                         for i in range(5)])
    score(shopper)
    short_history = one_more_event_queries()
    send(world.rooftop, [vdp(shopper.vehicle, at=long_ago + timedelta(minutes=10 + i), anonymous_id=shopper.anonymous_id)
                         for i in range(800)])
    while score(shopper).events_scored:
        pass
    size_after_800 = len(str(ShopperIntent.unscoped.get(visitor=shopper.visitor).state))
    long_history = one_more_event_queries()
    assert long_history == short_history
    assert ShopperIntent.unscoped.get(visitor=shopper.visitor).event_count == 807
    assert size_after_800 < 20_000


# The scoring task runs for every batch a website sends (issue 16: at 500 events/s in batches of 10, 50 a second),
# and its cost is its round trips: its transaction's two (BEGIN and COMMIT on a worker; in a test, inside the test's
# transaction, SAVEPOINT and RELEASE) and three of its own: lock and read the shopper, read the batch with what the
# CRM knows about them, write the state with the events marked scored. (Seven before issue 16.) A new shopper adds
# the insert of their row and its read; a batch that raises an alert adds the alert machinery (the next test).
TYPICAL_BATCH_QUERIES = 5


def browsing_batch(shopper, count: int = 10) -> list[dict]:
    """A known shopper's batch as the load test sends it: page views, a search, vehicle detail pages."""
    raws = []
    for n in range(count):
        kind = n % 4
        if kind in (0, 1):
            raws.append(track("asc_pageview", anonymous_id=shopper.anonymous_id, page_type="home"))
        elif kind == 2:
            raws.append(track("asc_itemlist_pageview", anonymous_id=shopper.anonymous_id, item_results=24))
        else:
            raws.append(vdp(shopper.vehicle, anonymous_id=shopper.anonymous_id))
    return raws


def test_a_typical_batch_of_a_known_shopper_is_scored_in_five_statements(world, shopper,
                                                                         django_assert_max_num_queries):
    send(world.rooftop, browsing_batch(shopper, 2))
    score(shopper)  # the shopper's intent row exists, as for every batch after their first
    send(world.rooftop, browsing_batch(shopper))
    with django_assert_max_num_queries(TYPICAL_BATCH_QUERIES):
        outcome = score(shopper)
    assert (outcome.events_scored, outcome.alert_ids) == (10, ())
    assert not TrackedEvent.unscoped.filter(visitor_id=shopper.visitor.id, scored_at__isnull=True).exists()
    intent = ShopperIntent.unscoped.get(visitor=shopper.visitor)
    assert intent.event_count == 12 and intent.viewed_vins == [shopper.vehicle.vin]


def test_a_new_shoppers_first_batch_costs_two_more_and_an_alert_its_own(world, shopper,
                                                                       django_assert_max_num_queries):
    send(world.rooftop, browsing_batch(shopper))
    with django_assert_max_num_queries(TYPICAL_BATCH_QUERIES + 2):
        assert score(shopper).events_scored == 10
    send(world.rooftop, views(shopper, 2))
    # The fourth view: the alert insert lock with the alert's facts, the shopper's open alert and last of the kind,
    # the insert and the store's webhook endpoints.
    with django_assert_max_num_queries(TYPICAL_BATCH_QUERIES + 5):
        assert len(score(shopper).alert_ids) == 1


def test_a_long_backlog_is_scored_in_bounded_batches(world, shopper):
    send(world.rooftop, views(shopper, 5))
    first = score(shopper, batch_size=3)
    assert (first.events_scored, first.more) == (3, True)
    second = score(shopper, batch_size=3)
    assert (second.events_scored, second.more) == (2, False)
    assert len(second.alert_ids) == 1  # the fourth view fired, in the second batch


def test_follow_up_signals_inside_the_cooldown_are_grouped_under_the_first_alert(world, shopper):
    camry = InventoryVehicleFactory(rooftop=world.rooftop, model="Camry", trim="SE")
    send(world.rooftop, views(shopper, 4))
    root = Alert.unscoped.get(pk=score(shopper).alert_ids[0])
    send(world.rooftop, [vdp(camry, anonymous_id=shopper.anonymous_id) for _ in range(4)])
    follow_up = Alert.unscoped.get(pk=score(shopper).alert_ids[0])
    root.refresh_from_db()
    assert follow_up.parent == root and follow_up.kind == root.kind
    assert root.follow_up_count == 1
    assert root.reasons[0].startswith("Viewed the 2024 Toyota Camry SE")
    assert Alert.unscoped.filter(customer=shopper.customer, parent__isnull=True).count() == 1


def test_a_rising_priority_inside_the_cooldown_rises_in_place_on_the_shoppers_one_alert(world, shopper):
    send(world.rooftop, views(shopper, 8, step=timedelta(minutes=1)))
    outcome = score(shopper)
    root, follow_up = Alert.unscoped.filter(pk__in=outcome.alert_ids).order_by("id")
    root.refresh_from_db()
    assert (root.parent_id, follow_up.parent_id) == (None, root.id)
    assert (root.priority, follow_up.priority, follow_up.priority_rose) == (Alert.Priority.URGENT,) * 2 + (True,)


def test_a_service_customer_with_equity_browsing_inventory_goes_to_the_service_lane(world, shopper):
    OwnedVehicle.objects.create(customer=shopper.customer, year=2019, make="Toyota", model="Camry",
                                trade_value_cents=1_800_000, payoff_cents=1_200_000)
    RepairOrder.objects.create(rooftop=world.rooftop, customer=shopper.customer, ro_number="50001")
    send(world.rooftop, views(shopper, 1))
    alert = Alert.unscoped.get(pk=score(shopper).alert_ids[0])
    assert alert.kind == "equity_shopper" and alert.for_team == "service"
    assert "about $6,000 in positive equity" in alert.reasons[0]
    from alerts.selectors import alerts_visible
    from rooftops.selectors import staff_access

    assert list(alerts_visible(staff_access(world.advisor))) == [alert]
    assert list(alerts_visible(staff_access(world.bdc))) == []
    assert list(alerts_visible(staff_access(world.salesperson))) == [alert]  # their lead's customer


def test_negative_equity_or_no_service_history_is_not_an_equity_shopper(world, shopper):
    OwnedVehicle.objects.create(customer=shopper.customer, trade_value_cents=900_000, payoff_cents=1_400_000)
    RepairOrder.objects.create(rooftop=world.rooftop, customer=shopper.customer, ro_number="50002")
    send(world.rooftop, views(shopper, 1))
    assert score(shopper).alert_ids == ()


def test_an_abandoned_service_form_is_found_by_the_sweep_and_goes_to_service_advisors(world, shopper):
    started = timezone.now() - timedelta(minutes=40)
    send(world.rooftop, [track("asc_form_engagement", at=started, anonymous_id=shopper.anonymous_id,
                               form_type="service", form_id="svc-1")])
    score(shopper)
    intent = ShopperIntent.unscoped.get(visitor=shopper.visitor)
    assert intent.idle_check_at is not None and intent.idle_check_at < timezone.now()
    assert sweep_idle() == 1
    alert = Alert.unscoped.get(customer=shopper.customer)
    assert alert.kind == "form_abandoned" and alert.for_team == "service"
    assert "never submitted it" in alert.reasons[0]
    intent.refresh_from_db()
    assert intent.idle_check_at is None
    assert sweep_idle() == 0


def test_an_anonymous_shopper_is_scored_but_alerts_no_one_unless_the_store_asks(world):
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop)
    send(world.rooftop, [vdp(vehicle, anonymous_id="stranger") for _ in range(4)])
    visitor_id = TrackedEvent.unscoped.filter(rooftop_id=world.rooftop.id).values_list("visitor_id", flat=True)[0]
    assert visitor_score_events(visitor_id=visitor_id).alert_ids == ()
    assert ShopperIntent.unscoped.get(visitor_id=visitor_id).score > 0

    scoring_settings_save(rooftop=world.rooftop, rules=ScoringRules(), user=world.manager,
                          alert_anonymous_shoppers=True, alert_expiry_hours=24)
    send(world.rooftop, [vdp(vehicle, anonymous_id="stranger") for _ in range(4)])
    alert = Alert.unscoped.get(pk=visitor_score_events(visitor_id=visitor_id).alert_ids[0])
    assert (alert.customer, alert.visitor_id, alert.for_user, alert.for_team) == (None, visitor_id, None, "bdc")


def test_a_store_without_a_bdc_works_its_alerts_from_the_sales_floor(world):
    StaffRole.objects.filter(rooftop=world.rooftop, role=Role.BDC_AGENT).delete()
    customer = make_customer(world.rooftop)
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop)
    identify(world.rooftop, "no-bdc", customer)
    send(world.rooftop, [vdp(vehicle, anonymous_id="no-bdc") for _ in range(4)])
    visitor_id = TrackedEvent.unscoped.filter(rooftop_id=world.rooftop.id).values_list("visitor_id", flat=True)[0]
    alert = Alert.unscoped.get(pk=visitor_score_events(visitor_id=visitor_id).alert_ids[0])
    assert (alert.for_user, alert.for_team) == (None, "sales")  # no open lead: the whole floor sees it


def test_the_sweep_scores_events_whose_task_never_ran(world, shopper):
    # In this test transaction nothing is committed, so events_record's on-commit hand-off never happens:
    # the same situation as Redis being down when the collector stored the batch.
    send(world.rooftop, views(shopper, 4), received_at=timezone.now() - timedelta(seconds=30))
    assert sweep_unscored(now=timezone.now()) == 1
    assert Alert.unscoped.filter(customer=shopper.customer, kind="repeat_vdp_views").count() == 1
    assert sweep_unscored(now=timezone.now()) == 0


def test_the_sweep_leaves_events_younger_than_a_few_seconds_to_their_task(world, shopper):
    send(world.rooftop, views(shopper, 2))
    assert sweep_unscored(now=timezone.now()) == 0


def test_a_price_drop_on_a_viewed_vehicle_alerts_the_shopper_once(world, shopper):
    send(world.rooftop, views(shopper, 2))
    score(shopper)
    vehicle_set_price(vehicle=shopper.vehicle, price_cents=shopper.vehicle.price_cents - 150_000)
    assert sweep_price_drops() == 1
    alert = Alert.unscoped.get(customer=shopper.customer, kind="price_drop_on_viewed_vehicle")
    assert "Price dropped $1,500 (from $34,500 to $33,000)" in alert.reasons[0]
    assert alert.vehicle == shopper.vehicle
    assert sweep_price_drops() == 0  # the state remembers the drop was announced
    send(world.rooftop, views(shopper, 1))
    score(shopper)
    assert Alert.unscoped.filter(kind="price_drop_on_viewed_vehicle").count() == 1


def test_a_price_drop_before_the_shopper_first_looked_is_no_news(world, shopper):
    vehicle_set_price(vehicle=shopper.vehicle, price_cents=shopper.vehicle.price_cents - 150_000)
    send(world.rooftop, [vdp(shopper.vehicle, at=timezone.now() + timedelta(seconds=1), anonymous_id=shopper.anonymous_id)])
    assert score(shopper).alert_ids == ()
    sweep_price_drops()
    assert not Alert.unscoped.filter(customer=shopper.customer).exists()


def test_rules_changed_by_the_manager_apply_to_the_next_events(world, shopper):
    scoring_settings_save(rooftop=world.rooftop, rules=ScoringRules(repeat_vdp_count=2), user=world.manager,
                          alert_anonymous_shoppers=False, alert_expiry_hours=2)
    send(world.rooftop, views(shopper, 2))
    alert = Alert.unscoped.get(pk=score(shopper).alert_ids[0])
    assert "2 times" in alert.reasons[0]
    assert alert.expires_at == alert.created_at + timedelta(hours=2)
    assert ScoringSettings.unscoped.get(rooftop=world.rooftop).updated_by == world.manager


def test_unclaimed_alerts_expire_and_snoozed_alerts_come_back(world, shopper):
    send(world.rooftop, views(shopper, 4))
    alert = Alert.unscoped.get(pk=score(shopper).alert_ids[0])
    alert_snooze(alert=alert, user=world.bdc, until=timezone.now() + timedelta(minutes=5))
    assert snoozes_wake(now=timezone.now()) == 0
    assert snoozes_wake(now=timezone.now() + timedelta(minutes=6)) == 1
    alert.refresh_from_db()
    assert alert.snoozed_until is None
    assert alerts_expire(now=timezone.now() + timedelta(hours=23)) == 0
    assert alerts_expire(now=timezone.now() + timedelta(hours=25)) == 1
    alert.refresh_from_db()
    assert alert.state == "expired"


def test_the_customer_page_shows_score_trend_and_reasons(world, shopper):
    assert intent_for_customer(shopper.customer) is None
    send(world.rooftop, views(shopper, 4) + [track(
        "trade_in_calculator_completed", anonymous_id=shopper.anonymous_id, trade_year=2017, trade_make="Honda",
        trade_model="Civic", estimated_value=11480)])
    score(shopper)
    intent = intent_for_customer(shopper.customer)
    assert intent.score > 50 and intent.trend == "rising"
    assert intent.reasons[0] == "finished the trade-in calculator (2017 Honda Civic, about $11,500) today"
    assert intent.reasons[1].startswith(f"viewed the 2024 Toyota RAV4 XLE, stock {shopper.vehicle.stock_number}, 4 times")
    cooled = intent_for_customer(shopper.customer, now=timezone.now() + timedelta(days=3))
    assert cooled.trend == "cooling" and cooled.score < intent.score / 1.9


def test_the_intent_partial_renders_with_just_a_customer_in_context(world, shopper):
    from django.template.loader import render_to_string

    from rooftops.selectors import staff_access

    context = {"customer": shopper.customer, "access": staff_access(world.bdc)}
    assert "No website activity" in render_to_string("alerts/_intent.html", context)
    send(world.rooftop, views(shopper, 4))
    score(shopper)
    html = render_to_string("alerts/_intent.html", context)
    assert "Shopping intent" in html and "4 times" in html and "rising" in html
    # The same shared customer seen from the other store: its browsing here is not shown there.
    elsewhere = {"customer": shopper.customer, "access": staff_access(world.outsider)}
    assert "4 times" not in render_to_string("alerts/_intent.html", elsewhere)


def test_an_alert_row_condenses_the_shoppers_recent_activity(world, shopper):
    send(world.rooftop, views(shopper, 4) + [track("payment_calculator_used", anonymous_id=shopper.anonymous_id)])
    score(shopper)
    alert = Alert.unscoped.get(customer=shopper.customer, kind="repeat_vdp_views")
    row = alert_rows([alert], viewer_id=world.bdc.id)[0]
    texts = [(line.text, line.count) for line in row.activity]
    assert texts == [("Used the payment calculator", 1),
                     (f"Viewed 2024 Toyota RAV4 XLE ({shopper.vehicle.stock_number})", 4)]
    assert (row.phone, row.email) == ("+16175550123", "jordan@example.com")


def test_a_staff_member_added_later_still_gets_the_store_team_alerts(world, shopper):
    late_bdc = make_staff(world.rooftop, Role.BDC_AGENT)
    send(world.rooftop, views(shopper, 4))
    score(shopper)
    from alerts.selectors import alerts_visible
    from rooftops.selectors import staff_access

    assert alerts_visible(staff_access(late_bdc)).count() == 1


def test_the_hottest_shoppers_of_a_store_come_first(world, shopper):
    from alerts.selectors import hottest_shoppers
    from rooftops.selectors import staff_access

    warm = make_customer(world.rooftop, first_name="Warm")
    identify(world.rooftop, "warm-one", warm)
    send(world.rooftop, views(shopper, 4) + [vdp(shopper.vehicle, anonymous_id="warm-one")])
    score(shopper)
    visitor_score_events(visitor_id=TrackedEvent.unscoped.filter(visitor__anonymous_id="warm-one").values_list(
        "visitor_id", flat=True)[0])
    ranked = [i.customer for i in hottest_shoppers(access=staff_access(world.bdc), rooftop_id=world.rooftop.id)]
    assert ranked == [shopper.customer, warm]
    assert list(hottest_shoppers(access=staff_access(world.outsider), rooftop_id=world.rooftop.id)) == []


def test_the_beat_sweep_task_runs_every_part_and_one_sweep_at_a_time(world, shopper):
    from alerts.tasks import SWEEP_LOCK, sweep
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULE["alerts-sweep"]["task"] == "alerts.tasks.sweep"
    send(world.rooftop, views(shopper, 4), received_at=timezone.now() - timedelta(seconds=30))
    report = sweep()
    assert report["visitors_scored"] == 1 and set(report) >= {"idle_checked", "expired", "woken", "repushed"}
    # The advisory lock is per session: held from a second connection, it looks like a sweep still running.
    from django.db import connections

    second = connections.create_connection("default")
    try:
        with second.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [SWEEP_LOCK])
            assert sweep() == {"skipped": "another sweep is running"}
            cursor.execute("SELECT pg_advisory_unlock(%s)", [SWEEP_LOCK])
    finally:
        second.close()


def test_events_more_than_a_day_late_shape_the_score_but_alert_no_one(world, shopper):
    long_ago = timezone.now() - timedelta(days=2)
    send(world.rooftop, [track("credit_application_started", at=long_ago, anonymous_id=shopper.anonymous_id)])
    assert score(shopper).alert_ids == ()
    intent = ShopperIntent.unscoped.get(visitor=shopper.visitor)
    assert intent.score > 0 and intent.reasons[0].startswith("started a credit application")


def test_a_browser_joined_to_a_customer_later_moves_its_intent_to_the_customer(world):
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop)
    send(world.rooftop, [vdp(vehicle, anonymous_id="late-joiner")])
    visitor_id = TrackedEvent.unscoped.filter(rooftop_id=world.rooftop.id).values_list("visitor_id", flat=True)[0]
    visitor_score_events(visitor_id=visitor_id)
    customer = make_customer(world.rooftop, first_name="Later")
    identify(world.rooftop, "late-joiner", customer)
    assert visitor_score_events(visitor_id=visitor_id).events_scored == 0
    assert intent_for_customer(customer) is not None
