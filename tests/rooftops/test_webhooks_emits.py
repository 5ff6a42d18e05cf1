"""Where each webhook event is emitted: the deliveries are written in the change's own transaction, with small
payloads (no contact details), for the store's endpoints that subscribed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.services import appointment_mark, appointment_set, appointment_update, customer_merge
from factories import InventoryVehicleFactory, LeadFactory, make_customer
from leads.models import InventoryFeedRun, Lead
from leads.services.actions import lead_assign, lead_set_status
from leads.services.new_leads import lead_create
from rooftops.models import WebhookDelivery, WebhookEvent
from rooftops.webhooks import webhook_endpoint_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(world):
    endpoint, _ = webhook_endpoint_create(rooftop=world.rooftop, url="http://127.0.0.1:9/hooks",
                                          events=list(WebhookEvent.values), user=world.manager)
    return endpoint


def _sent(endpoint, event=None):
    rows = WebhookDelivery.unscoped.filter(endpoint=endpoint).order_by("id")
    return list(rows.filter(event=event) if event else rows)


def test_a_new_lead_is_created_then_assigned_with_no_contact_details(world, endpoint):
    lead = lead_create(rooftop=world.rooftop, source=Lead.Source.WEB_FORM, first_name="Pat", last_name="Shopper",
                       email="pat@example.com", phone="(617) 555-0142",
                       vehicle=InventoryVehicleFactory(rooftop=world.rooftop)).lead
    events = [(d.event, d.object_key) for d in _sent(endpoint)]
    assert events[:2] == [("lead.created", f"lead:{lead.id}"), ("lead.assigned", f"lead:{lead.id}")]
    created = _sent(endpoint, "lead.created")[0].payload["lead"]
    assert created["customer"] == {"id": lead.customer_id, "name": "Pat Shopper"}
    assert created["status"] == "new" and created["url"].endswith(f"/leads/{lead.id}/")
    text = str(_sent(endpoint, "lead.created")[0].payload)
    assert "pat@example.com" not in text and "555" not in text
    assigned = _sent(endpoint, "lead.assigned")[0].payload
    assert assigned["lead"]["assigned_to"]["id"] == lead.assigned_to_id and assigned["previous_assigned_to_id"] is None


def test_a_status_change_and_a_reassignment_by_a_manager(world, endpoint):
    lead = LeadFactory(rooftop=world.rooftop, customer=make_customer(world.rooftop), assigned_to=world.salesperson)
    lead_set_status(lead=lead, status="lost", by=world.manager, reason="Bought elsewhere")
    [changed] = _sent(endpoint, "lead.status_changed")
    assert changed.payload["previous_status"] == "new" and changed.payload["lead"]["status"] == "lost"
    assert changed.payload["reason"] == "Bought elsewhere"
    lead_set_status(lead=lead, status="working", by=world.manager)
    lead_assign(lead=Lead.unscoped.get(pk=lead.pk), to_user=world.teammate, by=world.manager)
    [assigned] = _sent(endpoint, "lead.assigned")
    assert assigned.payload["previous_assigned_to_id"] == world.salesperson.id
    assert assigned.payload["lead"]["assigned_to"] == {"id": world.teammate.id, "name": "Tia Teammate"}


def test_appointments_set_moved_and_marked(world, endpoint):
    customer = make_customer(world.rooftop, first_name="Ana")
    appointment = appointment_set(customer=customer, rooftop=world.rooftop, user=world.salesperson,
                                  kind="test_drive", scheduled_at=timezone.now() + timedelta(days=1), notes="secret")
    appointment_update(appointment=appointment, user=world.salesperson, scheduled_at=timezone.now() + timedelta(days=2))
    appointment_mark(appointment=appointment, user=world.salesperson, status="shown")
    sent = [(d.event, d.payload.get("change")) for d in _sent(endpoint)]
    assert sent == [("appointment.created", None), ("appointment.updated", "moved"), ("appointment.updated", "status")]
    assert all("secret" not in str(d.payload) for d in _sent(endpoint))
    assert {d.object_key for d in _sent(endpoint)} == {f"appointment:{appointment.id}"}


def test_a_merge_is_told_to_the_stores_that_know_the_survivor(world, endpoint):
    survivor, merged = make_customer(world.rooftop, first_name="Twin"), make_customer(world.rooftop, first_name="Twin")
    record = customer_merge(survivor=survivor, merged=merged, user=world.manager)
    [delivery] = _sent(endpoint, "customer.merged")
    assert delivery.payload["merged_customer_id"] == merged.id and delivery.payload["merge_id"] == record.id
    assert delivery.object_key == f"customer:{survivor.id}"


def test_a_text_from_a_customer(world, endpoint):
    from customers.messaging import sms_inbound_receive
    from factories import add_contact

    customer = make_customer(world.rooftop, first_name="Jo")
    add_contact(customer, phone="+16175550134")
    world.rooftop.phone = "+16175550100"
    world.rooftop.save(update_fields=["phone"])
    sms_inbound_receive(provider_id="SM-hook-1", from_number="+16175550134", to_number="+16175550100",
                        body="Is the RAV4 still there?")
    [delivery] = _sent(endpoint, "message.received")
    assert delivery.payload["message"]["customer"]["id"] == customer.id
    assert "RAV4" not in str(delivery.payload)


def test_an_alert(world, endpoint):
    from alerts.scoring import Signal
    from alerts.selectors import scoring_config
    from alerts.services import alert_raise

    customer = make_customer(world.rooftop, first_name="Casey")
    alert = alert_raise(rooftop=world.rooftop, signal=Signal("credit_app_started", "urgent",
                                                             "Started a credit application", "Call within 15 minutes"),
                        customer_id=customer.id, visitor_id=None, score=50,
                        config=scoring_config(rooftop_id=world.rooftop.id), now=timezone.now())
    [delivery] = _sent(endpoint, "alert.raised")
    assert delivery.object_key == f"alert:{alert.id}"
    assert delivery.payload["alert"]["reasons"] == ["Started a credit application"]


def test_an_inventory_feed_load_finished(world, endpoint):
    from leads.inventory_feed import inventory_feed_finished

    run = InventoryFeedRun.unscoped.create(rooftop=world.rooftop, source="upload", status="done", added=3, failed=1,
                                           rows_total=4)
    inventory_feed_finished(run_id=run.id)
    [delivery] = _sent(endpoint, "import.finished")
    assert delivery.payload["import"]["kind"] == "inventory_feed"
    assert delivery.payload["import"]["counts"]["added"] == 3 and delivery.payload["import"]["counts"]["refused"] == 1


def test_a_store_without_endpoints_gets_nothing(world):
    LeadFactory(rooftop=world.other_rooftop, customer=make_customer(world.other_rooftop))
    lead_create(rooftop=world.other_rooftop, source=Lead.Source.WEB_FORM, first_name="Pat", email="p@example.com")
    assert not WebhookDelivery.unscoped.exists()


def test_an_erasure_scrubs_the_deliveries_about_the_person(world, endpoint):
    from customers.erasure import erase_customer, erasure_request

    lead = lead_create(rooftop=world.rooftop, source=Lead.Source.WEB_FORM, first_name="Pat", last_name="Shopper",
                       email="pat@example.com").lead
    other = lead_create(rooftop=world.rooftop, source=Lead.Source.WEB_FORM, first_name="Kim", last_name="Keeps",
                        email="kim@example.com").lead
    record = erasure_request(customer=lead.customer, source="staff", reason="Asked by phone", user=world.manager)
    erase_customer(record_id=record.id)
    about_pat = [d for d in _sent(endpoint) if d.object_key == f"lead:{lead.id}"]
    assert about_pat and all("Pat" not in str(d.payload) for d in about_pat)
    assert all(d.payload["lead"]["id"] == lead.id for d in about_pat)
    assert any("Kim Keeps" in str(d.payload) for d in _sent(endpoint) if d.object_key == f"lead:{other.id}")
