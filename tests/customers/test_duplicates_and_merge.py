"""Duplicates are found when they arrive; a merge keeps everything of both, is logged and undone exactly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from alerts.models import Alert
from customers.models import (
    Appointment, ConsentRecord, Customer, CustomerEmail, CustomerPhone, CustomerRooftop, DuplicateCandidate,
    MergeRecord, OwnedVehicle, TimelineEntry,
)
from customers.matching import ArrivingContact, customer_match_or_create
from customers.services import customer_duplicates_detect, customer_merge, merge_undo
from factories import LeadFactory, add_contact, make_customer
from service.models import RepairOrder
from tracking.models import Visitor

pytestmark = pytest.mark.django_db


def event(rooftop, visitor, customer, n):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tracking_event (received_at, rooftop_id, visitor_id, customer_id, message_id, type, event,"
            " occurred_at) VALUES (now(), %s, %s, %s, %s, 'track', 'asc_item_pageview', now()) RETURNING id",
            [rooftop.pk, visitor.pk, customer.pk, f"m-{visitor.pk}-{n}"])
        return cursor.fetchone()[0]


def everything_of(customer) -> dict:
    """Every row that belongs to the customer, by kind, for comparing before and after."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tracking_event WHERE customer_id = %s ORDER BY id", [customer.pk])
        events = [r[0] for r in cursor.fetchall()]
    return {
        "timeline": sorted(TimelineEntry.unscoped.filter(customer=customer).exclude(kind="merge").values_list("pk", flat=True)),
        "leads": sorted(customer.leads.values_list("pk", flat=True)),
        "appointments": sorted(Appointment.unscoped.filter(customer=customer).values_list("pk", flat=True)),
        "consents": sorted(ConsentRecord.objects.filter(customer=customer).values_list("pk", flat=True)),
        "vehicles": sorted(OwnedVehicle.objects.filter(customer=customer).values_list("pk", flat=True)),
        "ros": sorted(RepairOrder.unscoped.filter(customer=customer).values_list("pk", flat=True)),
        "alerts": sorted(Alert.unscoped.filter(customer=customer).values_list("pk", flat=True)),
        "emails": sorted(CustomerEmail.objects.filter(customer=customer).values_list("pk", "is_primary")),
        "phones": sorted(CustomerPhone.objects.filter(customer=customer).values_list("pk", "is_primary")),
        "visitors": sorted(Visitor.unscoped.filter(customer=customer).values_list("pk", flat=True)),
        "events": events,
        "rooftops": sorted(CustomerRooftop.objects.filter(customer=customer).values_list("rooftop_id", flat=True)),
        "fields": Customer.unscoped.filter(pk=customer.pk).values("first_name", "last_name", "street", "city",
                                                                  "postal_code", "merged_into_id").get(),
    }


def a_full_history(world, customer, rooftop, tag):
    add_contact(customer, email=f"{tag}@example.com", phone=f"+1617555{abs(hash(tag)) % 10000:04d}")
    lead = LeadFactory(rooftop=rooftop, customer=customer)
    Appointment.unscoped.create(rooftop=rooftop, customer=customer, lead=lead, department="sales", kind="test_drive",
                                scheduled_at=timezone.now() + timedelta(days=1))
    ConsentRecord.objects.create(customer=customer, dealer_group=customer.dealer_group, channel="sms",
                                 purpose="transactional", granted=True, source=tag)
    vehicle = OwnedVehicle.objects.create(customer=customer, vin=f"VIN{tag.upper()[:14]}", make="Toyota")
    RepairOrder.objects.create(rooftop=rooftop, customer=customer, vehicle=vehicle, ro_number=f"RO-{tag}")
    TimelineEntry.unscoped.create(customer=customer, rooftop=rooftop, department="sales", kind="note", summary=tag)
    Alert.unscoped.create(rooftop=rooftop, customer=customer, kind="repeat_vdp_views")
    visitor = Visitor.unscoped.create(rooftop=rooftop, anonymous_id=f"anon-{tag}", customer=customer)
    for n in range(3):
        event(rooftop, visitor, customer, n)


def test_same_email_on_arrival_is_offered_as_a_duplicate(world):
    first = make_customer(world.rooftop, first_name="Dana", last_name="Dup")
    add_contact(first, phone="+16175550123")
    second = make_customer(world.rooftop, first_name="Dana", last_name="Dupp")
    add_contact(second, phone="+16175550123")
    [candidate] = customer_duplicates_detect(customer=second)
    assert (candidate.customer_a, candidate.customer_b) == (first, second)
    assert candidate.reasons == ["same phone +16175550123"]
    assert customer_duplicates_detect(customer=second)[0].pk == candidate.pk  # stored once


def test_close_name_at_the_same_address_is_a_duplicate_and_a_different_address_is_not(world):
    a = make_customer(world.rooftop, first_name="Katherine", last_name="Oneil", street="12 Elm  Street", postal_code="02134")
    b = make_customer(world.rooftop, first_name="Katharine", last_name="O'Neil", street="12 elm street", postal_code="02134")
    c = make_customer(world.rooftop, first_name="Katharine", last_name="O'Neil", street="99 Oak Road", postal_code="02134")
    found = customer_duplicates_detect(customer=b)
    assert [(d.customer_a, d.customer_b) for d in found] == [(a, b)]
    assert found[0].reasons == ["similar name at the same address"]
    assert customer_duplicates_detect(customer=c) == []


def test_an_arrival_with_a_known_email_joins_that_customer_and_flags_the_phone_owner(world):
    by_email = make_customer(world.rooftop, first_name="Lee", last_name="Email")
    add_contact(by_email, email="lee@example.com")
    by_phone = make_customer(world.rooftop, first_name="Lee", last_name="Phone")
    add_contact(by_phone, phone="+16175550777")
    matched = customer_match_or_create(
        rooftop=world.rooftop, source="test",
        contact=ArrivingContact(first_name="Lee", last_name="Email", emails=("LEE@example.com",),
                                phones=(("617 555 0777", "mobile"),)),
    )
    customer, created = matched.customer, matched.created
    assert customer == by_email and not created
    assert set(customer.phones.values_list("e164", flat=True)) == {"+16175550777"}
    assert DuplicateCandidate.unscoped.filter(customer_a=by_email, customer_b=by_phone).exists()


def test_a_merge_keeps_everything_of_both_and_undo_puts_it_back_exactly(world):
    survivor = make_customer(world.rooftop, first_name="Sam", last_name="Keep", street="")
    merged = make_customer(world.other_rooftop, first_name="Samuel", last_name="Keep", street="1 Main St", city="Boston")
    CustomerRooftop.objects.create(customer=merged, rooftop=world.rooftop)
    a_full_history(world, survivor, world.rooftop, "keep")
    a_full_history(world, merged, world.other_rooftop, "gone")
    before = {"survivor": everything_of(survivor), "merged": everything_of(merged)}

    record = customer_merge(survivor=survivor, merged=merged, user=world.manager)

    after = everything_of(survivor)
    for kind in ("timeline", "leads", "appointments", "consents", "vehicles", "ros", "alerts", "visitors", "events"):
        assert after[kind] == sorted(before["survivor"][kind] + before["merged"][kind]), kind
    assert {pk for pk, _ in after["emails"]} == {pk for pk, _ in before["survivor"]["emails"] + before["merged"]["emails"]}
    assert sum(primary for _, primary in after["emails"]) == 1  # one primary email, the survivor's
    assert after["rooftops"] == sorted({world.rooftop.pk, world.other_rooftop.pk})
    assert after["fields"]["street"] == "1 Main St"  # a blank filled from the merged record
    merged.refresh_from_db()
    assert merged.merged_into == survivor
    assert record.merged_by == world.manager and record.snapshot["moved"]
    assert TimelineEntry.unscoped.filter(customer=survivor, kind="merge").exists()

    merge_undo(record=record, user=world.manager)

    assert everything_of(survivor) == before["survivor"]
    assert everything_of(merged) == before["merged"]
    record.refresh_from_db()
    assert record.undone_at is not None and record.undone_by == world.manager
    assert not TimelineEntry.unscoped.filter(kind="merge").exists()


def test_the_merged_away_customer_redirects_to_the_survivor(client, world):
    survivor = make_customer(world.rooftop, first_name="Stay")
    merged = make_customer(world.rooftop, first_name="Go")
    customer_merge(survivor=survivor, merged=merged, user=world.manager)
    client.force_login(world.salesperson)
    response = client.get(f"/customers/{merged.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/customers/{survivor.pk}/"


def test_staff_review_merge_and_undo_through_the_pages(client, world):
    a = make_customer(world.rooftop, first_name="Robin", last_name="Twice")
    add_contact(a, email="robin@example.com")
    b = make_customer(world.rooftop, first_name="Robyn", last_name="Twice")
    add_contact(b, email="robin@example.com")
    TimelineEntry.unscoped.create(customer=b, rooftop=world.rooftop, department="service", kind="service_visit",
                                  summary="RO 777 oil change")
    [candidate] = customer_duplicates_detect(customer=b)
    client.force_login(world.bdc)
    assert b"Robyn" in client.get("/customers/duplicates/").content
    banner = client.get(f"/customers/{a.pk}/").content.decode()
    assert "Possible duplicate" in banner and "same email robin@example.com" in banner
    assert client.get(f"/customers/duplicates/{candidate.pk}/").status_code == 200
    response = client.post(f"/customers/duplicates/{candidate.pk}/merge/", {"keep": a.pk})
    assert response.status_code == 302 and response["Location"] == f"/customers/{a.pk}/"
    page = client.get(f"/customers/{a.pk}/").content.decode()
    assert "RO 777 oil change" in page and "Undo merge" in page
    candidate.refresh_from_db()
    assert candidate.status == "merged"
    record = MergeRecord.unscoped.get()
    assert client.post(f"/customers/merges/{record.pk}/undo/").status_code == 302
    b.refresh_from_db()
    candidate.refresh_from_db()
    assert b.merged_into is None and candidate.status == "open"
    assert TimelineEntry.unscoped.get(summary="RO 777 oil change").customer == b
    assert client.post(f"/customers/merges/{record.pk}/undo/", follow=True).status_code == 200  # twice: a message
    assert client.post(f"/customers/duplicates/{candidate.pk}/dismiss/").status_code == 302
    candidate.refresh_from_db()
    assert candidate.status == "dismissed"


def test_outsiders_cannot_see_or_merge_a_pair(client, world):
    a = make_customer(world.rooftop, first_name="X")
    b = make_customer(world.rooftop, first_name="Y")
    candidate = DuplicateCandidate.unscoped.create(dealer_group=world.rooftop.dealer_group, customer_a=a, customer_b=b)
    client.force_login(world.outsider)
    assert b"customers/duplicates/%d" % candidate.pk not in client.get("/customers/duplicates/").content
    assert client.get(f"/customers/duplicates/{candidate.pk}/").status_code == 404
    assert client.post(f"/customers/duplicates/{candidate.pk}/merge/", {"keep": a.pk}).status_code == 404
    record = customer_merge(survivor=a, merged=b, user=None)
    assert client.post(f"/customers/merges/{record.pk}/undo/").status_code == 404
    client.logout()
    assert client.get("/customers/duplicates/").status_code == 302


def test_an_arrival_with_a_spelled_out_country_keeps_its_phone(world):
    matched = customer_match_or_create(
        rooftop=world.rooftop, source="test",
        contact=ArrivingContact(first_name="Ana", phones=(("(617) 555-0188", "mobile"),), country="USA"),
    )
    customer, created = matched.customer, matched.created
    assert created and list(customer.phones.values_list("e164", flat=True)) == ["+16175550188"]
    assert customer.country == "US"
