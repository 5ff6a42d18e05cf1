"""A store's DMS history comes in: sales, repair orders and appointments upserted by their natural keys through
the one customer matcher; bad rows reported with their line; resumable, cancellable, idempotent."""

from __future__ import annotations


import pytest
from django.core.files import File

from customers.models import Appointment, Customer, CustomerRooftop, OwnedVehicle, TimelineEntry, VehicleSale
from crm.encrypted_fields import readable
from dms import services, writer
from dms.models import DmsImport
from dms_exports import RO_HEADER, SALE_1, SALE_2, SALE_3, SALES_HEADER, VIN_A, VIN_B, VIN_C, export, run_import
from factories import add_contact, make_customer
from service.models import RepairOrder

pytestmark = pytest.mark.django_db

def test_a_sales_file_lands_each_deal_once_on_one_customer_with_its_finance_and_lease_terms(world, tmp_path):
    done = run_import(world.rooftop, export(tmp_path, SALES_HEADER, SALE_1, SALE_2, SALE_3), "sales")
    assert (done.status, done.total_rows, done.rows_done) == ("done", 3, 3)
    assert (done.added, done.updated, done.unchanged, done.failed) == (3, 0, 0, 0)
    assert not done.file  # the copy of the customers' data is gone with the import

    maria = CustomerRooftop.objects.get(rooftop=world.rooftop, dms_customer_number="C100").customer
    assert (maria.first_name, maria.last_name) == ("Maria", "Lopez")
    assert list(maria.phones.values_list("e164", flat=True)) == ["+16175550101"]
    deals = VehicleSale.unscoped.filter(rooftop=world.rooftop).order_by("deal_number")
    assert [(d.deal_number, d.customer_id) for d in deals][::2] == [("D-1", maria.id), ("D-3", maria.id)]
    financed = deals.get(deal_number="D-1")
    assert (str(financed.sold_on), financed.price_cents, financed.deal_type, financed.term_months) == (
        "2023-04-14", 3450000, "finance", 60)
    assert (readable(financed.amount_financed_cents), readable(financed.payment_cents), readable(financed.lender),
            readable(financed.apr)) == (3000000, 57900, "Toyota Financial", "5.900")
    lease = deals.get(deal_number="D-2")
    assert (str(lease.maturity_on), lease.residual_cents, lease.miles_per_year) == ("2026-04-20", 1450000, 12000)
    assert lease.trade_ins[0]["vin"] == VIN_C and lease.trade_ins[0]["allowance_cents"] == 900000
    assert financed.vehicle.vin == VIN_A and financed.vehicle.customer_id == maria.id
    assert TimelineEntry.unscoped.filter(customer=maria, kind="purchase").count() == 2


def test_importing_the_same_file_again_changes_nothing_and_an_overlapping_one_updates_and_adds(world, tmp_path):
    run_import(world.rooftop, export(tmp_path, SALES_HEADER, SALE_1, SALE_2), "sales")
    again = run_import(world.rooftop, export(tmp_path, SALES_HEADER, SALE_1, SALE_2, name="again.csv"), "sales")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    cheaper = SALE_1.replace('"$34,500.00"', "33900")
    overlap = run_import(world.rooftop, export(tmp_path, SALES_HEADER, cheaper, SALE_2, SALE_3, name="o.csv"), "sales")
    assert (overlap.added, overlap.updated, overlap.unchanged) == (1, 1, 1)
    assert VehicleSale.unscoped.filter(rooftop=world.rooftop).count() == 3
    assert VehicleSale.unscoped.get(deal_number="D-1").price_cents == 3390000
    assert Customer.unscoped.filter(known_at__rooftop=world.rooftop).count() == 2
    assert TimelineEntry.unscoped.filter(rooftop=world.rooftop, kind="purchase").count() == 3
    assert OwnedVehicle.objects.filter(vin=VIN_A).count() == 1


def test_a_dms_customer_who_already_wrote_in_from_the_website_is_the_same_customer(world, tmp_path):
    known = make_customer(world.rooftop, first_name="Maria", last_name="")
    add_contact(known, email="maria@example.com")
    run_import(world.rooftop, export(tmp_path, SALES_HEADER, SALE_1), "sales")
    known.refresh_from_db()
    assert known.last_name == "Lopez"  # a blank is filled; a name staff typed would be kept
    assert CustomerRooftop.objects.get(customer=known, rooftop=world.rooftop).dms_customer_number == "C100"
    assert VehicleSale.unscoped.get(deal_number="D-1").customer_id == known.id
    assert Customer.unscoped.filter(dealer_group=world.rooftop.dealer_group).count() == 1


def test_bad_rows_are_reported_with_their_line_and_reason_and_the_rest_still_loads(world, tmp_path, client):
    bad_vin = SALE_2.replace(VIN_B, VIN_B[:8] + ("0" if VIN_B[8] != "0" else "1") + VIN_B[9:])
    bad_date = SALE_3.replace("2024-01-05", "2024-13-45")
    done = run_import(world.rooftop, export(tmp_path, SALES_HEADER, SALE_1, bad_vin, bad_date), "sales")
    assert (done.status, done.added, done.failed) == ("done", 1, 2)
    lines = {e.line: e for e in done.errors.all()}
    assert set(lines) == {3, 4} and lines[3].key == "D-2" and "VIN" in lines[3].reason
    assert "date" in lines[4].reason.lower()
    client.force_login(world.manager)
    csv = client.get(f"/dms/imports/{done.id}/refused-rows.csv")
    assert csv.status_code == 200 and csv.content.decode().splitlines()[0] == "line,key,reason"
    assert csv.content.decode().splitlines()[1].startswith("3,D-2,")




def test_an_ro_exported_once_per_operation_line_is_one_repair_order_with_its_lines(world, tmp_path):
    rows = [f"C200,Ann,Lee,R-9,2024-06-01,2024-06-02,{VIN_A},41250,LOF,Oil and filter,89.99",
            f"C200,Ann,Lee,R-9,2024-06-01,2024-06-02,{VIN_A},41250,ROT,Tire rotation,29.00",
            f"C200,Ann,Lee,R-10,2024-09-01,,{VIN_A},45000,BRK,Front brakes,420.00"]
    done = run_import(world.rooftop, export(tmp_path, RO_HEADER, *rows, name="ros.csv"), "repair_orders", chunk_rows=2)
    assert (done.added, done.failed) == (3, 0)
    ro = RepairOrder.unscoped.get(rooftop=world.rooftop, ro_number="R-9")
    assert [line["op_code"] for line in ro.lines] == ["LOF", "ROT"] and ro.total_cents == 11899
    assert (ro.status, ro.mileage_in, ro.vehicle.vin) == ("closed", 41250, VIN_A)
    assert RepairOrder.unscoped.get(ro_number="R-10").status == "open"
    assert OwnedVehicle.objects.get(vin=VIN_A).mileage == 45000  # the highest reading wins
    again = run_import(world.rooftop, export(tmp_path, RO_HEADER, *rows, name="ros2.csv"), "repair_orders")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    assert TimelineEntry.unscoped.filter(rooftop=world.rooftop, kind="service_visit").count() == 2


def test_service_appointments_upsert_by_their_number_in_the_stores_time(world, tmp_path):
    header = "customer_number,first_name,last_name,appointment_number,scheduled_at,department,kind,notes"
    path = export(tmp_path, header, "C300,Bo,Kim,A-1,2026-12-08 08:30,service,service,Brakes squeal", name="appts.csv")
    done = run_import(world.rooftop, path, "appointments")
    assert (done.added, done.failed) == (1, 0), list(done.errors.values_list("reason", flat=True))
    appointment = Appointment.unscoped.get(rooftop=world.rooftop, dms_number="A-1")
    assert appointment.scheduled_at.isoformat() == "2026-12-08T13:30:00+00:00"  # 08:30 in New York
    moved = export(tmp_path, header, "C300,Bo,Kim,A-1,2026-12-09 08:30,service,service,Brakes squeal", name="m.csv")
    assert run_import(world.rooftop, moved, "appointments").updated == 1
    assert Appointment.unscoped.filter(rooftop=world.rooftop).count() == 1


class WorkerKilled(BaseException):
    """Stands for a worker process killed mid-file (not an Exception: nothing may catch and record it)."""


def test_an_import_whose_worker_died_mid_file_resumes_after_its_last_whole_chunk(world, tmp_path, monkeypatch):
    path = export(tmp_path, SALES_HEADER, SALE_1, SALE_2, SALE_3)
    with path.open("rb") as handle:
        draft = services.dms_upload(rooftop=world.rooftop, kind="sales", upload=File(handle, name="deals.csv"),
                                    file_name="deals.csv", user=None)
    services.dms_import_start(dms_import=draft, columns=draft.columns, queue=False)
    real = writer.chunk_apply
    calls = []

    def dies_on_the_second_chunk(**kwargs):
        calls.append(len(kwargs["records"]))
        if len(calls) == 2:
            raise WorkerKilled
        return real(**kwargs)

    monkeypatch.setattr(services, "chunk_apply", dies_on_the_second_chunk)
    with pytest.raises(WorkerKilled):
        services.dms_import_execute(import_id=draft.id, chunk_rows=2)
    draft.refresh_from_db()
    assert (draft.status, draft.line_done, draft.rows_done, draft.added) == ("running", 3, 2, 2)
    assert VehicleSale.unscoped.filter(rooftop=world.rooftop).count() == 2  # the dead chunk left nothing half-done

    monkeypatch.setattr(services, "chunk_apply", real)
    done = services.dms_import_execute(import_id=draft.id, chunk_rows=2)
    assert (done.status, done.rows_done, done.added, done.updated, done.unchanged) == ("done", 3, 3, 0, 0)
    assert VehicleSale.unscoped.filter(rooftop=world.rooftop).count() == 3


def test_a_cancelled_import_stops_after_its_chunk_and_keeps_what_it_loaded(world, tmp_path, monkeypatch):
    path = export(tmp_path, SALES_HEADER, SALE_1, SALE_2, SALE_3)
    with path.open("rb") as handle:
        draft = services.dms_upload(rooftop=world.rooftop, kind="sales", upload=File(handle, name="deals.csv"),
                                    file_name="deals.csv", user=None)
    services.dms_import_start(dms_import=draft, columns=draft.columns, queue=False)
    real = writer.chunk_apply

    def manager_clicks_cancel_during_the_first_chunk(**kwargs):
        result = real(**kwargs)
        DmsImport.unscoped.filter(id=draft.id).update(cancel_requested=True)
        return result

    monkeypatch.setattr(services, "chunk_apply", manager_clicks_cancel_during_the_first_chunk)
    done = services.dms_import_execute(import_id=draft.id, chunk_rows=1)
    assert (done.status, done.rows_done, done.added) == ("cancelled", 1, 1)
    assert VehicleSale.unscoped.filter(rooftop=world.rooftop).count() == 1 and not done.file


def test_a_second_delivery_of_a_running_import_does_nothing(world, tmp_path):
    from rooftops.runs import run_claimed

    path = export(tmp_path, SALES_HEADER, SALE_1)
    with path.open("rb") as handle:
        draft = services.dms_upload(rooftop=world.rooftop, kind="sales", upload=File(handle, name="d.csv"),
                                    file_name="d.csv", user=None)
    services.dms_import_start(dms_import=draft, columns=draft.columns, queue=False)
    import psycopg
    from django.db import connection

    other = psycopg.connect(**{k: v for k, v in connection.get_connection_params().items()
                               if k in ("dbname", "user", "host", "port", "password")}, autocommit=True)
    try:
        from zlib import crc32

        kind = crc32(DmsImport._meta.label.encode()) - 2**31
        other.execute("SELECT pg_advisory_lock(%s, %s)", [kind, draft.id])  # a worker is on it
        assert services.dms_import_execute(import_id=draft.id) is None
        other.execute("SELECT pg_advisory_unlock(%s, %s)", [kind, draft.id])
    finally:
        other.close()
    with run_claimed(DmsImport, draft.id) as claimed:
        assert claimed
    assert services.dms_import_execute(import_id=draft.id).status == "done"


def test_the_end_of_an_import_is_told_to_the_stores_webhooks_with_its_counts(world, tmp_path):
    from rooftops.models import WebhookDelivery
    from rooftops.webhooks import webhook_endpoint_create

    endpoint, _ = webhook_endpoint_create(rooftop=world.rooftop, url="http://127.0.0.1:9/hooks",
                                          events=["import.finished"], user=None)
    done = run_import(world.rooftop, export(tmp_path, SALES_HEADER, SALE_1, SALE_2), "sales")
    delivery = WebhookDelivery.unscoped.get(endpoint=endpoint)
    payload = delivery.payload["import"]
    assert (delivery.event, delivery.object_key) == ("import.finished", f"dms_import:{done.id}")
    assert (payload["kind"], payload["dms_kind"], payload["status"]) == ("dms", "sales", "done")
    assert payload["counts"] == {"rows": 2, "added": 2, "updated": 0, "unchanged": 0, "refused": 0}
