"""The leads API: list with filters and cursor pages, detail with speed-to-lead, create, status, assign, activity."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Customer, TimelineEntry
from factories import InventoryVehicleFactory, LeadFactory, add_contact, make_customer, make_staff
from leads.models import Lead, LeadClock, LeadStatusChange
from rooftops.models import AccessRecord, Role
from rooftops.services import api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(world):
    customer = make_customer(world.rooftop, first_name="Jordan", last_name="Rivera")
    add_contact(customer, email="jordan@example.com", phone="+16175550123")
    lead = LeadFactory(rooftop=world.rooftop, customer=customer, assigned_to=world.salesperson,
                       vehicle=InventoryVehicleFactory(rooftop=world.rooftop))
    LeadClock.unscoped.create(lead=lead, rooftop=world.rooftop, owner=world.salesperson, started_at=lead.created_at,
                              deadline_at=lead.created_at + timedelta(minutes=15))
    return lead


def test_the_list_shows_my_rooftops_leads_and_records_the_read(world, lead, client):
    LeadFactory(rooftop=world.other_rooftop, customer=make_customer(world.other_rooftop))
    client.force_login(world.bdc)
    response = client.get("/api/leads/")
    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body["results"]] == [lead.id]
    assert body["results"][0]["customer"] == {"id": lead.customer_id, "name": "Jordan Rivera"}
    assert body["results"][0]["assigned_to"] == {"id": world.salesperson.id, "name": "Sam Sales"}
    record = AccessRecord.unscoped.get(kind="leads_api")
    assert (record.rooftop_id, record.object_ids, record.rows) == (world.rooftop.id, [lead.customer_id], 1)


def test_the_list_filters(world, lead, client):
    old = LeadFactory(rooftop=world.rooftop, customer=make_customer(world.rooftop, first_name="Old"),
                      source=Lead.Source.PHONE, status=Lead.Status.LOST, created_at=timezone.now() - timedelta(days=9))
    client.force_login(world.salesperson)

    def ids(**params):
        response = client.get("/api/leads/", params)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [old.id, lead.id] or ids() == [lead.id, old.id]
    assert ids(status="open") == [lead.id]
    assert ids(status="lost") == [old.id]
    assert ids(source="phone") == [old.id]
    assert ids(assigned_to="me") == [lead.id]
    assert ids(assigned_to=str(world.salesperson.id)) == [lead.id]
    assert ids(assigned_to="pool") == [old.id]
    assert ids(rooftop=str(world.rooftop.id), q="Jordan") == [lead.id]
    since = (timezone.now() - timedelta(days=2)).isoformat()
    assert ids(created_after=since) == [lead.id]
    assert ids(created_before=since) == [old.id]


@pytest.mark.parametrize("params, field", [
    ({"status": "sleeping"}, "status"), ({"source": "fax"}, "source"), ({"assigned_to": "them"}, "assigned_to"),
    ({"created_after": "last tuesday"}, "created_after"), ({"rooftop": "99999999"}, "rooftop"),
    ({"rooftop": "99999999999999999999"}, "rooftop"),
    ({"created_after": "2026-01-02T00:00:00Z", "created_before": "2026-01-01T00:00:00Z"}, "created_before"),
    ({"cursor": "cD1hYmM="}, "cursor"),
])
def test_unknown_filter_values_are_400_naming_the_field(world, client, params, field):
    client.force_login(world.bdc)
    response = client.get("/api/leads/", params)
    assert response.status_code == 400 and field in response.json(), response.json()


def test_the_list_pages_by_cursor(world, client):
    customer = make_customer(world.rooftop)
    made = [LeadFactory(rooftop=world.rooftop, customer=customer).id for _ in range(5)]
    client.force_login(world.manager)
    first = client.get("/api/leads/", {"limit": 2}).json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    seen = [r["id"] for page in (first, second, third) for r in page["results"]]
    assert seen == sorted(made, reverse=True) and third["next"] is None


def test_the_detail_has_the_speed_to_lead_stamps_and_the_clock(world, lead, client):
    Lead.unscoped.filter(pk=lead.pk).update(first_response_at=lead.created_at + timedelta(seconds=40))
    client.force_login(world.salesperson)
    body = client.get(f"/api/leads/{lead.id}/").json()
    speed = body["speed_to_lead"]
    assert speed["first_response_at"] is not None and speed["first_attempt_at"] is None
    assert speed["deadline_at"] == speed["clock"]["deadline_at"]
    assert speed["clock"]["running"] is True and speed["clock"]["owner"]["id"] == world.salesperson.id
    response_step = next(s for s in speed["steps"] if s["key"] == "response")
    assert response_step["seconds_after_created"] == 40
    assert AccessRecord.unscoped.filter(kind="leads_api", object_ids=[lead.customer_id]).count() == 1


def test_another_stores_staff_get_404(world, lead, client):
    client.force_login(world.outsider)
    assert client.get(f"/api/leads/{lead.id}/").status_code == 404
    for action, body in (("status", {"status": "working"}), ("assign", {"user": "me"}),
                         ("activities", {"kind": "call"})):
        assert client.post(f"/api/leads/{lead.id}/{action}/", body, content_type="application/json").status_code == 404
    assert client.get("/api/leads/").json()["results"] == []


def test_anonymous_callers_are_refused(lead, client):
    assert client.get("/api/leads/").status_code in (401, 403)
    assert client.get(f"/api/leads/{lead.id}/").status_code in (401, 403)


def test_create_matches_the_customer_and_routes_the_lead(world, client):
    known = make_customer(world.rooftop, first_name="Casey")
    add_contact(known, email="casey@example.com")
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop)
    client.force_login(world.bdc)
    response = client.post("/api/leads/", {
        "source": "phone", "first_name": "Casey", "email": "CASEY@example.com", "vehicle": vehicle.id,
        "comments": "Wants a test drive",
    }, content_type="application/json")
    assert response.status_code == 201, response.json()
    body = response.json()
    lead = Lead.unscoped.get(pk=body["id"])
    assert lead.customer_id == known.id and lead.vehicle_id == vehicle.id and lead.source == "phone"
    assert TimelineEntry.unscoped.filter(lead=lead, kind="lead").count() == 1
    assert body["speed_to_lead"]["created_at"] is not None


@pytest.mark.parametrize("body, field", [
    ({"source": "fax", "first_name": "A"}, "source"),
    ({"source": "phone", "email": "not-an-email"}, "email"),
    ({"source": "phone", "phone": "12"}, "phone"),
    ({"source": "phone"}, "non_field_errors"),
    ({"source": "phone", "first_name": "A", "vehicle": 999999999}, "vehicle"),
    ({"source": "phone", "first_name": "A", "rooftop": 999999999}, "rooftop"),
])
def test_create_refuses_bad_fields_with_400(world, client, body, field):
    client.force_login(world.bdc)
    response = client.post("/api/leads/", body, content_type="application/json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not Lead.unscoped.exists()


def test_create_needs_the_rooftop_when_i_work_at_two(world, client):
    from rooftops.models import StaffRole

    StaffRole.objects.create(user=world.bdc, rooftop=world.other_rooftop, role=Role.BDC_AGENT)
    client.force_login(world.bdc)
    body = {"source": "phone", "first_name": "Ann"}
    assert "rooftop" in client.post("/api/leads/", body, content_type="application/json").json()
    made = client.post("/api/leads/", {**body, "rooftop": world.other_rooftop.id}, content_type="application/json")
    assert made.status_code == 201 and made.json()["rooftop"] == world.other_rooftop.id


def test_a_retried_create_makes_one_lead(world, client):
    client.force_login(world.bdc)
    body = {"source": "walk_in", "first_name": "Riley", "phone": "617 555 0199"}
    first = client.post("/api/leads/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="lead-1")
    again = client.post("/api/leads/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="lead-1")
    assert first.status_code == again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert Lead.unscoped.count() == 1 and Customer.unscoped.filter(first_name="Riley").count() == 1


def test_a_read_only_token_cannot_write(world, lead, client):
    _, key = api_token_create(user=world.manager, name="reports", scope="read")
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
    assert client.get(f"/api/leads/{lead.id}/", **auth).status_code == 200
    for url, body in (("/api/leads/", {"source": "phone", "first_name": "A"}),
                      (f"/api/leads/{lead.id}/status/", {"status": "working"}),
                      (f"/api/leads/{lead.id}/activities/", {"kind": "note", "note": "x"})):
        assert client.post(url, body, content_type="application/json", **auth).status_code == 403
    assert Lead.unscoped.count() == 1 and not LeadStatusChange.objects.exists()


def test_status_change_stops_the_clock(world, lead, client):
    client.force_login(world.salesperson)
    response = client.post(f"/api/leads/{lead.id}/status/", {"status": "working"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "working"
    assert response.json()["speed_to_lead"]["clock"]["running"] is False
    again = client.post(f"/api/leads/{lead.id}/status/", {"status": "working"}, content_type="application/json")
    assert again.status_code == 422 and "already" in again.json()["detail"]
    lost = client.post(f"/api/leads/{lead.id}/status/", {"status": "lost"}, content_type="application/json")
    assert lost.status_code == 422 and "why" in lost.json()["detail"]
    assert client.post(f"/api/leads/{lead.id}/status/", {"status": "gone"},
                       content_type="application/json").json().keys() == {"status"}


def test_assign_by_a_manager_and_claim_by_a_salesperson(world, lead, client):
    client.force_login(world.manager)
    response = client.post(f"/api/leads/{lead.id}/assign/", {"user": world.teammate.id, "reason": "Speaks Spanish"},
                           content_type="application/json")
    assert response.status_code == 200, response.json()
    assert response.json()["assigned_to"]["id"] == world.teammate.id
    client.force_login(world.salesperson)
    refused = client.post(f"/api/leads/{lead.id}/assign/", {"user": world.salesperson.id},
                          content_type="application/json")
    assert refused.status_code == 422 and "already" in refused.json()["detail"]  # claiming a taken lead
    given = client.post(f"/api/leads/{lead.id}/assign/", {"user": world.teammate.id}, content_type="application/json")
    assert given.status_code == 403
    pool = LeadFactory(rooftop=world.rooftop, customer=lead.customer)
    claimed = client.post(f"/api/leads/{pool.id}/assign/", {"user": "me"}, content_type="application/json")
    assert claimed.status_code == 200 and claimed.json()["assigned_to"]["id"] == world.salesperson.id
    client.force_login(world.manager)
    nobody = client.post(f"/api/leads/{lead.id}/assign/", {"user": world.advisor.id}, content_type="application/json")
    assert nobody.status_code == 422 and "not a salesperson" in nobody.json()["detail"]


def test_log_an_activity(world, lead, client):
    client.force_login(world.salesperson)
    response = client.post(f"/api/leads/{lead.id}/activities/", {"kind": "call", "reached": True, "note": "Booked"},
                           content_type="application/json")
    assert response.status_code == 201 and response.json()["kind"] == "call"
    lead.refresh_from_db()
    assert lead.first_attempt_at is not None and lead.first_contact_at is not None
    assert LeadClock.unscoped.get(lead=lead).stopped_at is not None
    empty = client.post(f"/api/leads/{lead.id}/activities/", {"kind": "note"}, content_type="application/json")
    assert empty.status_code == 422
    assert client.post(f"/api/leads/{lead.id}/activities/", {"kind": "fax"},
                       content_type="application/json").status_code == 400
