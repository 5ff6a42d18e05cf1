"""The customer page: one timeline across departments, keyset pages, filters, and who may see what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import ConsentRecord, OwnedVehicle, TimelineEntry
from customers.selectors import timeline_page
from factories import LeadFactory, add_contact, make_customer
from rooftops.selectors import staff_access
from service.models import RepairOrder

pytestmark = pytest.mark.django_db


def entries(customer, rooftop, n, *, kind="note", department="sales", start=None, **extra):
    start = start or timezone.now() - timedelta(days=400)
    TimelineEntry.unscoped.bulk_create([
        TimelineEntry(customer=customer, rooftop=rooftop, kind=kind, department=department,
                      occurred_at=start + timedelta(minutes=i), summary=f"{kind} {i}", **extra)
        for i in range(n)
    ])


@pytest.fixture
def serviced(world):
    """A customer the service department of the salesperson's store knows well."""
    customer = make_customer(world.rooftop, first_name="Rita", last_name="Serviced")
    add_contact(customer, email="rita@example.com", phone="+16175550142")
    vehicle = OwnedVehicle.objects.create(customer=customer, year=2019, make="Toyota", model="Camry",
                                          trade_value_cents=2_000_000, payoff_cents=1_200_000)
    RepairOrder.objects.create(rooftop=world.rooftop, customer=customer, vehicle=vehicle, ro_number="50123",
                               advisor=world.advisor, status="closed")
    TimelineEntry.unscoped.create(customer=customer, rooftop=world.rooftop, department="service",
                                  kind="service_visit", summary="Service visit: RO 50123 — Front brake pads",
                                  actor=world.advisor, occurred_at=timezone.now() - timedelta(days=3))
    return customer


def test_a_salesperson_sees_the_service_history_at_once(client, world, serviced):
    client.force_login(world.salesperson)
    response = client.get(f"/customers/{serviced.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "RO 50123" in html and "Front brake pads" in html
    assert "(617) 555-0142" in html  # formatted for people
    assert "Worth $8,000 more than they owe" in html
    assert "Sid Service" in html  # the advisor, among the assigned people


def test_the_timeline_is_newest_first_across_departments(world, serviced):
    TimelineEntry.unscoped.create(customer=serviced, rooftop=world.rooftop, department="sales", kind="call",
                                  summary="newest call", occurred_at=timezone.now())
    page = timeline_page(customer=serviced, access=staff_access(world.salesperson))
    assert [e.summary for e in page.entries][:2] == ["newest call", "Service visit: RO 50123 — Front brake pads"]


def test_keyset_pages_cover_every_entry_once_even_with_equal_times(world):
    customer = make_customer(world.rooftop)
    same_time = timezone.now() - timedelta(days=1)
    TimelineEntry.unscoped.bulk_create([
        TimelineEntry(customer=customer, rooftop=world.rooftop, kind="note", department="sales",
                      occurred_at=same_time if i % 3 == 0 else same_time - timedelta(seconds=i), summary=f"n{i}")
        for i in range(95)
    ])
    access = staff_access(world.salesperson)
    seen, cursor, pages = [], "", 0
    while True:
        page = timeline_page(customer=customer, access=access, cursor=cursor, limit=30)
        seen += [e.pk for e in page.entries]
        pages += 1
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert pages == 4
    assert len(seen) == len(set(seen)) == 95
    ordered = list(TimelineEntry.unscoped.filter(customer=customer).order_by("-occurred_at", "-id").values_list("pk", flat=True))
    assert seen == ordered


def test_a_customer_with_ten_thousand_entries_opens_with_a_bounded_page(client, world):
    customer = make_customer(world.rooftop)
    entries(customer, world.rooftop, 10_000)
    client.force_login(world.salesperson)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/customers/{customer.pk}/")
    assert response.status_code == 200
    assert response.content.decode().count('class="tl-entry') == 30
    assert "Load more" in response.content.decode()
    assert len(queries) < 40  # the page's queries do not grow with the history
    timeline_sql = [q["sql"] for q in queries.captured_queries if "customers_timelineentry" in q["sql"] and "LIMIT 31" in q["sql"]]
    assert timeline_sql, "the timeline is read one page at a time"


def test_load_more_and_filters_over_htmx(client, world):
    customer = make_customer(world.rooftop)
    entries(customer, world.rooftop, 40, kind="note")
    entries(customer, world.rooftop, 5, kind="service_visit", department="service")
    client.force_login(world.salesperson)
    first = timeline_page(customer=customer, access=staff_access(world.salesperson))
    more = client.get(f"/customers/{customer.pk}/timeline/", {"cursor": first.next_cursor})
    assert more.status_code == 200 and more.content.decode().count('class="tl-entry') == 15
    only_service = client.get(f"/customers/{customer.pk}/timeline/", {"department": "service"}).content.decode()
    assert only_service.count('class="tl-entry') == 5 and "note 1" not in only_service
    only_notes = client.get(f"/customers/{customer.pk}/timeline/", {"kind": "note"}).content.decode()
    assert only_notes.count('class="tl-entry') == 30 and "service_visit" not in only_notes.split('data-kind="')[1][:20]
    nothing = client.get(f"/customers/{customer.pk}/timeline/", {"kind": "purchase"}).content.decode()
    assert "Nothing on the timeline for these filters" in nothing
    bad = client.get(f"/customers/{customer.pk}/timeline/", {"cursor": "not-a-cursor"})
    assert bad.status_code == 200  # a broken cursor starts from the top instead of failing


def test_only_entries_of_the_users_rooftops_and_group_wide_rows_show(client, world):
    customer = make_customer(world.rooftop)
    from customers.models import CustomerRooftop

    CustomerRooftop.objects.create(customer=customer, rooftop=world.other_rooftop)
    TimelineEntry.unscoped.create(customer=customer, rooftop=world.other_rooftop, department="sales", kind="note",
                                  summary="a note at the other store")
    TimelineEntry.unscoped.create(customer=customer, rooftop=None, department="system", kind="consent",
                                  summary="agreed to texts (group-wide)")
    TimelineEntry.unscoped.create(customer=customer, rooftop=world.rooftop, department="sales", kind="note",
                                  summary="a note here")
    client.force_login(world.salesperson)
    html = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "a note here" in html and "agreed to texts (group-wide)" in html
    assert "a note at the other store" not in html


def test_consent_shows_the_current_state_per_channel_with_history(client, world, serviced):
    now = timezone.now()
    for granted, ago in ((True, 10), (False, 1)):
        ConsentRecord.objects.create(customer=serviced, dealer_group=world.rooftop.dealer_group, channel="sms",
                                     purpose="transactional", granted=granted, source="web form" if granted else "inbound text STOP",
                                     recorded_at=now - timedelta(days=ago))
    client.force_login(world.salesperson)
    html = client.get(f"/customers/{serviced.pk}/").content.decode()
    assert "revoked" in html and "inbound text STOP" in html
    assert "Consent history (2)" in html


def test_an_outsider_gets_404_and_anonymous_goes_to_log_in(client, world, serviced):
    client.force_login(world.outsider)
    assert client.get(f"/customers/{serviced.pk}/").status_code == 404
    assert client.get(f"/customers/{serviced.pk}/timeline/").status_code == 404
    assert client.get(f"/api/customers/{serviced.pk}/").status_code == 404
    assert client.get(f"/api/customers/{serviced.pk}/timeline/").status_code == 404
    assert client.post(f"/customers/{serviced.pk}/notes/", {"text": "hi"}).status_code == 404
    assert client.post(f"/customers/{serviced.pk}/calls/", {"direction": "out", "outcome": "No answer"}).status_code == 404
    assert client.post(f"/api/customers/{serviced.pk}/notes/", {"text": "hi"}).status_code == 404
    assert not TimelineEntry.unscoped.filter(customer=serviced, kind="note").exists()
    client.logout()
    response = client.get(f"/customers/{serviced.pk}/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.get(f"/api/customers/{serviced.pk}/").status_code in (401, 403)
    assert client.get("/customers/999999/").status_code == 302


def test_a_missing_customer_is_the_same_404(client, world):
    client.force_login(world.salesperson)
    assert client.get("/customers/999999/").status_code == 404


def test_the_api_gives_the_customer_and_timeline_pages(client, world, serviced):
    entries(serviced, world.rooftop, 45)
    client.force_login(world.salesperson)
    detail = client.get(f"/api/customers/{serviced.pk}/").json()
    assert detail["emails"] == ["rita@example.com"] and detail["phones"] == ["+16175550142"]
    first = client.get(f"/api/customers/{serviced.pk}/timeline/").json()
    assert len(first["entries"]) == 30 and first["next_cursor"]
    second = client.get(f"/api/customers/{serviced.pk}/timeline/", {"cursor": first["next_cursor"]}).json()
    assert len(second["entries"]) == 16 and second["next_cursor"] == ""
    note = client.post(f"/api/customers/{serviced.pk}/notes/", {"text": "API note"}, content_type="application/json")
    assert note.status_code == 201 and note.json()["kind"] == "note"


def test_open_leads_show_with_their_salesperson(client, world, serviced):
    LeadFactory(rooftop=world.rooftop, customer=serviced, assigned_to=world.teammate, vehicle_description="2025 Camry")
    client.force_login(world.salesperson)
    html = client.get(f"/customers/{serviced.pk}/").content.decode()
    assert "2025 Camry" in html and "Tia Teammate" in html
