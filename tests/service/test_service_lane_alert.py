"""The service-lane alert: a customer checks in (or an RO opens today) and sales hears about it once, with the
car's reasons to trade, the wait and a next step, through the alert machinery (row, Channels push, feed)."""

import asyncio
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from alerts.models import Alert
from customers.models import Appointment, OwnedVehicle, TimelineEntry, VehicleSale
from dms.records import CustomerPart, RepairOrderRecord
from dms.writer import chunk_apply
from factories import LeadFactory, add_contact, make_customer, make_staff
from rooftops.models import Role
from service.lane_alert import clock, lane_alert_text, promised_default
from service.models import ServiceVisit
from service.services import salesperson_of_record, service_visit_started

pytestmark = pytest.mark.django_db


def _local_today(world) -> date:
    return timezone.now().astimezone(ZoneInfo(world.rooftop.time_zone)).date()


def leasing_customer(world, **names):
    """A customer whose lease ends in 45 days: a reason to trade whatever the car is worth."""
    customer = make_customer(world.rooftop, **(names or {"first_name": "Lena", "last_name": "Ortiz"}))
    vehicle = OwnedVehicle.objects.create(customer=customer, vin="2T3P1RFV0KC000301", year=2019, make="Toyota",
                                          model="RAV4")
    VehicleSale.unscoped.create(rooftop=world.rooftop, customer=customer, vehicle=vehicle, deal_number="L-45",
                                sold_on=_local_today(world) - timedelta(days=3 * 365 - 45), year=2019, make="Toyota",
                                model="RAV4", mileage=10, deal_type="lease", residual_cents=1_800_000,
                                maturity_on=_local_today(world) + timedelta(days=45), payment_cents=32_900,
                                term_months=36, miles_per_year=12_000)
    return customer, vehicle


def appointment_today(world, customer, hour=9):
    zone = ZoneInfo(world.rooftop.time_zone)
    return Appointment.unscoped.create(rooftop=world.rooftop, customer=customer, department="service", kind="service",
                                       scheduled_at=datetime.combine(_local_today(world), time(hour), tzinfo=zone))


def _soon(world, minutes=90) -> str:
    """A promised time later today on the store's clock (HH:MM)."""
    zone = ZoneInfo(world.rooftop.time_zone)
    now = timezone.now().astimezone(zone)
    promised = min(now + timedelta(minutes=minutes), now.replace(hour=23, minute=59))
    return promised.strftime("%H:%M")


# --- pure wording ------------------------------------------------------------------------------------

def test_the_alert_says_who_where_how_long_the_reasons_and_a_next_step():
    zone = ZoneInfo("America/Chicago")
    text = lane_alert_text(customer_name="Lena Ortiz", what="oil change",
                           promised_at=datetime(2026, 12, 5, 11, 30, tzinfo=zone),
                           trade_reasons=["Worth $6,200 more than owed on the 2019 RAV4", "Lease ends in 45 days"],
                           open_lead_with=None)
    assert text.reasons == ["Lena Ortiz is in the service lane now, oil change until about 11:30 AM",
                            "Worth $6,200 more than owed on the 2019 RAV4", "Lease ends in 45 days"]
    assert text.suggested_next_step.startswith("Walk over to say hello and offer an appraisal")
    lead_only = lane_alert_text(customer_name="", what="", promised_at=None, trade_reasons=[], open_lead_with="Sam")
    assert lead_only.reasons == ["A customer is in the service lane now", "Open sales lead with Sam"]
    assert clock(datetime(2026, 1, 1, 0, 5)) == "12:05 AM" and clock(datetime(2026, 1, 1, 13, 0)) == "1:00 PM"
    start = datetime(2026, 1, 1, 9, 0)
    assert promised_default(started_at=start, appointment_kind="service") == datetime(2026, 1, 1, 10, 0)


# --- the check-in ------------------------------------------------------------------------------------

def test_a_check_in_raises_one_alert_with_the_reasons_and_the_wait_for_the_salesperson_of_record(client, world):
    customer, _ = leasing_customer(world)
    LeadFactory(rooftop=world.rooftop, customer=customer, assigned_to=world.salesperson, status="lost")
    appointment = appointment_today(world, customer)
    client.force_login(world.advisor)
    promised = _soon(world)
    response = client.post(f"/service/lane/check-in/{appointment.pk}/", {"promised": promised})
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == "shown"
    alert = Alert.unscoped.get(customer=customer, kind="service_lane")
    hour, minute = (int(x) for x in promised.split(":"))
    assert alert.reasons[0] == (f"Lena Ortiz is in the service lane now, service visit until about "
                                f"{clock(datetime(2026, 1, 1, hour, minute))}")
    assert any(r.startswith("Lease ends in 45 days") for r in alert.reasons)
    assert alert.suggested_next_step.startswith("Walk over to say hello and offer an appraisal")
    assert (alert.for_user_id, alert.for_team, alert.state) == (world.salesperson.pk, "sales", "new")
    visit = ServiceVisit.unscoped.get(customer=customer)
    assert visit.alert_id == alert.pk and visit.appointment_id == appointment.pk and visit.started_by == world.advisor
    entry = TimelineEntry.unscoped.get(customer=customer, kind="alert")
    assert entry.detail["alert_id"] == alert.pk and "service lane now" in entry.summary

    # The second click, and the RO of the same visit, raise nothing more.
    assert client.post(f"/service/lane/check-in/{appointment.pk}/", {}).status_code == 302
    service_visit_started(world.rooftop, customer, user=world.advisor)
    assert Alert.unscoped.filter(customer=customer).count() == 1


def test_without_a_trigger_or_an_open_lead_nobody_is_told(client, world):
    customer = make_customer(world.rooftop, first_name="Nora", last_name="Nothing")
    OwnedVehicle.objects.create(customer=customer, make="Honda", model="Civic", year=2024)
    LeadFactory(rooftop=world.rooftop, customer=customer, assigned_to=world.salesperson, status="sold")
    appointment = appointment_today(world, customer)
    client.force_login(world.advisor)
    assert client.post(f"/service/lane/check-in/{appointment.pk}/", {}).status_code == 302
    assert not Alert.unscoped.filter(customer=customer).exists()
    visit = ServiceVisit.unscoped.get(customer=customer)
    assert visit.alert_id is None and visit.promised_at == visit.started_at + timedelta(hours=1)


def test_an_open_sales_lead_alone_is_worth_telling_and_goes_to_its_salesperson(world):
    customer = make_customer(world.rooftop, first_name="Sol", last_name="Shopping")
    lead = LeadFactory(rooftop=world.rooftop, customer=customer, assigned_to=world.salesperson)
    visit = service_visit_started(world.rooftop, customer, user=world.advisor)
    alert = visit.alert
    assert alert is not None and alert.lead_id == lead.pk and alert.for_user_id == world.salesperson.pk
    assert alert.reasons[-1] == "Open sales lead with Sam Sales"
    assert "pick up where the sales conversation left off" in alert.suggested_next_step


def test_without_a_salesperson_of_record_the_sales_team_gets_it(world):
    customer, _ = leasing_customer(world)
    gone = make_staff(world.rooftop, Role.SALESPERSON, display_name="Gone Gus")
    LeadFactory(rooftop=world.rooftop, customer=customer, assigned_to=gone, status="lost")
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    assert salesperson_of_record(rooftop=world.rooftop, customer=customer) is None
    alert = service_visit_started(world.rooftop, customer).alert
    assert (alert.for_user_id, alert.for_team) == (None, "sales")


def test_the_alert_is_pushed_over_channels_to_the_salesperson_and_the_sales_team_after_commit(
        world, django_capture_on_commit_callbacks):
    layer = get_channel_layer()
    groups = [f"user-{world.salesperson.pk}", f"rooftop-{world.rooftop.pk}-sales", f"rooftop-{world.rooftop.pk}-bdc"]
    channels = {}
    for group in groups:  # a browser of the salesperson, one on the sales feed, one on the BDC feed
        channels[group] = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(group, channels[group])

    async def received(wait: float) -> dict:
        """What each channel holds now (one message, or None); one event loop for all the reads."""
        got = {}
        for group, channel in channels.items():
            try:
                got[group] = await asyncio.wait_for(layer.receive(channel), wait)
            except asyncio.TimeoutError:
                got[group] = None
        return got

    customer, _ = leasing_customer(world)
    LeadFactory(rooftop=world.rooftop, customer=customer, assigned_to=world.salesperson)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        alert = service_visit_started(world.rooftop, customer).alert
    assert alert.last_pushed_at is None and callbacks  # nothing left before the commit
    for callback in callbacks:
        callback()
    hint = {"type": "alert.hint", "id": alert.pk}
    assert async_to_sync(received)(2.0) == {groups[0]: hint, groups[1]: hint, groups[2]: None}  # not the BDC's
    alert.refresh_from_db()
    assert alert.last_pushed_at is not None


def test_the_alert_is_on_the_salespersons_feed(client, world):
    customer, _ = leasing_customer(world)
    LeadFactory(rooftop=world.rooftop, customer=customer, assigned_to=world.salesperson, status="lost")
    service_visit_started(world.rooftop, customer)
    client.force_login(world.salesperson)
    html = client.get("/alerts/").content.decode()
    assert "is in the service lane now" in html


# --- repair orders from the DMS ------------------------------------------------------------------------

def _ro(world, number: str, opened_on: date, closed_on: date | None = None) -> RepairOrderRecord:
    return RepairOrderRecord(
        line=2, customer=CustomerPart(dms_number="C-1", first_name="Lena", last_name="Ortiz", email="lena@example.com"),
        ro_number=number, opened_on=opened_on, closed_on=closed_on, vin="2T3P1RFV0KC000301", year=2019,
        make="Toyota", model="RAV4", mileage_in=41_000, total_cents=8_999, advisor="", op_code="LOF",
        op_description="Oil change", op_cents=8_999)


def test_an_imported_history_tells_no_one_but_a_new_open_ro_opened_today_does(world):
    customer, _ = leasing_customer(world)
    add_contact(customer, email="lena@example.com")
    today = _local_today(world)
    history = [_ro(world, "H-1", today - timedelta(days=400), today - timedelta(days=399)),
               _ro(world, "H-2", today - timedelta(days=30))]  # still open in the DMS, but not today's visit
    chunk_apply(rooftop=world.rooftop, kind="repair_orders", records=history, at=timezone.now())
    assert not Alert.unscoped.filter(kind="service_lane").exists()
    chunk_apply(rooftop=world.rooftop, kind="repair_orders", records=[_ro(world, "N-1", today)], at=timezone.now())
    alert = Alert.unscoped.get(kind="service_lane")
    assert alert.customer_id == customer.pk
    assert alert.reasons[0].startswith("Lena Ortiz is in the service lane now, oil change until about")
    # The same RO again in a later file is not a new visit.
    chunk_apply(rooftop=world.rooftop, kind="repair_orders", records=[_ro(world, "N-1", today)], at=timezone.now())
    assert Alert.unscoped.filter(kind="service_lane").count() == 1


# --- the lane page -------------------------------------------------------------------------------------

def test_the_lane_shows_the_reasons_and_whether_sales_was_told(client, world):
    customer, _ = leasing_customer(world)
    LeadFactory(rooftop=world.rooftop, customer=customer, assigned_to=world.salesperson, status="lost")
    appointment = appointment_today(world, customer)
    waiting = make_customer(world.rooftop, first_name="Wes", last_name="Waiting")
    appointment_today(world, waiting, hour=10)
    client.force_login(world.advisor)
    html = client.get("/service/lane/").content.decode()
    rows = html.split('class="lane-row"')[1:]
    wes = next(r for r in rows if "Wes Waiting" in r)
    assert "Checked in</button>" in wes and "Sales told" not in wes

    client.post(f"/service/lane/check-in/{appointment.pk}/", {})
    html = client.get("/service/lane/").content.decode()
    lena = next(r for r in html.split('class="lane-row"')[1:] if "Lena Ortiz" in r)
    assert "trigger-lease_ending" in lena and "Lease ends in 45 days" in lena
    assert "Sales told · new" in lena and "Checked in</button>" not in lena

    alert = Alert.unscoped.get(customer=customer)
    alert.state, alert.claimed_by = "claimed", world.salesperson
    alert.save(update_fields=["state", "claimed_by"])
    html = client.get("/service/lane/").content.decode()
    assert "Sales told · claimed by Sam Sales" in html


def test_only_service_advisors_and_managers_check_in_and_bad_times_are_refused(client, world):
    customer, _ = leasing_customer(world)
    appointment = appointment_today(world, customer)
    url = f"/service/lane/check-in/{appointment.pk}/"
    client.force_login(world.salesperson)
    assert client.post(url, {}).status_code == 404
    client.force_login(world.outsider)
    assert client.post(url, {}).status_code == 404
    client.logout()
    assert client.post(url, {}).status_code == 302  # to log in
    client.force_login(world.advisor)
    assert client.get(url).status_code == 405
    refused = client.post(url, {"promised": "half past"})
    assert refused.status_code == 400 and "not a time" in refused.content.decode()
    assert not Alert.unscoped.filter(customer=customer).exists()
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"
    drive = Appointment.unscoped.create(rooftop=world.rooftop, customer=customer, department="sales",
                                        kind="test_drive", scheduled_at=appointment.scheduled_at)
    assert client.post(f"/service/lane/check-in/{drive.pk}/", {}).status_code == 400
    client.force_login(world.manager)
    assert client.post(url, {}).status_code == 302
    assert Alert.unscoped.filter(customer=customer, kind="service_lane").count() == 1
