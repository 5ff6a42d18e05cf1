"""The service API: repair orders and a customer's owned vehicles, read only, equity without the payoff."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import OwnedVehicle
from factories import make_customer
from rooftops.models import AccessRecord
from rooftops.services import api_token_create
from service.models import RepairOrder

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(world):
    return make_customer(world.rooftop, first_name="Sam", last_name="Driver")


@pytest.fixture
def car(customer):
    return OwnedVehicle.objects.create(customer=customer, vin="2T3P1RFV0RC000001", year=2021, make="Toyota",
                                       model="RAV4", trade_value_cents=2_400_000, payoff_cents=1_900_000)


@pytest.fixture
def ro(world, customer, car):
    return RepairOrder.unscoped.create(rooftop=world.rooftop, customer=customer, vehicle=car, ro_number="50123",
                                       advisor=world.advisor, total_cents=8999,
                                       lines=[{"op_code": "LOF", "description": "Oil and filter", "cents": 8999}])


def test_repair_orders_list_filters_and_records_the_read(world, customer, ro, client):
    closed = RepairOrder.unscoped.create(rooftop=world.rooftop, customer=customer, ro_number="49000", status="closed",
                                         opened_at=timezone.now() - timedelta(days=40))
    RepairOrder.unscoped.create(rooftop=world.other_rooftop, customer=make_customer(world.other_rooftop), ro_number="1")
    client.force_login(world.advisor)

    def ids(**params):
        response = client.get("/api/repair-orders/", params)
        assert response.status_code == 200, response.json()
        return [r["id"] for r in response.json()["results"]]

    assert ids() == [closed.id, ro.id]
    assert ids(status="open") == [ro.id]
    assert ids(opened_before=(timezone.now() - timedelta(days=1)).isoformat()) == [closed.id]
    assert ids(customer=customer.id, rooftop=world.rooftop.id) == [closed.id, ro.id]
    assert client.get("/api/repair-orders/", {"status": "lost"}).status_code == 400
    assert client.get("/api/repair-orders/", {"rooftop": world.other_rooftop.id}).status_code == 400
    record = AccessRecord.unscoped.get(kind="service_api", path="/api/repair-orders/", query="")
    assert record.object_ids == [customer.id]


def test_a_repair_order_with_its_lines_and_another_stores_staff_get_404(world, ro, client):
    client.force_login(world.salesperson)
    body = client.get(f"/api/repair-orders/{ro.id}/").json()
    assert body["ro_number"] == "50123" and body["lines"][0]["op_code"] == "LOF"
    assert body["advisor"]["id"] == world.advisor.id and body["vehicle"]["vin"] == "2T3P1RFV0RC000001"
    client.force_login(world.outsider)
    assert client.get(f"/api/repair-orders/{ro.id}/").status_code == 404
    assert client.get("/api/repair-orders/").json()["results"] == []


def test_owned_vehicles_show_equity_but_not_the_payoff(world, customer, car, client):
    OwnedVehicle.objects.create(customer=customer, year=2015, make="Honda", model="Fit")
    client.force_login(world.salesperson)
    response = client.get(f"/api/customers/{customer.id}/vehicles/")
    assert response.status_code == 200
    rav4, fit = response.json()
    assert rav4["equity"] == {"position": "positive", "equity_cents": 500_000,
                              "label": "Worth $5,000 more than they owe"}
    assert fit["equity"]["position"] == "unknown" and fit["equity"]["equity_cents"] is None
    assert "payoff" not in response.content.decode() and "1900000" not in response.content.decode()
    assert AccessRecord.unscoped.filter(kind="service_api", object_ids=[customer.id]).count() == 1
    client.force_login(world.outsider)
    assert client.get(f"/api/customers/{customer.id}/vehicles/").status_code == 404


def test_the_service_api_reads_except_opening_an_ro(world, ro, customer, client):
    _, key = api_token_create(user=world.advisor, name="dms")
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
    # Opening an RO is the one write (tests/service/test_api_repair_order_open.py); an empty one is a field error.
    assert client.post("/api/repair-orders/", {}, **auth).status_code == 400
    assert client.post(f"/api/customers/{customer.id}/vehicles/", {}, **auth).status_code == 405
    assert client.get("/api/repair-orders/").status_code in (401, 403)
