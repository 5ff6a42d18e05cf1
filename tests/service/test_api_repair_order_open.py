"""Another system opens a repair order through the staff API: the RO is open, the customer's visit starts, and
sales is told once, as a check-in on the lane does."""

import pytest

from alerts.models import Alert
from factories import make_customer
from service.models import RepairOrder, ServiceVisit

from test_service_lane_alert import leasing_customer

pytestmark = pytest.mark.django_db
URL = "/api/repair-orders/"


def test_an_advisor_opens_an_ro_and_sales_hears_once(world, client):
    customer, vehicle = leasing_customer(world)
    client.force_login(world.advisor)
    body = {"rooftop": world.rooftop.id, "customer": customer.id, "ro_number": "7001", "vehicle": vehicle.id,
            "mileage_in": 41_250, "lines": [{"op_code": "LOF", "description": "Oil and filter", "cents": 8999}]}
    response = client.post(URL, body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert (response.json()["status"], response.json()["total_cents"]) == ("open", 8999)
    ro = RepairOrder.unscoped.get(rooftop=world.rooftop, ro_number="7001")
    visit = ServiceVisit.unscoped.get(customer=customer)
    assert visit.repair_order_id == ro.id and visit.alert_id is not None
    alert = Alert.unscoped.get(pk=visit.alert_id)
    assert any("Lease ends in 45 days" in reason for reason in alert.reasons)
    again = client.post(URL, {**body, "ro_number": "7002"}, content_type="application/json")
    assert again.status_code == 201 and Alert.unscoped.filter(customer=customer).count() == 1  # one per visit


@pytest.mark.parametrize("change, field", [
    ({"ro_number": "7001"}, "ro_number"),  # already on file
    ({"customer": 999999}, "customer"),
    ({"vehicle": 999999}, "vehicle"),
    ({"mileage_in": -1}, "mileage_in"),
    ({"lines": [{"cents": "lots"}]}, "lines"),
])
def test_a_bad_ro_is_a_field_error(world, client, change, field):
    customer, vehicle = leasing_customer(world)
    RepairOrder.unscoped.create(rooftop=world.rooftop, customer=customer, ro_number="7001")
    client.force_login(world.advisor)
    body = {"rooftop": world.rooftop.id, "customer": customer.id, "ro_number": "7009", **change}
    response = client.post(URL, body, content_type="application/json")
    assert response.status_code == 400 and field in response.json(), response.content


def test_only_advisors_and_managers_open_ros_and_only_for_customers_of_the_store(world, client):
    theirs = make_customer(world.other_rooftop)
    client.force_login(world.salesperson)
    response = client.post(URL, {"rooftop": world.rooftop.id, "customer": theirs.id, "ro_number": "1"},
                           content_type="application/json")
    assert response.status_code == 400 and "rooftop" in response.json()
    client.force_login(world.advisor)
    response = client.post(URL, {"rooftop": world.rooftop.id, "customer": theirs.id, "ro_number": "1"},
                           content_type="application/json")
    assert response.status_code == 400 and "customer" in response.json()
    assert not RepairOrder.unscoped.exists()
