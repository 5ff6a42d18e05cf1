"""A campaign's results, counted from rows written directly: what customers did, who was held back and why, and
what followed within 30 days of a customer's first message."""

from datetime import date, datetime, timedelta, timezone

import pytest

from customers.models import Appointment, OutboundMessage, VehicleSale
from factories import LeadFactory, RooftopFactory, make_customer
from marketing.models import Campaign, CampaignRecipient
from marketing.results import campaign_results, held_back_customers, held_back_row
from pages_support import campaign, recipient

pytestmark = pytest.mark.django_db

SENT_AT = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)
S, Q = OutboundMessage.Status.SENT, OutboundMessage.Status.QUEUED


def appointment(customer, rooftop, created_at):
    return Appointment.unscoped.create(rooftop=rooftop, customer=customer, department="sales", kind="test_drive",
                                       scheduled_at=created_at + timedelta(days=2), created_at=created_at)


def test_counts_what_customers_did(world):
    c = campaign(world.rooftop, status=Campaign.Status.SENT)
    now = SENT_AT + timedelta(hours=1)
    recipient(c, world.rooftop, message_status=S, sent_at=SENT_AT, delivered_at=now, opened_at=now, clicked_at=now,
              clicks=3)
    recipient(c, world.rooftop, message_status=S, sent_at=SENT_AT, delivered_at=now, unsubscribed_at=now)
    recipient(c, world.rooftop, message_status=S, sent_at=SENT_AT, bounced_at=now)
    recipient(c, world.rooftop, channel="sms", message_status=S, sent_at=SENT_AT, delivered_at=now, replied_at=now)
    recipient(c, world.rooftop, message_status=S, sent_at=SENT_AT, complained_at=now)
    recipient(c, world.rooftop, message_status=Q)
    recipient(c, world.rooftop, message_status=OutboundMessage.Status.FAILED)
    recipient(c, world.rooftop, status=CampaignRecipient.Status.SUPPRESSED, reason="already_bought")
    recipient(c, world.rooftop, status=CampaignRecipient.Status.SUPPRESSED, reason="lead_being_worked")
    recipient(c, world.rooftop, status=CampaignRecipient.Status.SUPPRESSED, reason="lead_being_worked")
    recipient(c, world.rooftop, status=CampaignRecipient.Status.PENDING)
    # Another campaign's rows never count here.
    recipient(campaign(world.rooftop, name="Other"), world.rooftop, message_status=S, clicked_at=now)

    r = campaign_results(c)

    assert (r.recipients, r.sent, r.queued, r.failed) == (11, 5, 1, 1)
    assert (r.delivered, r.opened, r.clicked, r.replied) == (3, 1, 1, 1)
    assert (r.unsubscribed, r.bounced, r.complained, r.held_back) == (1, 1, 1, 3)
    assert [(h.reason, h.words, h.count) for h in r.held_back_by_reason] == [
        ("lead_being_worked", "A salesperson is working the customer's open lead", 2),
        ("already_bought", "The customer already bought this vehicle", 1),
    ]


def test_held_back_customers_with_their_reason(world):
    c = campaign(world.rooftop, status=Campaign.Status.SENT)
    buyer = make_customer(world.rooftop, first_name="Bert", last_name="Buyer")
    recipient(c, world.rooftop, customer=buyer, status=CampaignRecipient.Status.SUPPRESSED, reason="already_bought")
    recipient(c, world.rooftop, message_status=S)
    worked = make_customer(world.rooftop, first_name="Wanda", last_name="Worked")
    # What the run keeps: the verdict in its own words, with its particulars.
    recipient(c, world.rooftop, customer=worked, status=CampaignRecipient.Status.SUPPRESSED, reason="lead_being_worked",
              context={"held_because": "Sam Sales is working the customer's open lead"})
    rows = [held_back_row(r) for r in held_back_customers(c)]
    assert [(row.customer_id, row.name, row.words) for row in rows] == [
        (buyer.id, "Bert Buyer", "The customer already bought this vehicle"),
        (worked.id, "Wanda Worked", "Sam Sales is working the customer's open lead")]
    assert list(held_back_customers(c, reason="frequency_cap")) == []


def test_appointments_and_sales_within_30_days_after_the_first_message(world):
    store = world.rooftop
    c = campaign(store, status=Campaign.Status.SENT)
    booked, late, before, bought_lead, bought_deal, elsewhere, both_channels, silent = (
        make_customer(store, first_name=n) for n in ("Booked", "Late", "Before", "Lead", "Deal", "Else", "Both", "No"))
    for person in (booked, late, before, bought_lead, bought_deal, elsewhere, silent):
        recipient(c, store, customer=person, message_status=S, sent_at=SENT_AT)
    # One customer, an email and a text: one customer, counted once.
    recipient(c, store, customer=both_channels, message_status=S, sent_at=SENT_AT)
    recipient(c, store, customer=both_channels, channel="sms", message_status=S, sent_at=SENT_AT + timedelta(hours=2))
    appointment(both_channels, store, SENT_AT + timedelta(days=3))
    appointment(both_channels, store, SENT_AT + timedelta(days=4))

    appointment(booked, store, SENT_AT + timedelta(days=29, hours=23))
    appointment(late, store, SENT_AT + timedelta(days=30, hours=1))
    appointment(before, store, SENT_AT - timedelta(hours=1))
    appointment(elsewhere, RooftopFactory(), SENT_AT + timedelta(days=1))  # another group's store: not ours
    appointment(elsewhere, world.other_rooftop, SENT_AT + timedelta(days=1))  # a sister store: a store campaign's not
    LeadFactory(rooftop=store, customer=bought_lead, status="sold", sold_at=SENT_AT + timedelta(days=10))
    LeadFactory(rooftop=store, customer=late, status="sold", sold_at=SENT_AT + timedelta(days=31))
    VehicleSale.unscoped.create(rooftop=store, customer=bought_deal, deal_number="D1", sold_on=date(2026, 11, 20))
    VehicleSale.unscoped.create(rooftop=store, customer=before, deal_number="D2", sold_on=date(2026, 10, 20))
    # A queued (unsent) message's customer is not counted, whatever they did.
    queued = make_customer(store, first_name="Queued")
    recipient(c, store, customer=queued, message_status=Q)
    appointment(queued, store, SENT_AT + timedelta(days=1))

    r = campaign_results(c)

    assert (r.customers_sent, r.appointments, r.sales) == (8, 2, 2)


def test_a_group_campaign_counts_what_followed_at_any_store_of_the_group(world):
    c = campaign(world.rooftop, group=True, status=Campaign.Status.SENT)
    person = make_customer(world.rooftop)
    recipient(c, world.rooftop, customer=person, message_status=S, sent_at=SENT_AT)
    appointment(person, world.other_rooftop, SENT_AT + timedelta(days=1))
    assert campaign_results(c).appointments == 1


def test_an_unsent_campaign_has_empty_results(world):
    r = campaign_results(campaign(world.rooftop))
    assert (r.recipients, r.sent, r.customers_sent, r.appointments, r.sales, r.held_back_by_reason) == (
        0, 0, 0, 0, 0, [])
