"""The demo dealer website: inventory pages with tracking markup, and forms that make customers and leads."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from customers.models import Appointment, ConsentRecord, Customer, CustomerRooftop, TimelineEntry
from factories import InventoryVehicleFactory, RooftopFactory, add_contact, make_customer
from leads.models import InventoryVehicle, Lead
from tracking.messages import normalize
from tracking.models import TrackedEvent, Visitor
from tracking.services import events_record
from tracking.site_forms import sms_consent_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    rooftop = RooftopFactory(slug="bayview-toyota", name="Bayview Toyota", phone="+16172531000")
    for n in range(15):
        InventoryVehicleFactory(rooftop=rooftop, stock_number=f"N{n:03d}", model="RAV4", price_cents=3_000_000 + n * 100_000)
    for n in range(5):
        InventoryVehicleFactory(rooftop=rooftop, stock_number=f"U{n:03d}", model="Camry", condition="used",
                                price_cents=2_000_000 + n * 100_000)
    InventoryVehicleFactory(rooftop=rooftop, stock_number="SOLD1", status=InventoryVehicle.Status.SOLD)
    return rooftop


def test_the_srp_lists_the_stores_vehicles_twelve_a_page_with_tracking_markup(client, store):
    page = client.get("/demo-site/bayview-toyota/").content.decode()
    assert "20 vehicles" in page
    assert page.count("data-crm-vehicle-card") == 12
    assert f'data-write-key="{store.tracking_write_key}"' in page
    assert 'data-crm-page-type="srp"' in page
    assert "SOLD1" not in page
    second = client.get("/demo-site/bayview-toyota/", {"page": 2}).content.decode()
    assert second.count("data-crm-vehicle-card") == 8


@pytest.mark.parametrize("params, count", [
    ({"make": "Toyota", "model": "Camry"}, 5),
    ({"condition": "used"}, 5),
    ({"price_min": "31000", "price_max": "33,000"}, 3),
    ({"q": "rav4"}, 15),
    ({"make": "Ford"}, 20),  # not sold here: ignored, not an error
    ({"price_min": "lots"}, 20),
])
def test_srp_filters(client, store, params, count):
    page = client.get("/demo-site/bayview-toyota/", params).content.decode()
    assert f"{count} vehicle" in page


def test_the_srp_says_so_when_nothing_matches(client, store):
    assert "No vehicles match" in client.get("/demo-site/bayview-toyota/", {"price_max": "100"}).content.decode()


def test_the_vdp_carries_the_vehicle_for_track_js_and_has_the_calculators_and_forms(client, store):
    vehicle = InventoryVehicle.unscoped.get(stock_number="N003")
    page = client.get(f"/demo-site/bayview-toyota/vehicles/{vehicle.stock_number}/").content.decode()
    assert 'data-crm-page-type="vdp"' in page
    assert f'data-vin="{vehicle.vin}"' in page and 'data-price="33000"' in page
    for marker in ('id="payment-calculator"', 'id="trade-calculator"', 'data-crm-form="test_drive"',
                   'data-crm-form="price_alert"', 'data-crm-form="contact"', 'data-crm-form="trade"',
                   'data-crm-cta="call"', "$33,000"):
        assert marker in page, marker
    assert sms_consent_text(store) in page


def test_unknown_stores_and_vehicles_are_404(client, store):
    other = RooftopFactory(slug="elsewhere")
    InventoryVehicleFactory(rooftop=other, stock_number="X1")
    assert client.get("/demo-site/nowhere/").status_code == 404
    assert client.get("/demo-site/bayview-toyota/vehicles/X1/").status_code == 404
    assert client.get("/demo-site/bayview-toyota/vehicles/SOLD1/").status_code == 404


def _tomorrow(rooftop):
    return (datetime.now(ZoneInfo(rooftop.time_zone)) + timedelta(days=1)).date().isoformat()


def test_a_test_drive_request_makes_a_customer_a_lead_consent_and_timeline_and_joins_the_browser(client, store):
    vehicle = InventoryVehicle.unscoped.get(stock_number="N001")
    now = datetime.now(ZoneInfo("UTC"))
    events_record(rooftop=store, received_at=now, messages=[normalize(
        {"type": "track", "event": "asc_item_pageview", "anonymousId": "browser-1", "messageId": "vdp-1"},
        received_at=now)])
    client.cookies["crm_aid"] = "browser-1"
    response = client.post("/demo-site/bayview-toyota/forms/test_drive/", {
        "first_name": "Alex", "last_name": "Rivera", "email": "Alex.Rivera@Example.com", "phone": "(617) 253-1000",
        "comments": "Is it available Saturday?", "sms_consent": "on", "vehicle_id": vehicle.id,
        "preferred_date": _tomorrow(store), "preferred_time": "10:30", "submission_id": "sub-123",
    })
    assert response.status_code == 302
    assert "/demo-site/bayview-toyota/thanks/" in response["Location"]

    customer = Customer.objects.for_rooftops([store.id]).get()
    assert (customer.first_name, customer.last_name) == ("Alex", "Rivera")
    assert list(customer.emails.values_list("email", flat=True)) == ["alex.rivera@example.com"]
    assert list(customer.phones.values_list("e164", flat=True)) == ["+16172531000"]
    lead = Lead.objects.for_rooftops([store.id]).get()
    assert (lead.source, lead.vehicle_id, lead.customer_id) == ("web_form", vehicle.id, customer.id)
    assert "Test drive request" in lead.comments and "10:30 AM" in lead.comments
    consent = ConsentRecord.objects.get(customer=customer)
    assert (consent.channel, consent.granted) == ("sms", True)
    assert consent.text_shown == sms_consent_text(store)
    assert TimelineEntry.unscoped.filter(customer=customer, kind="lead", lead=lead).exists()
    assert CustomerRooftop.objects.filter(customer=customer, rooftop=store).exists()
    assert Visitor.unscoped.get(anonymous_id="browser-1").customer_id == customer.id
    assert TrackedEvent.objects.for_rooftops([store.id]).get(message_id="vdp-1").customer_id == customer.id

    again = client.post("/demo-site/bayview-toyota/forms/test_drive/", {
        "first_name": "Alex", "email": "alex.rivera@example.com", "vehicle_id": vehicle.id,
        "preferred_date": _tomorrow(store), "preferred_time": "10:30", "submission_id": "sub-123"})
    assert again.status_code == 302
    assert Lead.objects.for_rooftops([store.id]).count() == 1  # a double submit is one lead


def test_an_existing_customer_is_matched_by_email_and_no_consent_is_recorded_without_the_box(client, store):
    known = make_customer(store, first_name="Dana")
    add_contact(known, email="dana@example.com")
    response = client.post("/demo-site/bayview-toyota/forms/contact/", {
        "first_name": "Dana", "email": "dana@example.com", "phone": "303-871-2000", "comments": "Hi"})
    assert response.status_code == 302
    assert Customer.unscoped.filter(dealer_group=store.dealer_group).count() == 1
    assert list(known.phones.values_list("e164", flat=True)) == ["+13038712000"]  # what they told us is kept
    assert not ConsentRecord.objects.filter(customer=known).exists()
    assert Lead.unscoped.get(customer=known).source == "web_form"


@pytest.mark.parametrize("data, message", [
    ({"first_name": "No Contact"}, "Give us an email address or a phone number"),
    ({"first_name": "Bad", "email": "not-an-email"}, "Enter a valid email address"),
    ({"first_name": "Bad", "phone": "12"}, "Enter a valid US phone number"),
    ({"first_name": "Texts", "email": "t@example.com", "sms_consent": "on"}, "Enter a mobile number to get text"),
    ({"email": "t@example.com"}, "This field is required"),
])
def test_validation_errors_are_shown_on_the_form_and_nothing_is_stored(client, store, data, message):
    vehicle = InventoryVehicle.unscoped.get(stock_number="N002")
    response = client.post("/demo-site/bayview-toyota/forms/contact/", {**data, "vehicle_id": vehicle.id})
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert 'data-crm-page-type="vdp"' in page  # the shopper stays on the vehicle page
    assert not Customer.unscoped.filter(dealer_group=store.dealer_group).exists()
    assert not Lead.unscoped.filter(rooftop=store).exists()


def test_a_test_drive_in_the_past_is_refused(client, store):
    response = client.post("/demo-site/bayview-toyota/forms/test_drive/", {
        "first_name": "Al", "email": "al@example.com", "preferred_date": "2020-01-01", "preferred_time": "10:00"})
    assert response.status_code == 400
    assert "Choose today or a later day" in response.content.decode()


def test_a_trade_offer_request_keeps_the_trade_and_its_estimate_on_the_lead(client, store):
    vehicle = InventoryVehicle.unscoped.get(stock_number="N004")
    client.post("/demo-site/bayview-toyota/forms/trade/", {
        "first_name": "Tom", "email": "tom@example.com", "vehicle_id": vehicle.id, "trade_year": 2017,
        "trade_make": "Honda", "trade_model": "Civic", "trade_mileage": 70000, "trade_condition": "good",
        "estimated_value": 7650})
    lead = Lead.unscoped.get(rooftop=store)
    assert lead.trade_in == {"year": 2017, "make": "Honda", "model": "Civic", "mileage": 70000, "condition": "good",
                             "estimated_value": 7650}


def test_a_price_drop_alert_needs_an_email_and_makes_a_lead(client, store):
    vehicle = InventoryVehicle.unscoped.get(stock_number="N005")
    refused = client.post("/demo-site/bayview-toyota/forms/price_alert/", {"vehicle_id": vehicle.id, "target_price": 30000})
    assert refused.status_code == 400
    client.post("/demo-site/bayview-toyota/forms/price_alert/", {
        "email": "watcher@example.com", "vehicle_id": vehicle.id, "target_price": 30000})
    assert "Price-drop alert below $30,000" in Lead.unscoped.get(rooftop=store).comments


def test_a_service_request_makes_a_service_appointment_not_a_sales_lead(client, store):
    response = client.post("/demo-site/bayview-toyota/forms/service/", {
        "first_name": "Sue", "phone": "617-253-1000", "vehicle_description": "2016 Toyota Corolla",
        "service_needed": "brakes", "preferred_date": _tomorrow(store), "preferred_time": "09:00"})
    assert response.status_code == 302
    appointment = Appointment.unscoped.get(rooftop=store)
    assert (appointment.department, appointment.kind) == ("service", "service")
    assert "Brakes for 2016 Toyota Corolla" in appointment.notes
    assert appointment.scheduled_at.astimezone(ZoneInfo(store.time_zone)).hour == 9
    assert not Lead.unscoped.filter(rooftop=store).exists()


def test_forms_only_take_post_and_unknown_forms_are_404(client, store):
    assert client.get("/demo-site/bayview-toyota/forms/contact/").status_code == 405
    assert client.post("/demo-site/bayview-toyota/forms/nonsense/", {}).status_code == 404


def test_declined_tracking_is_passed_to_track_js(client, store):
    page = client.get("/demo-site/bayview-toyota/", {"tracking": "declined"}).content.decode()
    assert 'data-consent="declined"' in page
