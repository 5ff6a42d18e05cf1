"""Erasure against the real PostgreSQL: nothing of the person is left in any table, addresses are suppressed,
re-runs are no-ops, a crash mid-way re-runs cleanly, and the retention purge takes only the unused."""

import json
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from alerts.models import Alert, AlertAction, ShopperIntent
from customers import erasure
from customers.erasure import erase_customer
from customers.messaging import SUPPRESSED_ADDRESS, outbound_message_queue, outbound_message_send, sms_inbound_receive
from customers.models import (
    Appointment, ConsentRecord, Customer, CustomerEmail, DuplicateCandidate, ErasureRecord, MergeRecord,
    OutboundMessage, OwnedVehicle, SuppressionEntry, TimelineEntry,
)
from customers.services import ActionRefused, customer_merge, merge_undo, note_add
from factories import add_contact, make_customer
from leads.models import Lead
from leads.services.new_leads import lead_create
from service.models import RepairOrder
from tracking.models import Visitor

pytestmark = pytest.mark.django_db

EMAIL, PHONE, OWNED_VIN = "zeb.quux@example.test", "+16175550199", "JTMZEBQUUX0000042"
# What must be found nowhere afterwards: names, street, the merged record's city, emails, phone digits, VIN.
TRACES = ["Zebulon", "Quuxworth", "Elm Street", "Quuxville", "zeb.quux", "zq@example", "5550199", OWNED_VIN]


def _event(visitor, customer_id, n, traits=None):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tracking_event (received_at, rooftop_id, visitor_id, customer_id, message_id, type, event,"
            " occurred_at, vin, traits) VALUES (now(), %s, %s, %s, %s, 'identify', '', now(), '', %s::jsonb)",
            [visitor.rooftop_id, visitor.pk, customer_id, f"erase-msg-{n}", json.dumps(traits or {})])


def build_person(world):
    """One person everywhere the CRM keeps them: every department, the website, messages, a merge."""
    rooftop = world.rooftop
    result = lead_create(rooftop=rooftop, source="adf", first_name="Zebulon", last_name="Quuxworth", email=EMAIL,
                         phone="(617) 555-0199", comments="Call Zebulon after 5", provider="Cars.com",
                         raw_adf="<adf><prospect><customer><contact><name>Zebulon Quuxworth</name></contact>"
                                 "</customer></prospect></adf>",
                         trade_in={"year": 2015, "make": "Honda", "vin": OWNED_VIN},
                         sms_consent_text="Zebulon Quuxworth agrees to texts", consent_source="web form")
    customer = result.lead.customer
    Customer.unscoped.filter(pk=customer.pk).update(street="12 Elm Street")
    customer.refresh_from_db()
    customer.date_of_birth, customer.drivers_licence_number = date(1987, 3, 14), "S12345678"
    customer.drivers_licence_state = "MA"
    customer.save(update_fields=["date_of_birth", "drivers_licence_number", "drivers_licence_state"])
    ConsentRecord.objects.create(customer=customer, dealer_group=customer.dealer_group, channel="sms",
                                 purpose="transactional", granted=True, source="web form",
                                 text_shown="I, Zebulon Quuxworth, agree")
    vehicle = OwnedVehicle.objects.create(customer=customer, vin=OWNED_VIN, year=2015, make="Honda", model="Civic",
                                          lender="Quuxworth Credit Union", finance_account_number="5550001234",
                                          payoff_cents=812_300)
    RepairOrder.unscoped.create(rooftop=rooftop, customer=customer, vehicle=vehicle, ro_number="R-77")
    Appointment.unscoped.create(rooftop=rooftop, customer=customer, department="sales", kind="test_drive",
                                scheduled_at=timezone.now() + timedelta(days=1), notes="Zebulon prefers mornings")
    note_add(customer=customer, rooftop=rooftop, user=world.bdc, text="Zebulon asked about the Quuxworth trust")
    sent = outbound_message_queue(customer=customer, rooftop=rooftop, channel="email", kind="staff", to_address=EMAIL,
                                  subject="Hi Zebulon", body="Dear Zebulon Quuxworth", idempotency_key="erase-1",
                                  now=timezone.now())
    OutboundMessage.unscoped.filter(pk=sent.pk).update(status="sent", sent_at=timezone.now())
    sms_inbound_receive(provider_id="SM-erase-1", from_number=PHONE, to_number="+16175550100",
                        body="Zebulon here, is the Civic ready?")
    visitor = Visitor.unscoped.create(rooftop=rooftop, anonymous_id="anon-zeb", user_id=EMAIL, customer=customer)
    _event(visitor, None, 1, {"name": "Zebulon Quuxworth"})  # before they were identified
    _event(visitor, customer.pk, 2, {"email": EMAIL, "phone": PHONE})
    ShopperIntent.unscoped.create(rooftop=rooftop, visitor=visitor, customer=customer,
                                  reasons=["Zebulon viewed a RAV4"])
    alert = Alert.unscoped.create(rooftop=rooftop, customer=customer, visitor=visitor, kind="hot_shopper",
                                  reasons=["Zebulon Quuxworth viewed the RAV4 3 times"],
                                  suggested_next_step="Call Zebulon at (617) 555-0199")
    AlertAction.objects.create(alert=alert, action="call", note="Zebulon did not answer")
    # A second record of the same person, merged into the first: its city fills the survivor's blank one.
    twin = make_customer(rooftop, first_name="Zebulon", last_name="Q", city="Quuxville")
    add_contact(twin, email="zq@example.test")
    customer_merge(survivor=customer, merged=twin, user=world.manager)
    other = make_customer(rooftop, first_name="Other", last_name="Person")
    add_contact(other, email="other@example.test")
    low, high = sorted([customer.pk, other.pk])
    DuplicateCandidate.unscoped.create(dealer_group=customer.dealer_group, customer_a_id=low, customer_b_id=high,
                                       reasons=[f"same email {EMAIL}"])
    return customer, twin, other


def _record(customer, **fields):
    return ErasureRecord.unscoped.create(dealer_group_id=customer.dealer_group_id, customer_id=customer.pk,
                                         source=fields.pop("source", "staff"), reason="CCPA request 42", **fields)


def traces_left() -> list[str]:
    """Every text, JSON and array column of every table, scanned for any trace of the person."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c"
            " JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema"
            " WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'"
            " AND (c.data_type IN ('character varying', 'text', 'json', 'jsonb', 'character') OR c.data_type = 'ARRAY')"
        )
        columns = cursor.fetchall()
        patterns = [f"%{t}%" for t in TRACES]
        found = []
        for table, column in columns:
            cursor.execute(f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE ANY(%s)', [patterns])
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
    return found


def test_after_erasure_no_table_holds_anything_of_the_person(world):
    customer, twin, other = build_person(world)
    assert {"customers_customer.first_name", "customers_customeremail.email", "tracking_event.traits",
            "customers_customerphone.e164", "customers_ownedvehicle.vin", "leads_lead.raw_adf",
            "customers_inboundmessage.body", "alerts_alert.reasons"} <= set(traces_left())  # the scan sees them

    record = erase_customer(record_id=_record(customer).pk)

    assert traces_left() == []
    assert record.status == "done" and record.steps_done == record.steps_total == len(erasure.STEPS)
    removed = record.removed
    assert removed["customers"] == 2  # the record and the one merged into it
    assert (removed["emails"], removed["phones"]) == (2, 1)
    assert removed["suppression_entries"] == 3  # two emails and the phone (the message went to one of them)
    assert (removed["web_events"], removed["web_visitors"], removed["shopper_intents"]) == (2, 1, 1)
    assert removed["queued_messages_cancelled"] >= 1  # the lead's automated first response
    assert removed["duplicate_candidates"] == 1 and removed["merge_records"] == 1
    assert removed["alerts"] == 1 and removed["alert_notes"] == 1 and removed["vehicle_vins"] == 1
    assert removed["chat_transcripts"] == 0 and removed["vehicle_finances"] == 1
    # The encrypted identity and finance fields (no text scan can read them) are gone, not just unreadable.
    assert not Customer.unscoped.filter(pk=customer.pk).exclude(
        date_of_birth__isnull=True, drivers_licence_number__isnull=True, drivers_licence_state="").exists()
    assert not OwnedVehicle.objects.filter(customer=customer).exclude(
        lender__isnull=True, finance_account_number__isnull=True, payoff_cents__isnull=True).exists()
    # What the KPIs count is still there, anonymised.
    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name, customer.erased_at is not None) == ("Erased customer", "", True)
    lead = Lead.unscoped.get(customer=customer)
    assert (lead.source, lead.provider, lead.comments, lead.raw_adf) == ("adf", "Cars.com", "", "")
    assert TimelineEntry.unscoped.filter(customer=customer, kind="note").exists()
    assert OutboundMessage.unscoped.filter(customer=customer, status="sent").count() == 1
    assert not OutboundMessage.unscoped.filter(customer=customer, status__in=["queued", "waiting_quiet_hours"]).exists()
    assert ConsentRecord.objects.filter(customer=customer, granted=True).exists()
    assert Alert.unscoped.filter(customer=customer, kind="hot_shopper").exists()
    assert RepairOrder.unscoped.filter(customer=customer, ro_number="R-77").exists()
    # Nobody else was touched.
    other.refresh_from_db()
    assert other.full_name == "Other Person" and CustomerEmail.objects.filter(customer=other).exists()
    # The merge keeps its rows but can no longer put anything back.
    with pytest.raises(ActionRefused, match="erased"):
        merge_undo(record=MergeRecord.unscoped.get(survivor=customer), user=world.manager)


def test_running_the_eraser_again_is_a_no_op(world):
    customer, _, _ = build_person(world)
    record = erase_customer(record_id=_record(customer).pk)
    again = erase_customer(record_id=record.pk)
    assert (again.counts, again.finished_at) == (record.counts, record.finished_at)
    second = erase_customer(record_id=_record(customer).pk)  # a second request for the same person
    assert second.status == "done" and set(second.removed.values()) == {0}
    assert SuppressionEntry.objects.filter(dealer_group=customer.dealer_group).count() == 3


def test_a_crash_mid_way_leaves_committed_steps_and_a_re_run_finishes_cleanly(world, monkeypatch):
    customer, _, _ = build_person(world)
    record = _record(customer)
    real_steps = erasure.STEPS

    def crash(**kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(erasure, "STEPS", tuple((n, crash if n == "leads" else s) for n, s in real_steps))
    with pytest.raises(RuntimeError):
        erase_customer(record_id=record.pk)
    record.refresh_from_db()
    assert record.status == "failed" and record.error == "RuntimeError while erasing leads"
    done_before = dict(record.counts)
    assert set(done_before) == {n for n, _ in real_steps[:7]}  # the steps before "leads" committed
    assert not CustomerEmail.objects.filter(customer=customer).exists()

    monkeypatch.setattr(erasure, "STEPS", real_steps)
    record = erase_customer(record_id=record.pk)
    assert record.status == "done" and record.error == ""
    assert {n: record.counts[n] for n in done_before} == done_before  # not redone, not recounted
    assert traces_left() == []


def test_a_suppressed_address_gets_no_automated_message_even_as_a_new_customer(world):
    customer, _, _ = build_person(world)
    # Queued for another record sharing the address before the erasure: refused when it is sent.
    sharer = make_customer(world.rooftop, first_name="Sam", last_name="Sharer")
    waiting = outbound_message_queue(customer=sharer, rooftop=world.rooftop, channel="email", kind="staff",
                                     to_address=EMAIL, body="Hello", idempotency_key="erase-shared",
                                     now=timezone.now())
    assert waiting.status == "queued"
    erase_customer(record_id=_record(customer).pk)

    assert outbound_message_send(message_id=waiting.pk) == "skipped"
    waiting.refresh_from_db()
    assert (waiting.status, waiting.error) == ("suppressed", SUPPRESSED_ADDRESS)

    # They come back later as a new lead, the address written differently: a new customer, and no first response.
    result = lead_create(rooftop=world.rooftop, source="web_form", first_name="Zeb", email=" ZEB.QUUX@example.test",
                         phone="617-555-0199")
    assert result.lead.customer_id != customer.pk
    responses = OutboundMessage.unscoped.filter(lead=result.lead, kind="first_response")
    assert responses.exists()
    assert set(responses.values_list("status", "error")) == {("suppressed", SUPPRESSED_ADDRESS)}


def test_the_command_erases_synchronously_and_prints_the_counts(world, capsys):
    customer, _, _ = build_person(world)
    call_command("erase_customer", str(customer.pk), "--reason", "Phoned in, ticket 881")
    out = capsys.readouterr().out
    record = ErasureRecord.unscoped.get(customer_id=customer.pk)
    assert (record.source, record.reason, record.status) == ("command", "Phoned in, ticket 881", "done")
    assert f"Erasure record #{record.pk}: Done" in out and "  emails: 2" in out
    assert traces_left() == []


def test_the_retention_purge_erases_only_the_unused_customer(world, settings):
    from customers.beat import BEAT_SCHEDULE
    from customers.tasks import retention_purge

    assert BEAT_SCHEDULE["customers-retention-purge"]["task"] == "customers.tasks.retention_purge"
    long_ago = timezone.now() - timedelta(days=800)
    unused = make_customer(world.rooftop, first_name="Una", last_name="Unused", created_at=long_ago)
    add_contact(unused, email="una@example.test")
    TimelineEntry.unscoped.create(customer=unused, department="system", kind="note", summary="Una called",
                                  occurred_at=long_ago)
    recent_note = make_customer(world.rooftop, first_name="Rita", last_name="Recent", created_at=long_ago)
    TimelineEntry.unscoped.create(customer=recent_note, department="sales", kind="note", summary="Rita called")
    open_lead = make_customer(world.rooftop, first_name="Olga", last_name="Open", created_at=long_ago)
    Lead.unscoped.create(rooftop=world.rooftop, customer=open_lead, source="web_form", status="working",
                         created_at=long_ago)
    visited = make_customer(world.rooftop, first_name="Vic", last_name="Visitor", created_at=long_ago)
    _event(Visitor.unscoped.create(rooftop=world.rooftop, anonymous_id="anon-vic"), visited.pk, 9)
    young = make_customer(world.rooftop, first_name="Yan", last_name="Young")

    settings.CUSTOMER_RETENTION_DAYS = 0
    assert retention_purge() == 0
    settings.CUSTOMER_RETENTION_DAYS = 730
    assert retention_purge() == 1
    assert retention_purge() == 0  # already erased: not taken again

    record = ErasureRecord.unscoped.get()
    assert (record.customer_id, record.source, record.status) == (unused.pk, "retention", "done")
    assert record.reason == "No activity for 730 days"
    unused.refresh_from_db()
    assert unused.erased_at is not None and not CustomerEmail.objects.filter(customer=unused).exists()
    for kept in (recent_note, open_lead, visited, young):
        kept.refresh_from_db()
        assert kept.erased_at is None and kept.first_name != "Erased customer"


def test_records_left_queued_or_failed_are_carried_out_by_the_resume_sweep(world):
    from customers.beat import BEAT_SCHEDULE
    from customers.tasks import resume_erasures

    assert BEAT_SCHEDULE["customers-erasures-resume"]["task"] == "customers.tasks.resume_erasures"
    lost = make_customer(world.rooftop, first_name="Lost", last_name="Message")
    failed = make_customer(world.rooftop, first_name="Failed", last_name="Once")
    hour_ago = timezone.now() - timedelta(hours=1)
    lost_record = _record(lost, created_at=hour_ago)  # its task never arrived
    failed_record = _record(failed, created_at=hour_ago, status="failed", error="OperationalError while erasing leads")
    fresh_record = _record(make_customer(world.rooftop, first_name="Fresh"))  # its task may still be on its way
    assert resume_erasures() == 2
    for record in (lost_record, failed_record, fresh_record):
        record.refresh_from_db()
    assert (lost_record.status, failed_record.status, fresh_record.status) == ("done", "done", "queued")
    assert failed_record.error == "" and failed_record.removed["customers"] == 1


def test_staff_cannot_write_to_a_suppressed_address_from_the_customer_page(world):
    from customers.outbound import message_send_from_staff

    customer, _, _ = build_person(world)
    erase_customer(record_id=_record(customer).pk)
    again = make_customer(world.rooftop, first_name="Zeb", last_name="Again")
    add_contact(again, email="Zeb.Quux@example.test")
    with pytest.raises(ActionRefused, match="do-not-contact"):
        message_send_from_staff(customer=again, rooftop=world.rooftop, user=world.bdc, kind="email", body="Hi")
    assert not TimelineEntry.unscoped.filter(customer=again, kind="email").exists()
