"""A salesperson opens a customer the service department knows, sees the service history, and logs a call."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import OwnedVehicle, TimelineEntry
from factories import add_contact, make_customer, make_staff
from rooftops.models import Role
from service.models import RepairOrder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(transactional_db):
    from factories import RooftopFactory

    rooftop = RooftopFactory(name="Lakeside Browser Toyota")
    salesperson = make_staff(rooftop, Role.SALESPERSON, display_name="Sally Browser")
    salesperson.set_password("correct-horse-battery")
    salesperson.save()
    advisor = make_staff(rooftop, Role.SERVICE_ADVISOR, display_name="Andy Advisor")
    customer = make_customer(rooftop, first_name="Helen", last_name="Serviced")
    add_contact(customer, email="helen@example.com", phone="+16175550142")
    vehicle = OwnedVehicle.objects.create(customer=customer, year=2019, make="Toyota", model="Highlander",
                                          trade_value_cents=2_600_000, payoff_cents=900_000)
    RepairOrder.objects.create(rooftop=rooftop, customer=customer, vehicle=vehicle, ro_number="71234", advisor=advisor)
    TimelineEntry.unscoped.create(customer=customer, rooftop=rooftop, department="service", kind="service_visit",
                                  actor=advisor, occurred_at=timezone.now() - timedelta(days=2),
                                  summary="Service visit: RO 71234 — 60k mile service on the 2019 Toyota Highlander")
    return salesperson, customer


def test_a_salesperson_sees_the_service_history_and_logs_a_call(shop, live_server_url, page):
    salesperson, customer = shop
    page.goto(f"{live_server_url}/customers/{customer.pk}/")
    page.fill("input[name=username]", salesperson.username)
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("button[type=submit]")
    page.wait_for_selector("#timeline-entries")
    first = page.locator("#timeline-entries .tl-entry").first
    assert "RO 71234" in first.inner_text() and "60k mile service" in first.inner_text()
    assert "Worth $17,000 more than they owe" in page.locator("aside").inner_text()
    assert "(617) 555-0142" in page.locator("aside").inner_text()

    page.select_option("#form-call select[name=outcome]", "Talked to customer")
    page.fill("#form-call textarea[name=notes]", "Interested in trading the Highlander for a Grand Highlander")
    page.click("#form-call button[type=submit]")
    page.wait_for_selector("#status-call .action-status.ok")
    assert page.locator("#status-call").inner_text() == "Call logged."
    newest = page.locator("#timeline-entries .tl-entry").first
    assert "Call by Sally Browser: Talked to customer" in newest.inner_text()
    assert "Grand Highlander" in newest.inner_text()
    page.screenshot(path="/tmp/crm-customer-page.png", full_page=True)
    assert TimelineEntry.unscoped.filter(customer=customer, kind="call", actor=salesperson).count() == 1

    # The form was reset for the next call; without an outcome the browser asks for one before sending.
    assert page.locator("#form-call select[name=outcome]").input_value() == ""
    page.click("#form-call button[type=submit]")
    assert page.locator("#form-call select[name=outcome]").evaluate("e => e.validity.valueMissing")
    assert TimelineEntry.unscoped.filter(customer=customer, kind="call").count() == 1
