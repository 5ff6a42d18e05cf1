"""After hours against the real database: a 3:09 a.m. lead is answered by email at once, assigned to the next
shift with its deadline counted from the opening, shown so on the lead page and My day, and not moved overnight."""

import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone as dj_timezone

from customers.messaging import outbound_message_send
from customers.models import OutboundMessage, TimelineEntry
from leads import selectors
from leads.models import Lead, LeadClock, LeadNotification, LeadReroute, RoutingRule, SalesRosterEntry
from leads.services.actions import lead_log_activity
from leads.services.clock import lead_clocks_owner_unavailable, lead_clocks_sweep
from leads.services.new_leads import lead_create
from rooftops.selectors import staff_access

pytestmark = pytest.mark.django_db

UTC = timezone.utc
NY = ZoneInfo("America/New_York")
# The world's rooftop: New York, Monday to Saturday 09:00-20:00, closed Sundays.
THREE_OH_NINE = datetime(2026, 11, 24, 8, 9, tzinfo=UTC)  # Tuesday 03:09 EST
EIGHT_AM = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)  # quiet hours end for texts
OPENING = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)  # Tuesday 09:00
SECOND = timedelta(seconds=1)
MIN = timedelta(minutes=1)
LATE_SHIFT = {d: [["13:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")}


@pytest.fixture
def next_shift(world):
    """Sam works whenever the store is open; Tia starts at 13:00, so at 09:00 only Sam is on the floor."""
    SalesRosterEntry.unscoped.create(rooftop=world.rooftop, user=world.teammate, shift=LATE_SHIFT)
    return world.salesperson


def _adf_lead(world, now=THREE_OH_NINE, email="jane.doe@example.com", **kwargs) -> Lead:
    kwargs.setdefault("phone", "(617) 555-0134")
    kwargs.setdefault("sms_consent_text", "Text me about my inquiry")
    return lead_create(rooftop=world.rooftop, source="adf", provider="Cars.com", first_name="Jane", last_name="Doe",
                       email=email, vehicle_description="2025 Toyota Camry", now=now, **kwargs).lead


def test_a_3am_adf_lead_gets_its_email_at_once_and_its_text_still_waits_for_quiet_hours(world, next_shift):
    lead = _adf_lead(world)
    email = OutboundMessage.unscoped.get(lead=lead, channel="email", kind="first_response")
    sms = OutboundMessage.unscoped.get(lead=lead, channel="sms", kind="first_response")
    assert (email.status, email.send_after) == ("queued", THREE_OH_NINE)
    assert (sms.status, sms.send_after) == ("waiting_quiet_hours", EIGHT_AM)
    # The worker takes the email as soon as the intake commits; here, one second later.
    assert outbound_message_send(message_id=email.pk, now=THREE_OH_NINE + SECOND) == "sent"
    assert outbound_message_send(message_id=sms.pk, now=THREE_OH_NINE + SECOND) == "skipped"
    email.refresh_from_db()
    lead.refresh_from_db()
    assert email.sent_at - lead.created_at == SECOND
    assert lead.first_response_at == THREE_OH_NINE + SECOND
    assert [m.to for m in mail.outbox] == [["jane.doe@example.com"]]
    assert ("Our showroom is closed right now; we open today at 9:00 AM. Sam Sales will reply by 9:15 AM."
            in mail.outbox[0].body)
    # The text goes at 08:00 on the customer's clock, and says the same.
    assert outbound_message_send(message_id=sms.pk, now=EIGHT_AM) == "sent"
    assert "we open today at 9:00 AM. Sam Sales will reply by 9:15 AM." in OutboundMessage.unscoped.get(pk=sms.pk).body


def test_a_3am_lead_is_assigned_at_once_to_the_next_shift_with_its_deadline_counted_from_the_opening(
        world, next_shift):
    lead = _adf_lead(world)
    assert (lead.assigned_to, lead.assigned_at) == (world.salesperson, THREE_OH_NINE)
    clock = LeadClock.unscoped.get(lead=lead)
    assert (clock.owner, clock.started_at, clock.opens_at) == (world.salesperson, THREE_OH_NINE, OPENING)
    assert (clock.deadline_at, clock.warn_at, clock.assign_retry_at) == (OPENING + 15 * MIN, OPENING + 10 * MIN, None)
    assert TimelineEntry.unscoped.get(lead=lead, kind="routing").summary == (
        "Assigned to Sam Sales: Store is closed until Tue 09:00: for the next shift. "
        "Round robin: next available salesperson")
    assert LeadNotification.unscoped.get(lead=lead, user=world.salesperson).text == (
        "New lead provider (adf) lead: Jane Doe about the 2025 Toyota Camry (for when the store opens, Tue 9:00 AM)")


def test_nothing_moves_overnight_and_the_deadline_counted_from_the_opening_holds(world, next_shift):
    lead = _adf_lead(world)
    for at in (THREE_OH_NINE + MIN, THREE_OH_NINE + 2 * 60 * MIN, OPENING - SECOND, OPENING, OPENING + 9 * MIN):
        result = lead_clocks_sweep(now=at)
        assert (result.warned, result.rerouted, result.escalated, result.assigned) == (0, 0, 0, 0), at
    # Going off at night (home, asleep) moves nothing: there is nobody to move the lead to.
    assert lead_clocks_owner_unavailable(user_id=world.salesperson.pk, availability="off",
                                         now=THREE_OH_NINE + 20 * MIN) == 0
    assert LeadReroute.unscoped.filter(lead=lead).count() == 0
    assert lead_clocks_sweep(now=OPENING + 10 * MIN).warned == 1
    assert lead_clocks_sweep(now=OPENING + 15 * MIN - SECOND).rerouted == 0
    assert lead_clocks_sweep(now=OPENING + 15 * MIN).rerouted == 1
    reroute = LeadReroute.unscoped.get(lead=lead)
    assert (reroute.from_user, reroute.at) == (world.salesperson, OPENING + 15 * MIN)


def test_an_owner_who_steps_away_during_open_hours_still_hands_the_lead_on(world, next_shift):
    lead = _adf_lead(world)
    assert lead_clocks_owner_unavailable(user_id=world.salesperson.pk, availability="off", now=OPENING + MIN) == 1
    assert LeadReroute.unscoped.get(lead=lead).kind == "unavailable"


def test_a_source_set_to_the_bdc_pool_waits_there_and_is_offered_at_the_opening(world, next_shift):
    RoutingRule.unscoped.create(rooftop=world.rooftop, source="adf", after_hours="pool")
    lead = _adf_lead(world)
    clock = LeadClock.unscoped.get(lead=lead)
    assert lead.assigned_to is None
    assert (clock.assign_retry_at, clock.opens_at, clock.deadline_at) == (OPENING, OPENING, OPENING + 15 * MIN)
    assert "wait in the BDC pool" in TimelineEntry.unscoped.get(lead=lead, kind="routing").summary
    email = OutboundMessage.unscoped.get(lead=lead, channel="email")
    assert email.status == "queued" and "Our team will reply by 9:15 AM." in email.body
    assert lead_clocks_sweep(now=OPENING - SECOND).assigned == 0
    assert lead_clocks_sweep(now=OPENING).assigned == 1
    lead.refresh_from_db()
    assert lead.assigned_to == world.salesperson


def test_with_nobody_on_the_next_shift_the_lead_waits_in_the_pool_until_the_opening(world, next_shift):
    profile = world.salesperson.staff_profile
    profile.availability = "off"
    profile.save()
    lead = _adf_lead(world)
    clock = LeadClock.unscoped.get(lead=lead)
    assert lead.assigned_to is None and clock.assign_retry_at == OPENING
    assert "nobody is on the next shift" in TimelineEntry.unscoped.get(lead=lead, kind="routing").summary


@pytest.mark.parametrize(("received", "opens"), [
    # Spring-forward Sunday (closed Sundays), 03:09 EDT: Monday 09:00 EDT.
    (datetime(2026, 3, 8, 7, 9, tzinfo=UTC), datetime(2026, 3, 9, 13, 0, tzinfo=UTC)),
    # Fall-back Sunday, the second 01:30 (EST): Monday 09:00 EST.
    (datetime(2026, 11, 1, 6, 30, tzinfo=UTC), datetime(2026, 11, 2, 14, 0, tzinfo=UTC)),
    # Thanksgiving (closed all day), 10:00: Friday 09:00.
    (datetime(2026, 11, 26, 15, 0, tzinfo=UTC), datetime(2026, 11, 27, 14, 0, tzinfo=UTC)),
], ids=["spring-forward", "fall-back", "holiday"])
def test_dst_nights_and_holidays_count_from_the_real_opening(world, next_shift, received, opens):
    world.rooftop.business_hours = world.rooftop.business_hours | {"closed_dates": ["2026-11-26"]}
    world.rooftop.save()
    lead = _adf_lead(world, now=received)
    clock = LeadClock.unscoped.get(lead=lead)
    assert (lead.assigned_to, clock.opens_at, clock.deadline_at) == (world.salesperson, opens, opens + 15 * MIN)
    assert OutboundMessage.unscoped.get(lead=lead, channel="email").status == "queued"


def test_at_the_opening_the_night_lead_is_at_the_top_of_the_salespersons_my_day(world, next_shift):
    monday = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00: a lead Sam is already working
    older = lead_create(rooftop=world.rooftop, source="web_form", first_name="Old", email="old@example.com",
                        now=monday).lead
    assert older.assigned_to == world.salesperson
    lead_log_activity(lead=older, kind="call", by=world.salesperson, now=monday + 5 * MIN)
    night = _adf_lead(world)
    leads = selectors.my_day_leads(access=staff_access(world.salesperson), user=world.salesperson, now=OPENING)
    assert [lead.pk for lead in leads] == [night.pk, older.pk]
    assert leads[0].deadline_at == OPENING + 15 * MIN


def _next_weekday_at(weekday: int, hour: int, minute: int) -> datetime:
    """A future instant on the rooftop's clock (pages compare with the real time)."""
    day = (dj_timezone.now().astimezone(NY) + timedelta(days=7)).date()
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NY).astimezone(UTC)


def test_the_lead_page_and_my_day_say_when_it_is_due_and_when_the_store_opens(client, world, next_shift):
    night = _next_weekday_at(1, 3, 9)  # a coming Tuesday, 03:09
    lead = _adf_lead(world, now=night)
    client.force_login(world.salesperson)
    page = client.get(reverse("lead-detail", args=[lead.pk])).content.decode()
    assert "Due 9:15 AM, the store opens at 9:00 AM" in page
    my_day = client.get(reverse("my-day")).content.decode()
    assert "due 9:15 AM, the store opens at 9:00 AM" in my_day
    client.force_login(world.outsider)
    assert client.get(reverse("lead-detail", args=[lead.pk])).status_code == 404


def test_a_manager_chooses_next_shift_or_pool_per_source(client, world):
    client.force_login(world.manager)
    url = reverse("routing-rule-save", args=[world.rooftop.pk, "adf"])
    form = {"mode": "round_robin", "response_minutes": 15, "warn_before_minutes": 5, "max_hops": 2}
    htmx = {"HTTP_HX_REQUEST": "true"}
    page = client.get(reverse("routing-settings")).content.decode()
    assert 'name="after_hours"' in page and "BDC pool" in page
    assert client.post(url, form | {"after_hours": "pool"}, **htmx).status_code == 200
    assert RoutingRule.unscoped.get(rooftop=world.rooftop, source="adf").after_hours == "pool"
    # A form that does not send the choice keeps the saved one.
    assert client.post(url, form | {"response_minutes": 10}, **htmx).status_code == 200
    assert RoutingRule.unscoped.get(rooftop=world.rooftop, source="adf").after_hours == "pool"
    bad = client.post(url, form | {"after_hours": "tomorrow"}, **htmx)
    assert bad.status_code == 422 and "next shift or BDC pool" in bad.content.decode()
    client.force_login(world.outsider)
    assert client.post(url, form | {"after_hours": "next_shift"}, **htmx).status_code == 404
    assert RoutingRule.unscoped.get(rooftop=world.rooftop, source="adf").after_hours == "pool"



def test_a_store_can_choose_to_hold_its_email_for_quiet_hours_too(client, world, next_shift):
    client.force_login(world.manager)
    url = reverse("email-quiet-hours-save", args=[world.rooftop.pk])
    page = client.get(reverse("routing-settings")).content.decode()
    assert "Send email at any hour" in page and "Hold email until 8:00 AM, like texts" in page
    bad = client.post(url, {"hold_email_in_quiet_hours": "sometimes"})
    assert bad.status_code == 422 and "on or off" in bad.content.decode()
    assert client.post(url, {"hold_email_in_quiet_hours": "on"}).status_code == 302
    world.rooftop.refresh_from_db()
    assert world.rooftop.hold_email_in_quiet_hours
    lead = _adf_lead(world)
    email = OutboundMessage.unscoped.get(lead=lead, channel="email", kind="first_response")
    assert (email.status, email.send_after) == ("waiting_quiet_hours", EIGHT_AM)
    assert outbound_message_send(message_id=email.pk, now=THREE_OH_NINE + SECOND) == "skipped"
    assert mail.outbox == []
    # Only the store's managers choose; another store's staff get the same 404 as for a missing store.
    client.force_login(world.outsider)
    assert client.post(url, {"hold_email_in_quiet_hours": "off"}).status_code == 404
    world.rooftop.refresh_from_db()
    assert world.rooftop.hold_email_in_quiet_hours

# --------------------------------------------------------------------------- the real worker, at a real 3 a.m.

ADF_DOC = """<?xml version="1.0"?><?adf version="1.0"?>
<adf><prospect status="new"><id sequence="1" source="Cars.com">CC-NIGHT-1</id>
  <requestdate>2026-11-24T03:09:00-05:00</requestdate>
  <vehicle interest="buy" status="new"><year>2025</year><make>Toyota</make><model>Camry</model></vehicle>
  <customer><contact><name part="full">Jane Doe</name><email>jane.night@example.com</email></contact></customer>
  <provider><name part="full">Cars.com</name></provider></prospect></adf>"""


def _zone_where_it_is_3am(now: datetime) -> str:
    """An IANA zone whose wall clock reads 03:xx now (Etc/GMT-N is UTC+N)."""
    offset = (3 - now.astimezone(UTC).hour) % 24
    if offset > 14:
        offset -= 24
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


@pytest.mark.django_db(transaction=True)
def test_a_3am_adf_lead_over_http_gets_its_email_from_the_worker_within_a_minute(client, world, celery_worker):
    from crm.celery import app as celery_app

    celery_app.set_current()
    zone = _zone_where_it_is_3am(dj_timezone.now())
    world.rooftop.time_zone = zone
    world.rooftop.save()
    SalesRosterEntry.unscoped.create(rooftop=world.rooftop, user=world.teammate, shift=LATE_SHIFT)
    started = time.monotonic()
    response = client.post(f"/intake/adf/{world.rooftop.lead_intake_token}/", ADF_DOC, content_type="application/xml")
    assert response.status_code == 201, response.content
    lead = Lead.unscoped.get(pk=response.json()["lead_id"])
    assert lead.created_at.astimezone(ZoneInfo(zone)).hour in (3, 4)  # still the small hours at the store
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        email = OutboundMessage.unscoped.filter(lead=lead, channel="email", kind="first_response").first()
        if email is not None and email.status == "sent":
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the first-response email was not sent within 60 s: {email and email.status}")
    waited = time.monotonic() - started
    delay = email.sent_at - lead.created_at
    print(f"\nfirst-response delay of a 3 a.m. ({zone}) ADF email lead: {delay.total_seconds():.3f} s "
          f"(lead stored -> email sent by the worker); {waited:.3f} s from POST to seeing it sent")
    assert delay < timedelta(minutes=1)
    lead.refresh_from_db()
    assert lead.assigned_to == world.salesperson  # Tia's shift starts at 13:00, after the 09:00 opening
    assert "Our showroom is closed right now; we open " in email.body and "Sam Sales will reply by 9:15 AM" in email.body
