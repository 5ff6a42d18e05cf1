"""The service lane page: today's appointments and open ROs, with equity and open-lead flags."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Appointment, OwnedVehicle
from factories import LeadFactory, make_customer
from service.models import RepairOrder

pytestmark = pytest.mark.django_db


@pytest.fixture
def lane(world):
    equity = make_customer(world.rooftop, first_name="Eve", last_name="Equity")
    OwnedVehicle.objects.create(customer=equity, make="Toyota", model="Camry", trade_value_cents=2_000_000, payoff_cents=500_000)
    upside = make_customer(world.rooftop, first_name="Uma", last_name="Upside")
    OwnedVehicle.objects.create(customer=upside, make="Toyota", model="Corolla", trade_value_cents=800_000, payoff_cents=1_100_000)
    shopper = make_customer(world.rooftop, first_name="Sol", last_name="Shopping")
    LeadFactory(rooftop=world.rooftop, customer=shopper, assigned_to=world.salesperson)
    # Noon today on the store's clock is today wherever the test runs.
    from zoneinfo import ZoneInfo
    noon = timezone.now().astimezone(ZoneInfo(world.rooftop.time_zone)).replace(hour=12, minute=0)
    for customer in (equity, upside):
        Appointment.unscoped.create(rooftop=world.rooftop, customer=customer, department="service", kind="service",
                                    scheduled_at=noon)
    Appointment.unscoped.create(rooftop=world.rooftop, customer=upside, department="service", kind="service",
                                scheduled_at=noon - timedelta(days=2))
    RepairOrder.objects.create(rooftop=world.rooftop, customer=shopper, ro_number="60001", status="open", advisor=world.advisor)
    RepairOrder.objects.create(rooftop=world.rooftop, customer=equity, ro_number="60002", status="closed")
    other = make_customer(world.other_rooftop, first_name="Otto", last_name="Elsewhere")
    RepairOrder.objects.create(rooftop=world.other_rooftop, customer=other, ro_number="60003", status="open")
    return {"equity": equity, "upside": upside, "shopper": shopper}


def test_an_advisor_sees_today_and_open_ros_with_flags(client, world, lane):
    client.force_login(world.advisor)
    response = client.get("/service/lane/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Today's appointments (2)" in html and "Open repair orders (1)" in html
    assert "RO 60001" in html and "RO 60002" not in html and "Otto" not in html
    rows = html.split('class="lane-row"')[1:]
    eve = next(r for r in rows if "Eve Equity" in r)
    uma = next(r for r in rows if "Uma Upside" in r)
    sol = next(r for r in rows if "Sol Shopping" in r)
    assert "flag-equity" in eve and "$15,000" in eve and "flag-lead" not in eve
    assert "flag-equity" not in uma
    assert "flag-lead" in sol and "Sam Sales" in sol
    assert f'/customers/{lane["equity"].pk}/' in eve


def test_the_lane_is_for_service_and_managers_only(client, world, lane):
    client.force_login(world.salesperson)
    assert client.get("/service/lane/").status_code == 404
    client.force_login(world.outsider)
    assert client.get("/service/lane/").status_code == 404
    client.force_login(world.manager)
    assert client.get("/service/lane/").status_code == 200
    client.logout()
    assert client.get("/service/lane/").status_code == 302


def test_an_empty_lane_says_so(client, world):
    client.force_login(world.advisor)
    html = client.get("/service/lane/").content.decode()
    assert "No service appointments today." in html and "No open repair orders." in html
