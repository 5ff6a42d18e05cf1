"""lead_create: the one way any intake makes a lead, against the real database."""

from datetime import datetime, timedelta, timezone

import pytest

from customers.models import ConsentRecord, Customer, CustomerRooftop, OutboundMessage, TimelineEntry
from factories import InventoryVehicleFactory, LeadFactory, make_customer, make_staff
from leads.models import Lead, LeadClock, LeadNotification, LeadResponseTemplate, RoutingRule, SalesRosterEntry
from leads.services import LeadError
from leads.services.clock import lead_clocks_sweep
from leads.services.new_leads import lead_create
from rooftops.models import Role

pytestmark = pytest.mark.django_db

# Tuesday 10:00 in New York (the world's rooftop is open 09:00-20:00 Monday to Saturday).
OPEN = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)
# Tuesday 23:00 in New York: closed until Wednesday 09:00 (14:00 UTC).
NIGHT = datetime(2026, 11, 25, 4, 0, tzinfo=timezone.utc)
WEDNESDAY_OPENING = datetime(2026, 11, 25, 14, 0, tzinfo=timezone.utc)


def _set(user, availability):
    user.staff_profile.availability = availability
    user.staff_profile.save()


def _web_lead(world, now=OPEN, **kwargs):
    kwargs.setdefault("email", "pat@example.com")
    kwargs.setdefault("first_name", "Pat")
    return lead_create(rooftop=world.rooftop, source=Lead.Source.WEB_FORM, now=now, **kwargs).lead


def test_a_web_lead_makes_a_customer_known_at_the_store_with_a_timeline_entry_and_an_owner(world):
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop)
    lead = _web_lead(world, last_name="Shopper", phone="(617) 555-0142", vehicle=vehicle, comments="Is it available?")
    customer = lead.customer
    assert customer.dealer_group_id == world.rooftop.dealer_group_id
    assert list(customer.emails.values_list("email", flat=True)) == ["pat@example.com"]
    assert list(customer.phones.values_list("e164", flat=True)) == ["+16175550142"]
    assert CustomerRooftop.objects.filter(customer=customer, rooftop=world.rooftop).exists()
    kinds = list(TimelineEntry.unscoped.filter(lead=lead).order_by("id").values_list("kind", flat=True))
    assert kinds == ["lead", "routing"]
    assert "2024 Toyota RAV4 XLE" in TimelineEntry.unscoped.get(lead=lead, kind="lead").summary
    assert lead.assigned_to in (world.salesperson, world.teammate)
    assert lead.assigned_at == OPEN
    clock = LeadClock.unscoped.get(lead=lead)
    assert (clock.owner, clock.deadline_at, clock.warn_at) == (
        lead.assigned_to, OPEN + timedelta(minutes=15), OPEN + timedelta(minutes=10))
    assert LeadNotification.unscoped.get(lead=lead).user == lead.assigned_to


def test_round_robin_gives_the_next_lead_to_whoever_waited_longest(world):
    first = _web_lead(world, email="a@example.com")
    second = _web_lead(world, email="b@example.com", now=OPEN + timedelta(minutes=1))
    third = _web_lead(world, email="c@example.com", now=OPEN + timedelta(minutes=2))
    assert {first.assigned_to, second.assigned_to} == {world.salesperson, world.teammate}
    assert third.assigned_to == first.assigned_to


def test_a_returning_customer_goes_back_to_their_previous_salesperson(world):
    customer = make_customer(world.rooftop)
    customer.emails.create(email="back@example.com", is_primary=True)
    LeadFactory(rooftop=world.rooftop, customer=customer, assigned_to=world.teammate,
                created_at=OPEN - timedelta(days=40))
    SalesRosterEntry.unscoped.create(rooftop=world.rooftop, user=world.teammate, last_assigned_at=OPEN)
    lead = _web_lead(world, email="Back@Example.com")
    assert lead.customer == customer
    assert lead.assigned_to == world.teammate
    assert "previous salesperson" in TimelineEntry.unscoped.get(lead=lead, kind="routing").summary


def test_a_returning_customer_whose_salesperson_is_at_lunch_goes_to_someone_available(world):
    customer = make_customer(world.rooftop)
    customer.emails.create(email="back@example.com", is_primary=True)
    LeadFactory(rooftop=world.rooftop, customer=customer, assigned_to=world.teammate)
    _set(world.teammate, "lunch")
    lead = _web_lead(world, email="back@example.com")
    assert lead.assigned_to == world.salesperson
    assert "is at lunch" in TimelineEntry.unscoped.get(lead=lead, kind="routing").summary


@pytest.mark.parametrize("make_unavailable", [
    lambda world: _set(world.teammate, "off"),
    lambda world: _set(world.teammate, "lunch"),
    lambda world: SalesRosterEntry.unscoped.create(rooftop=world.rooftop, user=world.teammate, active=False),
    lambda world: type(world.teammate).objects.filter(pk=world.teammate.pk).update(is_active=False),
    # Works mornings only; 10:00 on a Tuesday is fine, so give them Mondays only.
    lambda world: SalesRosterEntry.unscoped.create(rooftop=world.rooftop, user=world.teammate,
                                                   shift={"mon": [["09:00", "17:00"]]}),
], ids=["off", "at lunch", "off the roster", "deactivated", "outside their shift"])
def test_nobody_unavailable_is_ever_assigned(world, make_unavailable):
    make_unavailable(world)
    leads = [_web_lead(world, email=f"p{n}@example.com", now=OPEN + timedelta(minutes=n)) for n in range(4)]
    assert {lead.assigned_to for lead in leads} == {world.salesperson}


def test_with_nobody_available_the_lead_waits_in_the_pool_and_is_assigned_when_someone_is_back(world):
    _set(world.salesperson, "off")
    _set(world.teammate, "lunch")
    lead = _web_lead(world)
    clock = LeadClock.unscoped.get(lead=lead)
    assert lead.assigned_to is None and clock.owner is None
    assert clock.assign_retry_at == OPEN + timedelta(seconds=30)
    _set(world.teammate, "available")
    result = lead_clocks_sweep(now=OPEN + timedelta(seconds=31))
    lead.refresh_from_db()
    clock.refresh_from_db()
    assert result.assigned == 1
    assert lead.assigned_to == world.teammate and clock.owner == world.teammate
    assert clock.hops == 0  # being offered from the pool is not a reroute
    assert clock.deadline_at == OPEN + timedelta(seconds=31, minutes=15)


def test_a_lead_at_night_goes_to_the_next_shift_with_a_clock_that_counts_from_the_opening(world):
    lead = _web_lead(world, now=NIGHT)
    clock = LeadClock.unscoped.get(lead=lead)
    assert lead.assigned_to in (world.salesperson, world.teammate) and lead.assigned_at == NIGHT
    assert "Store is closed until Wed 09:00: for the next shift" in TimelineEntry.unscoped.get(
        lead=lead, kind="routing").summary
    assert (clock.owner, clock.opens_at, clock.assign_retry_at) == (lead.assigned_to, WEDNESDAY_OPENING, None)
    assert clock.deadline_at == WEDNESDAY_OPENING + timedelta(minutes=15)
    assert lead_clocks_sweep(now=WEDNESDAY_OPENING).rerouted == 0


def test_a_source_kept_in_the_pool_after_hours_waits_for_the_morning(world):
    RoutingRule.unscoped.create(rooftop=world.rooftop, source="web_form", after_hours="pool")
    lead = _web_lead(world, now=NIGHT)
    clock = LeadClock.unscoped.get(lead=lead)
    assert lead.assigned_to is None
    assert "Store is closed" in TimelineEntry.unscoped.get(lead=lead, kind="routing").summary
    assert clock.assign_retry_at == WEDNESDAY_OPENING
    assert clock.deadline_at == WEDNESDAY_OPENING + timedelta(minutes=15)
    assert lead_clocks_sweep(now=WEDNESDAY_OPENING - timedelta(seconds=1)).assigned == 0
    assert lead_clocks_sweep(now=WEDNESDAY_OPENING).assigned == 1
    clock.refresh_from_db()
    assert clock.owner is not None and clock.deadline_at == WEDNESDAY_OPENING + timedelta(minutes=15)


def test_a_named_owner_rule_sends_the_source_to_that_person(world):
    RoutingRule.unscoped.create(rooftop=world.rooftop, source="adf", mode="named_owner", named_owner=world.teammate)
    leads = [lead_create(rooftop=world.rooftop, source="adf", email=f"x{n}@example.com", now=OPEN).lead for n in range(3)]
    assert {lead.assigned_to for lead in leads} == {world.teammate}


def test_a_pool_rule_leaves_the_lead_up_for_grabs_without_retrying(world):
    RoutingRule.unscoped.create(rooftop=world.rooftop, source="chat", mode="pool")
    lead = lead_create(rooftop=world.rooftop, source="chat", email="chat@example.com", now=OPEN).lead
    clock = LeadClock.unscoped.get(lead=lead)
    assert lead.assigned_to is None and clock.assign_retry_at is None


def test_weighted_shares_follow_the_weights(world):
    RoutingRule.unscoped.create(rooftop=world.rooftop, source="adf", mode="weighted")
    SalesRosterEntry.unscoped.create(rooftop=world.rooftop, user=world.salesperson, weight=3)
    SalesRosterEntry.unscoped.create(rooftop=world.rooftop, user=world.teammate, weight=1)
    leads = [lead_create(rooftop=world.rooftop, source="adf", email=f"w{n}@example.com",
                         now=OPEN + timedelta(seconds=n)).lead for n in range(8)]
    owners = [lead.assigned_to for lead in leads]
    assert owners.count(world.salesperson) == 6 and owners.count(world.teammate) == 2


def test_the_same_lead_delivered_twice_is_one_lead(world):
    first = lead_create(rooftop=world.rooftop, source="adf", email="dup@example.com", dedupe_key="adf:123", now=OPEN)
    again = lead_create(rooftop=world.rooftop, source="adf", email="dup@example.com", dedupe_key="adf:123", now=OPEN)
    assert first.created and not again.created
    assert again.lead == first.lead
    assert Lead.objects.for_rooftops([world.rooftop.id]).count() == 1


def test_a_customer_of_the_group_found_by_phone_becomes_known_at_the_second_store(world):
    customer = make_customer(world.other_rooftop)
    customer.phones.create(e164="+16175550142", is_primary=True)
    lead = _web_lead(world, email="", phone="617-555-0142")
    assert lead.customer == customer
    assert set(CustomerRooftop.objects.filter(customer=customer).values_list("rooftop_id", flat=True)) == {
        world.rooftop.id, world.other_rooftop.id}
    assert Customer.unscoped.filter(dealer_group=world.rooftop.dealer_group).count() == 1


def test_bad_contact_details_are_dropped_with_a_warning_and_an_empty_intake_is_refused(world):
    result = lead_create(rooftop=world.rooftop, source="phone", first_name="Lee", email="not-an-email",
                         phone="12", now=OPEN)
    assert len(result.warnings) == 2 and result.created
    with pytest.raises(LeadError, match="needs at least a name"):
        lead_create(rooftop=world.rooftop, source="phone", email="nope", now=OPEN)
    with pytest.raises(LeadError, match="Unknown lead source"):
        lead_create(rooftop=world.rooftop, source="fax", first_name="Lee", now=OPEN)


def test_a_vehicle_of_another_store_is_refused(world):
    with pytest.raises(LeadError, match="another store"):
        _web_lead(world, vehicle=InventoryVehicleFactory(rooftop=world.other_rooftop))


# --------------------------------------------------------------------------- the automated first response


def test_a_web_lead_queues_an_email_and_with_consent_a_text_naming_the_vehicle_and_the_salesperson(world):
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop, model="Camry", trim="SE")
    lead = _web_lead(world, phone="617-555-0142", vehicle=vehicle,
                     sms_consent_text="Yes, text me about my inquiry. Reply STOP to opt out.")
    owner = lead.assigned_to.staff_profile.display_name
    messages = {m.channel: m for m in OutboundMessage.unscoped.filter(lead=lead)}
    assert set(messages) == {"email", "sms"}
    assert all(m.status == "queued" and m.kind == "first_response" for m in messages.values())
    for message in messages.values():
        assert "2024 Toyota Camry SE" in message.body and owner in message.body
        assert "within 15 minutes" in message.body
    assert messages["email"].subject == "Your inquiry about the 2024 Toyota Camry SE at Lakeside Test Toyota"
    assert messages["sms"].to_address == "+16175550142"
    consent = ConsentRecord.objects.get(customer=lead.customer)
    assert (consent.channel, consent.purpose, consent.granted) == ("sms", "transactional", True)


def test_without_sms_consent_the_text_is_suppressed_and_says_why(world):
    lead = _web_lead(world, phone="617-555-0142")
    sms = OutboundMessage.unscoped.get(lead=lead, channel="sms")
    assert sms.status == "suppressed" and "No transactional text consent" in sms.error


def test_outside_business_hours_the_response_says_when_a_person_will_reply(world):
    # Sunday 14:00 in New York: inside quiet hours' sending window, but the store is closed on Sundays.
    sunday = datetime(2026, 11, 29, 19, 0, tzinfo=timezone.utc)
    lead = _web_lead(world, now=sunday)
    email = OutboundMessage.unscoped.get(lead=lead, channel="email")
    assert email.status == "queued"
    owner = lead.assigned_to.staff_profile.display_name  # the next shift's salesperson, assigned at once
    assert f"Our showroom is closed right now; we open tomorrow at 9:00 AM. {owner} will reply by 9:15 AM." in email.body


def test_a_rooftop_template_replaces_the_default_and_an_inactive_one_sends_nothing(world):
    LeadResponseTemplate.unscoped.create(rooftop=world.rooftop, source="web_form", channel="email",
                                         subject="Hello {customer_first_name}", body="{salesperson} has your {vehicle}.")
    LeadResponseTemplate.unscoped.create(rooftop=world.rooftop, source="web_form", channel="sms", body="x", active=False)
    lead = _web_lead(world, phone="617-555-0142", vehicle_description="red pickup",
                     sms_consent_text="Text me about my inquiry")
    messages = list(OutboundMessage.unscoped.filter(lead=lead))
    assert len(messages) == 1
    assert messages[0].subject == "Hello Pat"
    assert messages[0].body == f"{lead.assigned_to.staff_profile.display_name} has your red pickup."


def test_phone_and_walk_in_leads_get_no_automated_response(world):
    lead = lead_create(rooftop=world.rooftop, source="walk_in", first_name="Lee", email="lee@example.com", now=OPEN).lead
    assert not OutboundMessage.unscoped.filter(lead=lead).exists()


def test_a_salesperson_at_another_store_is_never_a_candidate(world):
    make_staff(world.other_rooftop, Role.SALESPERSON)
    leads = [_web_lead(world, email=f"o{n}@example.com") for n in range(4)]
    assert {lead.assigned_to for lead in leads} <= {world.salesperson, world.teammate}


def test_a_fresh_lead_another_intake_wrote_without_routing_is_adopted_by_the_sweep_once(world):
    from leads.services.new_leads import leads_adopt_unrouted
    from tracking.services import WebLeadInput, web_lead_create

    form = WebLeadInput(form_type="contact", first_name="Pat", last_name="Shopper", email="pat@example.com", phone="")
    lead = web_lead_create(rooftop=world.rooftop, form=form, at=OPEN).lead
    stale = LeadFactory(rooftop=world.rooftop, customer=make_customer(world.rooftop), created_at=OPEN - timedelta(hours=3))
    assert lead.assigned_to is None
    assert leads_adopt_unrouted(now=OPEN + timedelta(seconds=15)) == 1
    assert leads_adopt_unrouted(now=OPEN + timedelta(seconds=30)) == 0
    lead.refresh_from_db()
    assert lead.assigned_to in (world.salesperson, world.teammate)
    assert LeadClock.unscoped.get(lead=lead).deadline_at == OPEN + timedelta(seconds=15, minutes=15)
    assert OutboundMessage.unscoped.filter(lead=lead, channel="email", kind="first_response").exists()
    stale.refresh_from_db()
    assert stale.assigned_to is None and not LeadClock.unscoped.filter(lead=stale).exists()


ADF_DOC = """<?xml version="1.0"?><?adf version="1.0"?>
<adf><prospect status="new"><id sequence="1" source="Cars.com">CC-ROUTE-1</id>
  <requestdate>2026-11-24T09:15:00-05:00</requestdate>
  <vehicle interest="buy" status="new"><year>2025</year><make>Toyota</make><model>Camry</model></vehicle>
  <customer><contact><name part="full">Jane Doe</name><email>jane.doe@example.com</email>
    <phone type="cellphone">(617) 555-0134</phone></contact></customer>
  <provider><name part="full">Cars.com</name></provider></prospect></adf>"""


def test_an_adf_lead_is_routed_right_after_the_intake_commits(world, django_capture_on_commit_callbacks):
    from leads.intake import adf_lead_accept

    with django_capture_on_commit_callbacks(execute=True):
        adf_lead_accept(rooftop=world.rooftop, raw=ADF_DOC, received_via="http")
    lead = Lead.objects.for_rooftops([world.rooftop.id]).get()
    # Routed at the real time of the run: to a salesperson, or to the pool when the store is closed right now.
    clock = LeadClock.unscoped.get(lead=lead)
    assert clock.owner_id == lead.assigned_to_id
    email = OutboundMessage.unscoped.get(lead=lead, channel="email", kind="first_response")
    assert "2025 Toyota Camry" in email.body
    assert TimelineEntry.unscoped.filter(lead=lead, kind="routing").count() == 1
