"""The access log: every view and export of customer data leaves a record nobody can change, and a manager
can ask what one person read between two times, page through the answer and export it."""

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.test import RequestFactory
from django.urls import reverse

from factories import InventoryVehicleFactory, LeadFactory, make_customer, make_staff
from rooftops.audit import Kind, access_record
from rooftops.models import AccessRecord, Role, StaffProfile
from tracking.messages import normalize
from tracking.services import events_record

pytestmark = pytest.mark.django_db

URL = "/access-log/"


def _records(**filters):
    return list(AccessRecord.unscoped.filter(**filters).order_by("id"))


def _record_at(world, user, at, kind=Kind.CUSTOMER_PAGE, rooftop=None, ids=(1,)):
    return AccessRecord.unscoped.create(rooftop=rooftop or world.rooftop, user=user, username=user.username, at=at,
                                        client_address="10.0.0.9", kind=kind, path="/customers/1/", rows=1,
                                        object_ids=list(ids))


# ---------------------------------------------------------------------------------------------------------
# Append-only, enforced by PostgreSQL
# ---------------------------------------------------------------------------------------------------------


def _refused(run) -> str:
    with pytest.raises(DatabaseError) as refused, transaction.atomic():
        run()
    return str(refused.value)


def test_a_record_cannot_be_changed_or_deleted_through_the_orm_or_raw_sql(world):
    record = _record_at(world, world.salesperson, datetime(2026, 3, 2, 15, tzinfo=ZoneInfo("UTC")))

    def orm_save():
        record.rows = 0
        record.save()

    def raw(sql):
        def run():
            with connection.cursor() as cursor:
                cursor.execute(sql, [record.pk] if "%s" in sql else None)
        return run

    attempts = {
        "orm save": orm_save,
        "orm update": lambda: AccessRecord.objects.across_rooftops().filter(pk=record.pk).update(rows=0),
        "orm instance delete": lambda: AccessRecord.unscoped.get(pk=record.pk).delete(),
        "orm queryset delete": lambda: AccessRecord.objects.across_rooftops().filter(pk=record.pk).delete(),
        "raw update": raw("UPDATE rooftops_accessrecord SET username = 'someone else' WHERE id = %s"),
        "raw delete": raw("DELETE FROM rooftops_accessrecord WHERE id = %s"),
        "raw truncate": raw("TRUNCATE rooftops_accessrecord"),
    }
    for name, attempt in attempts.items():
        assert "append-only" in _refused(attempt), name
    kept = AccessRecord.unscoped.get(pk=record.pk)
    assert (kept.rows, kept.username) == (1, world.salesperson.username)


def test_deleting_a_user_keeps_the_record_of_what_they_read(world):
    record = _record_at(world, world.teammate, datetime(2026, 3, 2, 15, tzinfo=ZoneInfo("UTC")))
    world.teammate.delete()
    kept = AccessRecord.unscoped.get(pk=record.pk)
    assert (kept.user_id, kept.username) == (record.user_id, record.username)


def test_recording_is_one_insert_and_nothing_else(world):
    request = RequestFactory().get("/customers/7/?kind=call", REMOTE_ADDR="203.0.113.5")
    request.user = world.salesperson
    with CaptureQueriesContext(connection) as queries:
        access_record(request, kind=Kind.CUSTOMER_PAGE, rooftop_ids=[world.rooftop.id, world.other_rooftop.id],
                      rows=1, object_ids=[7])
    assert len(queries) == 1 and queries[0]["sql"].startswith("INSERT")
    assert {(r.rooftop_id, r.client_address, r.query, r.path) for r in _records()} == {
        (world.rooftop.id, "203.0.113.5", "kind=call", "/customers/7/"),
        (world.other_rooftop.id, "203.0.113.5", "kind=call", "/customers/7/"),
    }


# ---------------------------------------------------------------------------------------------------------
# Every read and export of customer data leaves a record
# ---------------------------------------------------------------------------------------------------------


def test_opening_a_customer_page_records_who_which_customer_when_and_from_where(client, world):
    customer = make_customer(world.rooftop)
    client.force_login(world.salesperson)
    before = datetime.now(ZoneInfo("UTC"))
    assert client.get(reverse("customer-detail", args=[customer.id]), REMOTE_ADDR="198.51.100.7").status_code == 200
    [record] = _records()
    assert (record.user_id, record.username, record.rooftop_id) == (
        world.salesperson.id, world.salesperson.username, world.rooftop.id)
    assert (record.kind, record.object_ids, record.rows) == ("customer_page", [customer.id], 1)
    assert record.client_address == "198.51.100.7" and record.at >= before
    client.get(reverse("customer-timeline", args=[customer.id]))
    assert [r.kind for r in _records()] == ["customer_page", "customer_page"]


def test_another_stores_customer_page_is_404_and_records_nothing(client, world):
    customer = make_customer(world.other_rooftop)
    client.force_login(world.salesperson)
    assert client.get(reverse("customer-detail", args=[customer.id])).status_code == 404
    assert _records() == []


def test_customer_search_and_the_customer_api_are_recorded(client, world):
    customer = make_customer(world.rooftop, first_name="Quentin", last_name="Zebulon")
    client.force_login(world.bdc)
    client.get(reverse("customer-search"), {"q": "Zebulon"})
    client.get(reverse("api-customer-search"), {"q": "Zebulon"})
    client.get(reverse("api-customer-detail", args=[customer.id]))
    client.get(reverse("api-customer-timeline", args=[customer.id]))
    client.get(reverse("customer-search"), {"q": "nobody-by-this-name"})  # no customer shown, nothing read
    records = _records()
    assert [(r.kind, r.object_ids, r.path) for r in records] == [
        ("customer_search", [customer.id], "/customers/"),
        ("customer_search", [customer.id], "/api/customers/search/"),
        ("customer_api", [customer.id], f"/api/customers/{customer.id}/"),
        ("customer_api", [customer.id], f"/api/customers/{customer.id}/timeline/"),
    ]
    assert records[0].query == "q=Zebulon"
    assert {r.rooftop_id for r in records} == {world.rooftop.id}


def test_the_adf_export_page_and_api_are_recorded(client, world):
    lead = LeadFactory(rooftop=world.rooftop, customer=make_customer(world.rooftop),
                       vehicle=InventoryVehicleFactory(rooftop=world.rooftop))
    client.force_login(world.salesperson)
    assert client.get(reverse("lead-adf-export", args=[lead.id])).status_code == 200
    assert client.get(reverse("api-lead-adf", args=[lead.id])).status_code == 200
    assert [(r.kind, r.object_ids, r.rows, r.rooftop_id) for r in _records()] == [
        ("lead_adf_export", [lead.id], 1, world.rooftop.id)] * 2


def test_reading_website_events_through_the_api_records_the_events_shown(client, world):
    now = datetime.now(ZoneInfo("UTC"))
    events_record(rooftop=world.rooftop, received_at=now, messages=[
        normalize({"type": "track", "event": "asc_pageview", "anonymousId": "anon-a", "messageId": f"m{n}"},
                  received_at=now) for n in range(3)])
    client.force_login(world.salesperson)
    shown = [e["id"] for e in client.get("/api/events/", {"limit": 2}).json()["results"]]
    [record] = _records()
    assert (record.kind, record.rows, record.object_ids, record.query) == ("events_api", 2, shown, "limit=2")


def test_dashboard_and_leads_csv_exports_are_recorded_with_their_row_counts(client, world):
    LeadFactory(rooftop=world.rooftop, customer=make_customer(world.rooftop),
                vehicle=InventoryVehicleFactory(rooftop=world.rooftop))
    client.force_login(world.manager)
    summary = client.get(reverse("kpi-export"))
    assert summary.status_code == 200
    summary_lines = list(csv.reader(io.StringIO(summary.content.decode())))
    leads = client.get(reverse("kpi-leads"), {"measure": "leads_received", "format": "csv"})
    lead_lines = list(csv.reader(io.StringIO(b"".join(leads.streaming_content).decode())))
    assert len(lead_lines) >= 2
    assert [(r.kind, r.rows, r.rooftop_id) for r in _records()] == [
        ("kpi_csv", len(summary_lines) - 2, world.rooftop.id), ("leads_csv", len(lead_lines) - 1, world.rooftop.id)]


def test_the_lead_pages_my_day_the_feed_the_alerts_api_and_the_service_lane_are_recorded(client, world):
    from django.utils import timezone

    from alerts.models import Alert
    from customers.models import Appointment

    mine, pooled, walk_in = (make_customer(world.rooftop, last_name=n) for n in ("Mine", "Pooled", "WalkIn"))
    lead = LeadFactory(rooftop=world.rooftop, customer=mine, assigned_to=world.salesperson,
                       vehicle=InventoryVehicleFactory(rooftop=world.rooftop))
    LeadFactory(rooftop=world.rooftop, customer=pooled, assigned_to=None,
                vehicle=InventoryVehicleFactory(rooftop=world.rooftop))
    alert = Alert.unscoped.create(rooftop=world.rooftop, customer=mine, kind="repeat_vdp_views",
                                  reasons=["Viewed it 4 times"], for_team="bdc")
    Appointment.objects.create(rooftop=world.rooftop, customer=walk_in, department="service", kind="service",
                               scheduled_at=timezone.now())

    client.force_login(world.salesperson)
    assert client.get(reverse("my-day")).status_code == 200
    assert client.get(reverse("leads-list")).status_code == 200
    assert client.get(reverse("lead-detail", args=[lead.id])).status_code == 200
    doors = [(r.kind, sorted(r.object_ids), r.rows) for r in _records()]
    assert doors == [("my_day", sorted([mine.id, pooled.id]), 2), ("leads_list", sorted([mine.id, pooled.id]), 2),
                     ("lead_page", [mine.id], 1)]

    client.force_login(world.bdc)
    assert client.get(reverse("alert-feed")).status_code == 200
    assert client.get(reverse("alert-row", args=[alert.id]), HTTP_HX_REQUEST="true").status_code == 200
    assert client.get(reverse("api-alerts"), {"after": 0}).status_code == 200
    client.force_login(world.advisor)
    assert client.get(reverse("service-lane")).status_code == 200
    later = [(r.username, r.kind, r.object_ids, r.rows) for r in _records()[3:]]
    assert later == [(world.bdc.username, "alert_feed", [mine.id], 1), (world.bdc.username, "alert_feed", [mine.id], 1),
                     (world.bdc.username, "alerts_api", [mine.id], 1),
                     (world.advisor.username, "service_lane", [walk_in.id], 1)]


def test_a_list_that_shows_no_customer_records_nothing(client, world):
    client.force_login(world.salesperson)
    assert client.get(reverse("my-day")).status_code == 200
    assert client.get(reverse("leads-list")).status_code == 200
    assert _records() == []


# ---------------------------------------------------------------------------------------------------------
# The manager's page
# ---------------------------------------------------------------------------------------------------------


def test_a_manager_sees_what_one_person_read_between_two_times_on_the_stores_clock(client, world):
    new_york = ZoneInfo("America/New_York")
    inside = _record_at(world, world.salesperson, datetime(2026, 3, 2, 9, 30, tzinfo=new_york), ids=[11])
    _record_at(world, world.salesperson, datetime(2026, 3, 2, 8, 59, tzinfo=new_york), ids=[12])  # before
    _record_at(world, world.salesperson, datetime(2026, 3, 2, 17, 0, tzinfo=new_york), ids=[13])  # at the end
    _record_at(world, world.teammate, datetime(2026, 3, 2, 10, 0, tzinfo=new_york), ids=[14])  # someone else
    client.force_login(world.manager)
    response = client.get(URL, {"person": world.salesperson.id, "start": "2026-03-02T09:00",
                                "end": "2026-03-02T17:00"})
    assert response.status_code == 200
    assert [r.id for r, _, _ in response.context["rows"]] == [inside.id]
    page = response.content.decode()
    assert "Mar 2, 2026 9:30:00 AM" in page and "Sam Sales" in page and "Customer page" in page
    only_exports = client.get(URL, {"kind": "lead_adf_export"})
    assert only_exports.context["rows"] == [] and "Nobody read customer data here" in only_exports.content.decode()


def test_the_manager_exports_the_answer_as_csv_and_the_export_is_itself_recorded(client, world):
    new_york = ZoneInfo("America/New_York")
    for minute in range(3):
        _record_at(world, world.salesperson, datetime(2026, 3, 2, 9, minute, tzinfo=new_york), ids=[minute])
    client.force_login(world.manager)
    response = client.get(URL, {"person": world.salesperson.id, "format": "csv"}, REMOTE_ADDR="192.0.2.44")
    assert response["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert lines[0][:3] == ["at", "user_id", "username"]
    assert [line[0] for line in lines[1:]] == [
        "2026-03-02T09:02:00-05:00", "2026-03-02T09:01:00-05:00", "2026-03-02T09:00:00-05:00"]
    [export] = _records(kind="access_log_csv")
    assert (export.user_id, export.rows, export.client_address, export.rooftop_id) == (
        world.manager.id, 3, "192.0.2.44", world.rooftop.id)
    # The manager's own export shows up in the log it came from.
    assert [r.kind for r, _, _ in client.get(URL, {"person": world.manager.id}).context["rows"]] == ["access_log_csv"]


def test_the_access_log_is_paginated(client, world):
    start = datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("UTC"))
    AccessRecord.unscoped.bulk_create([
        AccessRecord(rooftop=world.rooftop, user=world.bdc, username="bdc", at=start + timedelta(minutes=i),
                     client_address="10.0.0.1", kind="customer_page", path="/customers/1/", rows=1)
        for i in range(55)])
    client.force_login(world.manager)
    first = client.get(URL)
    assert len(first.context["rows"]) == 50 and first.context["page"].has_next
    assert len(client.get(URL, {"page": "2"}).context["rows"]) == 5
    assert client.get(URL, {"page": "1e20"}).status_code == 400


def test_bad_filters_are_a_400_with_the_reason(client, world):
    client.force_login(world.manager)
    response = client.get(URL, {"start": "2026-03-02T10:00", "end": "2026-03-02T09:00"})
    assert response.status_code == 400 and "must be after" in response.content.decode()
    assert client.get(URL, {"kind": "everything"}).status_code == 400


def test_only_the_stores_managers_see_its_log(client, world):
    _record_at(world, world.salesperson, datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("UTC")))
    for user in (world.salesperson, world.bdc, world.advisor, world.outsider):
        client.force_login(user)
        assert client.get(URL).status_code == 404
    other_manager = make_staff(world.other_rooftop, Role.MANAGER)
    client.force_login(other_manager)
    assert client.get(URL).context["rows"] == []  # their own store's log, empty
    assert client.get(URL, {"rooftop": world.rooftop.id}).status_code == 404
    assert client.get(URL, {"rooftop": world.rooftop.id, "format": "csv"}).status_code == 404
    client.logout()
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_manager_granted_the_group_picks_the_store_whose_log_to_read(client, world):
    _record_at(world, world.outsider, datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("UTC")), rooftop=world.other_rooftop)
    StaffProfile.objects.filter(user=world.manager).update(sees_whole_group=True)
    client.force_login(world.manager)
    response = client.get(URL, {"rooftop": world.other_rooftop.id})
    assert [who for _, _, who in response.context["rows"]] == ["Olly Outsider"]
    assert "Summit Test Honda" in response.content.decode()


def test_managers_find_the_access_log_in_the_menu(client, world):
    client.force_login(world.manager)
    assert 'href="/access-log/"' in client.get(reverse("profile")).content.decode()
    client.force_login(world.salesperson)
    assert 'href="/access-log/"' not in client.get(reverse("profile")).content.decode()
