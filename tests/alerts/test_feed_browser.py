"""A BDC agent keeps the live feed open in a real Chromium while a shopper browses; the alert appears unbidden.

The first test sends the shopper's events to the HTTP collector (POST /v1/batch with the rooftop's write key,
as Segment's clients do); the real Celery worker scores them and uvicorn pushes the row.
"""

import base64
import uuid

import pytest
import requests
from django.db import connection

from alerts.models import Alert
from factories import InventoryVehicleFactory, LeadFactory, add_contact, make_customer
from shopper_events import identify, send, vdp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"  # tests/factories.py UserFactory


def log_in(page, live_server_url, user):
    page.goto(f"{live_server_url}/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("header.topbar")


def test_an_alert_appears_on_the_open_feed_without_reload_and_is_claimed(world, celery_worker, live_server_url, page):
    customer = make_customer(world.rooftop, first_name="Jordan", last_name="Rivera")
    add_contact(customer, phone="+16175550123")
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop)
    LeadFactory(rooftop=world.rooftop, customer=customer, assigned_to=world.salesperson, vehicle=vehicle)
    identify(world.rooftop, "browser-shopper", customer)

    log_in(page, live_server_url, world.bdc)
    page.goto(f"{live_server_url}/alerts/")
    page.wait_for_selector("#feed-status[data-state=live]")
    assert page.locator("#feed-empty").is_visible()
    page.evaluate("window.__sameDocument = true")

    key = base64.b64encode(f"{world.rooftop.tracking_write_key}:".encode()).decode()
    batch = [{**vdp(vehicle, anonymous_id="browser-shopper"), "messageId": str(uuid.uuid4())} for _ in range(4)]
    response = requests.post(f"{live_server_url}/v1/batch", json={"batch": batch},
                             headers={"Authorization": f"Basic {key}"}, timeout=10)
    assert response.status_code == 200, response.text
    connection.close()

    row = page.locator(".alert-row").first
    row.wait_for(timeout=20_000)
    text = row.inner_text()
    assert "Keeps coming back to one vehicle" in text and "Jordan Rivera" in text
    assert f"Viewed the 2024 Toyota RAV4 XLE (stock {vehicle.stock_number}) 4 times in the last 48 hours" in text
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    assert not page.locator("#feed-empty").is_visible()

    row.get_by_role("button", name="Claim").click()
    page.locator(".alert-row .alert-state", has_text="Claimed by you").wait_for(timeout=10_000)
    alert = Alert.unscoped.get(customer=customer)
    assert (alert.state, alert.claimed_by_id) == ("claimed", world.bdc.id)
    page.screenshot(path="/tmp/crm-alert-feed.png", full_page=True)


def test_dismissing_asks_for_a_reason_first(world, live_server_url, page):
    from alerts.scoring import Signal
    from alerts.selectors import scoring_config
    from alerts.services import alert_raise
    from django.utils import timezone

    customer = make_customer(world.rooftop, first_name="Casey")
    alert = alert_raise(rooftop=world.rooftop, signal=Signal("credit_app_started", "urgent", "Started a credit application",
                                                             "Call within 15 minutes"),
                        customer_id=customer.id, visitor_id=None, score=50,
                        config=scoring_config(rooftop_id=world.rooftop.id), now=timezone.now())
    connection.close()
    log_in(page, live_server_url, world.bdc)
    page.goto(f"{live_server_url}/alerts/")
    row = page.locator(f"#alert-{alert.id}")
    row.locator("summary", has_text="Dismiss").click()
    row.get_by_role("button", name="Dismiss").click()
    page.locator(f"#alert-{alert.id} [role=alert]", has_text="Choose why you dismiss").wait_for(timeout=10_000)
    row = page.locator(f"#alert-{alert.id}")
    row.locator("summary", has_text="Dismiss").click()
    row.locator("select[name=reason]").select_option("not_interested")
    row.get_by_role("button", name="Dismiss").click()
    page.get_by_role("button", name="Undo dismiss").wait_for(timeout=10_000)
    alert.refresh_from_db()
    assert alert.state == "dismissed"


def test_a_feed_that_lost_its_connection_shows_what_fired_meanwhile_once(world, celery_worker, live_server_url, page):
    customers = []
    for n in range(2):
        customer = make_customer(world.rooftop, first_name=f"Offline{n}")
        vehicle = InventoryVehicleFactory(rooftop=world.rooftop)
        identify(world.rooftop, f"offline-{n}", customer)
        customers.append((customer, vehicle, f"offline-{n}"))
    log_in(page, live_server_url, world.bdc)
    page.goto(f"{live_server_url}/alerts/")
    page.wait_for_selector("#feed-status[data-state=live]")
    page.evaluate("window.crmAlertFeed.drop()")
    page.wait_for_selector("#feed-status[data-state=offline]")
    for customer, vehicle, anonymous_id in customers:
        send(world.rooftop, [vdp(vehicle, anonymous_id=anonymous_id) for _ in range(4)])
    connection.close()
    # The client reconnects by itself, resumes after the last id it had, and gets both, newest first.
    page.locator(".alert-row").nth(1).wait_for(timeout=30_000)
    page.wait_for_selector("#feed-status[data-state=live]")
    names = page.locator(".alert-row .alert-who").all_inner_texts()
    assert sorted(names) == ["Offline0 Shopper", "Offline1 Shopper"]
    ids = [int(i) for i in page.eval_on_selector_all(".alert-row", "rows => rows.map(r => r.dataset.alertId)")]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 2


def test_a_snoozed_alert_comes_back_on_the_open_feed(world, live_server_url, page):
    from datetime import timedelta

    from alerts.scoring import Signal
    from alerts.selectors import scoring_config
    from alerts.services import alert_raise, alert_snooze, snoozes_wake
    from django.utils import timezone

    customer = make_customer(world.rooftop, first_name="Sleepy")
    alert = alert_raise(rooftop=world.rooftop, signal=Signal("trade_in_completed", "high", "Finished the trade-in calculator",
                                                             "Call today"),
                        customer_id=customer.id, visitor_id=None, score=40,
                        config=scoring_config(rooftop_id=world.rooftop.id), now=timezone.now())
    alert_snooze(alert=alert, user=world.bdc, until=timezone.now() + timedelta(minutes=30))
    log_in(page, live_server_url, world.bdc)
    page.goto(f"{live_server_url}/alerts/")
    page.wait_for_selector("#feed-status[data-state=live]")
    assert page.locator(f"#alert-{alert.id}").count() == 0
    snoozes_wake(now=timezone.now() + timedelta(minutes=31))
    connection.close()
    page.locator(f"#alert-{alert.id}").wait_for(timeout=10_000)
    assert "Finished the trade-in calculator" in page.locator(f"#alert-{alert.id}").inner_text()
