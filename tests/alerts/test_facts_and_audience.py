"""Pure translations: stored messages → scoring facts, activity lines; alerts → teams and groups."""

from datetime import datetime, timedelta, timezone

import pytest

from alerts.audience import choose_team, groups_for_access, groups_for_alert, team_group
from alerts.facts import condense_activity, event_fact
from rooftops.tenancy import StaffAccess

T = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)
RAV4 = {"item_id": "2T3P1RFV0RC000001", "item_number": "T1234", "item_year": "2024", "item_make": "Toyota",
        "item_model": "RAV4", "item_variant": "XLE", "item_price": 34995}


@pytest.mark.parametrize("type_, event, props, expected", [
    pytest.param("track", "asc_item_pageview", RAV4,
                 dict(kind="asc_item_pageview", vin="2T3P1RFV0RC000001", stock_number="T1234", year=2024, make="Toyota",
                      model="RAV4", trim="XLE", price_cents=3_499_500), id="a VDP view carries the vehicle and its price in cents"),
    pytest.param("track", "trade_in_calculator_completed",
                 {"trade_year": 2017, "trade_make": "Honda", "trade_model": "Civic", "estimated_value": "11,480"},
                 dict(properties={"trade_year": 2017, "trade_make": "Honda", "trade_model": "Civic",
                                  "trade_value_cents": 1_148_000}), id="a trade estimate in dollars becomes cents"),
    pytest.param("track", "payment_calculator_used", {"monthly_payment": 449.5, "term_months": "72"},
                 dict(properties={"monthly_payment_cents": 44_950, "term_months": 72}), id="a payment quote becomes cents and months"),
    pytest.param("track", "asc_form_engagement", {"form_type": "service", "form_id": "svc-1"},
                 dict(form_type="service", properties={"form_id": "svc-1"}), id="a form keeps its type and id"),
    pytest.param("track", "asc_item_pageview", {"item_price": "call for price", "item_year": "new"},
                 dict(price_cents=None, year=None), id="junk prices and years are unknown, not errors"),
])
def test_track_messages_become_scoring_facts(type_, event, props, expected):
    fact = event_fact(type=type_, event=event, occurred_at=T, vin="", properties=props)
    for name, value in expected.items():
        assert getattr(fact, name) == value


@pytest.mark.parametrize("type_, event", [("page", "Home"), ("identify", ""), ("alias", ""), ("track", "  ")])
def test_pages_identifies_and_nameless_events_are_not_behaviour(type_, event):
    # track.js sends an asc_pageview track beside every page message: counting both would double the views.
    assert event_fact(type=type_, event=event, occurred_at=T, vin="", properties={}) is None


def test_the_stored_vin_wins_over_the_property():
    fact = event_fact(type="track", event="asc_item_pageview", occurred_at=T, vin="JTMB1RFV0RD000002", properties=RAV4)
    assert fact.vin == "JTMB1RFV0RD000002"


def test_recent_activity_folds_repeats_skips_plain_page_views_and_stops_at_the_limit():
    rows = [("track", "asc_item_pageview", T - timedelta(minutes=m), RAV4) for m in range(3)]
    rows.insert(1, ("track", "asc_pageview", T, {}))
    rows += [("track", "payment_calculator_used", T - timedelta(hours=1), {}),
             ("page", "Home", T - timedelta(hours=2), {}),
             ("track", "asc_form_engagement", T - timedelta(hours=3), {"form_type": "test_drive"}),
             ("track", "chat_started", T - timedelta(hours=4), {})]
    lines = condense_activity(rows, limit=3)
    assert [(l.text, l.count) for l in lines] == [
        ("Viewed 2024 Toyota RAV4 XLE (T1234)", 3), ("Used the payment calculator", 1), ("Started a form: test drive", 1)]
    assert lines[0].last_at == T


@pytest.mark.parametrize("kind, form_type, has_bdc, team", [
    ("repeat_vdp_views", None, True, "bdc"),
    ("repeat_vdp_views", None, False, "sales"),
    ("equity_shopper", None, True, "service"),
    ("form_abandoned", "service", True, "service"),
    ("form_abandoned", "Service_Appointment", True, "service"),
    ("form_abandoned", "test_drive", True, "bdc"),
])
def test_which_team_feed_an_alert_goes_to(kind, form_type, has_bdc, team):
    assert choose_team(kind=kind, form_type=form_type, rooftop_has_bdc=has_bdc) == team


def test_staff_listen_on_their_own_group_and_their_roles_team_groups_and_managers_on_all():
    access = StaffAccess(user_id=7, dealer_group_id=1, roles={
        1: frozenset({"bdc_agent"}), 2: frozenset({"manager"}), 3: frozenset({"salesperson", "service_advisor"})})
    assert groups_for_access(access) == [
        "user-7", "rooftop-1-bdc", "rooftop-2-bdc", "rooftop-2-sales", "rooftop-2-service", "rooftop-2-managers",
        "rooftop-3-sales", "rooftop-3-service"]
    assert groups_for_alert(rooftop_id=1, team="bdc", for_user_id=9) == ["rooftop-1-bdc", "user-9"]
    # The store's upkeep (a webhook turned off after a day of failures) reaches its managers only.
    assert groups_for_alert(rooftop_id=2, team="managers", for_user_id=None) == ["rooftop-2-managers"]
    assert groups_for_alert(rooftop_id=1, team="service", for_user_id=None) == ["rooftop-1-service"]
    with pytest.raises(ValueError):
        team_group(1, "finance")
