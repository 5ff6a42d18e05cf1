"""The appointments API: list, create, move, shown and no-show, through customers.services."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Appointment, TimelineEntry
from factories import LeadFactory, make_customer
from leads.models import Lead
from rooftops.models import AccessRecord
from rooftops.services import api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(world):
    return make_customer(world.rooftop, first_name="Jordan", last_name="Rivera")


@pytest.fixture
def appointment(world, customer):
    return Appointment.unscoped.create(rooftop=world.rooftop, customer=customer, department="sales", kind="test_drive",
                                       scheduled_at=timezone.now() + timedelta(days=1))


def _iso(delta: timedelta) -> str:
    return (timezone.now() + delta).isoformat()


def test_create_for_a_lead_moves_the_lead_to_appointment_set(world, customer, client):
    lead = LeadFactory(rooftop=world.rooftop, customer=customer, status=Lead.Status.WORKING)
    client.force_login(world.salesperson)
    response = client.post("/api/appointments/", {"customer": customer.id, "kind": "test_drive", "lead": lead.id,
                                                  "scheduled_at": _iso(timedelta(hours=3)), "notes": "Bring the trade"},
                           content_type="application/json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["department"], body["status"], body["lead"]) == ("test_drive", "sales", "scheduled", lead.id)
    lead.refresh_from_db()
    assert lead.status == "appointment_set"


@pytest.mark.parametrize("body, field", [
    ({"kind": "test_drive", "scheduled_at": "tomorrow"}, "scheduled_at"),
    ({"kind": "picnic", "scheduled_at": "2030-01-01T10:00:00Z"}, "kind"),
    ({"kind": "test_drive"}, "scheduled_at"),
    ({"kind": "service", "scheduled_at": "2030-01-01T10:00:00Z", "lead": 99999999}, "lead"),
    ({"kind": "service", "scheduled_at": "2030-01-01T10:00:00Z", "rooftop": 99999999}, "rooftop"),
])
def test_create_refuses_bad_fields_with_400(world, customer, client, body, field):
    client.force_login(world.salesperson)
    response = client.post("/api/appointments/", {"customer": customer.id, **body}, content_type="application/json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not Appointment.unscoped.exists()


def test_create_refuses_a_past_time_and_another_stores_customer(world, customer, client):
    client.force_login(world.salesperson)
    past = client.post("/api/appointments/", {"customer": customer.id, "kind": "service",
                                              "scheduled_at": _iso(-timedelta(days=1))}, content_type="application/json")
    assert past.status_code == 422 and "passed" in past.json()["detail"]
    theirs = make_customer(world.other_rooftop)
    other = client.post("/api/appointments/", {"customer": theirs.id, "kind": "service",
                                               "scheduled_at": _iso(timedelta(days=1))}, content_type="application/json")
    assert other.status_code == 400 and "customer" in other.json()
    assert not Appointment.unscoped.exists()


def test_list_filters_and_records_the_read(world, customer, appointment, client):
    service = Appointment.unscoped.create(rooftop=world.rooftop, customer=customer, department="service",
                                          kind="service", scheduled_at=timezone.now() + timedelta(days=3))
    Appointment.unscoped.create(rooftop=world.other_rooftop, customer=make_customer(world.other_rooftop),
                                department="sales", kind="test_drive", scheduled_at=timezone.now())
    client.force_login(world.bdc)

    def ids(**params):
        response = client.get("/api/appointments/", params)
        assert response.status_code == 200, response.json()
        return [a["id"] for a in response.json()["results"]]

    assert ids() == [service.id, appointment.id]
    assert ids(department="service") == [service.id]
    assert ids(kind="test_drive") == [appointment.id]
    assert ids(scheduled_before=_iso(timedelta(days=2))) == [appointment.id]
    assert ids(customer=customer.id, status="scheduled") == [service.id, appointment.id]
    assert client.get("/api/appointments/", {"status": "maybe"}).status_code == 400
    assert client.get("/api/appointments/", {"scheduled_after": "soon"}).status_code == 400
    assert AccessRecord.unscoped.filter(kind="appointments_api").exists()


def test_move_an_appointment_and_mark_it(world, customer, appointment, client):
    client.force_login(world.salesperson)
    url = f"/api/appointments/{appointment.id}/"
    moved = client.patch(url, {"scheduled_at": _iso(timedelta(days=2)), "notes": "Moved by phone"},
                         content_type="application/json")
    assert moved.status_code == 200 and moved.json()["notes"] == "Moved by phone"
    assert TimelineEntry.unscoped.filter(customer=customer, summary__contains="moved to").count() == 1
    assert client.patch(url, {"scheduled_at": "soon"}, content_type="application/json").status_code == 400
    shown = client.post(f"{url}shown/")
    assert shown.status_code == 200 and shown.json()["status"] == "shown"
    assert TimelineEntry.unscoped.filter(customer=customer, kind="test_drive").count() == 1
    assert client.post(f"{url}shown/").status_code == 422  # already shown
    assert client.patch(url, {"notes": "late"}, content_type="application/json").status_code == 422
    no_show = client.post(f"{url}no-show/")
    assert no_show.status_code == 200 and no_show.json()["status"] == "no_show"


def test_another_stores_staff_get_404(world, appointment, client):
    client.force_login(world.outsider)
    url = f"/api/appointments/{appointment.id}/"
    assert client.get(url).status_code == 404
    assert client.patch(url, {"notes": "x"}, content_type="application/json").status_code == 404
    assert client.post(f"{url}shown/").status_code == 404
    assert client.post(f"{url}no-show/").status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"


def test_a_retried_mark_is_answered_once_and_a_read_only_token_cannot_mark(world, appointment, client):
    client.force_login(world.salesperson)
    url = f"/api/appointments/{appointment.id}/shown/"
    first, again = client.post(url, HTTP_IDEMPOTENCY_KEY="m-1"), client.post(url, HTTP_IDEMPOTENCY_KEY="m-1")
    assert first.status_code == again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert TimelineEntry.unscoped.filter(kind="test_drive").count() == 1
    _, key = api_token_create(user=world.salesperson, name="calendar", scope="read")
    refused = client.post(f"/api/appointments/{appointment.id}/no-show/", HTTP_AUTHORIZATION=f"Token {key}")
    assert refused.status_code == 403


def test_create_at_a_rooftop_that_does_not_know_the_customer_is_400(world, customer, client):
    from rooftops.models import Role, StaffRole

    StaffRole.objects.create(user=world.salesperson, rooftop=world.other_rooftop, role=Role.SALESPERSON)
    client.force_login(world.salesperson)
    response = client.post("/api/appointments/", {"customer": customer.id, "kind": "service",
                                                  "rooftop": world.other_rooftop.id,
                                                  "scheduled_at": _iso(timedelta(days=1))},
                           content_type="application/json")
    assert response.status_code == 400 and "rooftop" in response.json()
    assert not Appointment.unscoped.exists()
