"""A shopper browses the demo dealer website in a real Chromium; track.js's events and the form's customer and
lead arrive in PostgreSQL through the real collector. With tracking declined, nothing is sent."""

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from customers.models import Customer
from factories import InventoryVehicleFactory, RooftopFactory
from leads.models import Lead
from tracking.models import TrackedEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def store():
    rooftop = RooftopFactory(slug="browser-toyota", name="Browser Toyota", phone="+16172531000")
    for n, model in enumerate(["RAV4", "Camry", "Corolla", "RAV4"]):
        InventoryVehicleFactory(rooftop=rooftop, stock_number=f"B{n}", model=model, price_cents=2_500_000 + n * 250_000)
    return rooftop


def _wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.25)
    return predicate()


def test_browsing_the_demo_site_sends_events_and_the_test_drive_form_makes_a_customer_and_lead(
        live_server_url, page, store):
    beacons = []
    page.on("request", lambda r: beacons.append(r.url) if "/v1/" in r.url else None)
    page.goto(f"{live_server_url}/demo-site/browser-toyota/?make=Toyota")
    page.click("a.vdp-link >> nth=0")
    page.wait_for_selector("#trade-calculator")
    vin = page.get_attribute("[data-crm-vehicle]", "data-vin")

    page.fill("#trade-form [name=year]", "2017")
    page.fill("#trade-form [name=make]", "Honda")
    page.fill("#trade-form [name=model]", "Civic")
    page.fill("#trade-form [name=mileage]", "70000")
    page.click("#trade-calc")
    assert "Estimated trade-in value" in page.inner_text("#trade-result")
    page.click("#payment-calc")

    page.click("[data-crm-cta=test_drive]")
    form = page.locator("#form-test_drive")
    form.locator("[name=first_name]").fill("Brooke")
    form.locator("[name=last_name]").fill("Browser")
    form.locator("[name=email]").fill("brooke.browser@example.com")
    form.locator("[name=phone]").fill("(617) 253-1000")
    form.locator("[name=sms_consent]").check()
    tomorrow = (datetime.now(ZoneInfo(store.time_zone)) + timedelta(days=1)).date().isoformat()
    form.locator("[name=preferred_date]").fill(tomorrow)
    form.locator("[name=preferred_time]").select_option("11:00")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/thanks/**")
    assert "Thank you" in page.inner_text("h1")
    page.screenshot(path="/tmp/crm-demo-site-thanks.png")

    names = {"asc_pageview", "asc_itemlist_pageview", "asc_item_pageview", "trade_in_calculator_completed",
             "payment_calculator_used", "asc_cta_interaction", "asc_form_engagement", "asc_form_submission"}

    def stored():
        events = list(TrackedEvent.objects.for_rooftops([store.id]))
        return events if names <= {e.event for e in events} and any(e.type == "identify" for e in events) else None

    events = _wait_for(stored)
    assert events, f"events did not arrive; beacons sent: {beacons}; stored: " + str(
        sorted({e.event for e in TrackedEvent.objects.for_rooftops([store.id])}))
    trade = next(e for e in events if e.event == "trade_in_calculator_completed")
    assert trade.properties["estimated_value"] > 0 and trade.properties["trade_make"] == "Honda"
    vdp = next(e for e in events if e.event == "asc_item_pageview")
    assert vdp.vin == vin and vdp.properties["item_make"] == "Toyota"
    submission = next(e for e in events if e.event == "asc_form_submission")
    assert submission.properties["form_type"] == "test_drive"

    customer = Customer.objects.for_rooftops([store.id]).get()
    assert customer.emails.get().email == "brooke.browser@example.com"
    lead = Lead.objects.for_rooftops([store.id]).get()
    assert lead.customer_id == customer.id and lead.vehicle.vin == vin
    assert customer.consents.get().channel == "sms"
    # The shopper's anonymous browsing before the form is now the customer's story.
    assert _wait_for(lambda: set(TrackedEvent.objects.for_rooftops([store.id])
                                 .values_list("customer_id", flat=True)) == {customer.id})


def test_a_page_with_declined_tracking_sends_nothing(live_server_url, page, store):
    beacons = []
    page.on("request", lambda r: beacons.append(r.url) if "/v1/" in r.url else None)
    page.goto(f"{live_server_url}/demo-site/browser-toyota/?tracking=declined")
    page.wait_for_function("() => window.crmTrack && window.crmTrack.__crm === true")
    assert page.evaluate("crmTrack.hasOptedOut()") is True
    page.click("[data-offer]")
    page.evaluate("crmTrack.track('chat_started', {}); crmTrack.flush()")
    page.wait_for_timeout(2500)  # longer than track.js's 2 s batching
    assert beacons == []
    assert page.evaluate("document.cookie").find("crm_aid") == -1
    assert not TrackedEvent.objects.for_rooftops([store.id]).exists()


def test_do_not_track_me_stops_sending_on_the_next_pages(live_server_url, page, store):
    page.goto(f"{live_server_url}/demo-site/browser-toyota/")
    page.wait_for_function("() => window.crmTrack && window.crmTrack.__crm === true")
    page.click("#privacy-decline")
    beacons = []
    page.on("request", lambda r: beacons.append(r.url) if "/v1/" in r.url else None)
    page.click("a.vdp-link >> nth=0")
    page.wait_for_selector("#trade-calculator")
    page.wait_for_timeout(2500)
    assert beacons == []
    assert page.is_visible("#privacy-allow")


def test_the_managers_debugger_shows_events_as_they_arrive_and_pauses(live_server_url, page, store):
    import base64
    import json
    import urllib.request

    from factories import make_staff
    from rooftops.models import Role

    manager = make_staff(store, Role.MANAGER, display_name="Mia Manager")
    page.goto(f"{live_server_url}/login/")
    page.fill("input[name=username]", manager.username)
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("button[type=submit]")
    page.goto(f"{live_server_url}/tracking/setup/")
    assert store.tracking_write_key in page.inner_text("#tracking-snippet")

    def send(event: str, body: dict | None = None, status: int = 200) -> None:
        request = urllib.request.Request(
            f"{live_server_url}/v1/track", method="POST",
            data=json.dumps(body or {"event": event, "anonymousId": "debug-visitor"}).encode(),
            headers={"Content-Type": "application/json",
                     "Authorization": "Basic " + base64.b64encode(f"{store.tracking_write_key}:".encode()).decode()})
        try:
            assert urllib.request.urlopen(request).status == status
        except urllib.error.HTTPError as exc:
            assert exc.code == status

    send("chat_started")
    page.wait_for_selector(".debugger-event:has-text('chat_started')", timeout=6000)
    send("", {"anonymousId": "debug-visitor"}, status=400)
    page.wait_for_selector(".debugger-rejection:has-text('track needs an event name')", timeout=6000)

    page.click("#debugger-pause")
    send("credit_application_started")
    page.wait_for_timeout(3000)
    assert page.locator(".debugger-event:has-text('credit_application_started')").count() == 0
    page.click("#debugger-pause")  # resume
    page.wait_for_selector(".debugger-event:has-text('credit_application_started')", timeout=6000)
    first = page.locator(".debugger-event").first.inner_text()
    assert "credit_application_started" in first  # newest first
    page.screenshot(path="/tmp/crm-tracking-debugger.png", full_page=True)
