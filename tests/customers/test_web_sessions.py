"""Website activity condensed into visits: the pure grouping, and the incremental timeline rows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection

from customers.models import TimelineEntry
from customers.services import web_sessions_refresh
from customers.web_sessions import WebEvent, sessions_from_events
from factories import make_customer
from tracking.models import Visitor

T0 = datetime(2026, 11, 20, 14, 0, tzinfo=timezone.utc)
RAV4 = {"item_year": 2024, "item_make": "Toyota", "item_model": "RAV4", "item_variant": "XLE"}
CAMRY = {"item_year": 2025, "item_make": "Toyota", "item_model": "Camry"}
TACOMA = {"item_year": 2024, "item_make": "Toyota", "item_model": "Tacoma"}


def ev(i, minutes, event="asc_item_pageview", vin="", props=None):
    return WebEvent(event_id=i, occurred_at=T0 + timedelta(minutes=minutes), rooftop_id=1, event=event, vin=vin,
                    properties=props or {})


def test_a_visit_is_summarized_for_the_salesperson():
    events = [ev(1, 0, vin="RAV4VIN0000000001", props=RAV4), ev(2, 3, vin="CAMRYVIN000000001", props=CAMRY),
              ev(3, 5, vin="RAV4VIN0000000001", props=RAV4), ev(4, 9, vin="TACOMAVIN00000001", props=TACOMA),
              ev(5, 12, vin="RAV4VIN0000000001", props=RAV4), ev(6, 20, vin="RAV4VIN0000000001", props=RAV4),
              ev(7, 25, event="trade_in_calculator_completed")]
    [session] = sessions_from_events(events)
    assert session.summary == "Viewed 3 vehicles, the 2024 Toyota RAV4 XLE 4 times, finished the trade-in calculator"
    assert (session.started_at, session.ended_at, session.event_count) == (T0, T0 + timedelta(minutes=25), 7)


@pytest.mark.parametrize("gaps, sessions", [
    ([0, 30], 1),            # exactly 30 minutes apart: the same visit
    ([0, 31], 2),
    ([0, 10, 20, 30, 40], 1),  # a long visit with small gaps
    ([0, 5, 120, 125, 500], 3),
])
def test_a_gap_over_thirty_minutes_starts_a_new_session(gaps, sessions):
    events = [ev(i, m, event="") for i, m in enumerate(gaps)]
    assert len(sessions_from_events(reversed(events))) == sessions


@pytest.mark.parametrize("events, summary", [
    ([ev(1, 0, event="")], "Browsed 1 page"),
    ([ev(1, 0, vin="V" * 17, props=RAV4), ev(2, 1, vin="V" * 17, props=RAV4)], "Viewed the 2024 Toyota RAV4 XLE twice"),
    ([ev(1, 0, event="payment_calculator_used"), ev(2, 1, event="chat_started")],
     "Used the payment calculator, started a chat"),
])
def test_summaries(events, summary):
    assert sessions_from_events(events)[0].summary == summary


def insert_event(customer, visitor, at, event="asc_item_pageview", props=None, n=[0]):
    n[0] += 1
    import json
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tracking_event (received_at, rooftop_id, visitor_id, customer_id, message_id, type, event,"
            " occurred_at, vin, properties) VALUES (now(), %s, %s, %s, %s, 'track', %s, %s, %s, %s::jsonb)",
            [visitor.rooftop_id, visitor.pk, customer.pk, f"msg-{n[0]}", event, at, "RAV4VIN0000000001" if props else "",
             json.dumps(props or {})])


@pytest.mark.django_db
def test_sessions_are_folded_into_the_timeline_incrementally(client, world):
    customer = make_customer(world.rooftop)
    visitor = Visitor.unscoped.create(rooftop=world.rooftop, anonymous_id="a1", customer=customer)
    insert_event(customer, visitor, T0, props=RAV4)
    insert_event(customer, visitor, T0 + timedelta(minutes=5), props=RAV4)
    assert web_sessions_refresh(customer_id=customer.pk) == 1
    assert web_sessions_refresh(customer_id=customer.pk) == 0  # nothing new: nothing written
    insert_event(customer, visitor, T0 + timedelta(minutes=10), event="trade_in_calculator_completed")
    insert_event(customer, visitor, T0 + timedelta(hours=3), props=RAV4)
    assert web_sessions_refresh(customer_id=customer.pk) == 2  # the open session grew, a new one began
    rows = list(TimelineEntry.unscoped.filter(customer=customer, kind="web_session").order_by("occurred_at"))
    assert [r.summary for r in rows] == [
        "Viewed the 2024 Toyota RAV4 XLE twice, finished the trade-in calculator",
        "Viewed the 2024 Toyota RAV4 XLE once",
    ]
    assert rows[0].department == "web" and rows[0].rooftop == world.rooftop and rows[0].detail["events"] == 3
    client.force_login(world.salesperson)
    assert "finished the trade-in calculator" in client.get(f"/customers/{customer.pk}/").content.decode()


@pytest.mark.django_db
def test_opening_the_page_folds_new_website_events_and_a_customer_who_never_browsed_reads_none(client, world):
    customer = make_customer(world.rooftop)
    client.force_login(world.salesperson)
    client.get(f"/customers/{customer.pk}/")
    assert not TimelineEntry.unscoped.filter(customer=customer, kind="web_session").exists()
    visitor = Visitor.unscoped.create(rooftop=world.rooftop, anonymous_id="a2", customer=customer)
    insert_event(customer, visitor, T0, props=RAV4)
    html = client.get(f"/customers/{customer.pk}/").content.decode()  # folded on open, no worker needed
    assert "Viewed the 2024 Toyota RAV4 XLE once" in html
