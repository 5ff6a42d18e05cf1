"""Price-drop alerts against the real PostgreSQL: the website form subscribes, a drop from the feed or a manager
writes one judged message per subscriber and per recent viewer, once, and a further drop writes again."""

import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from alerts.services import visitor_score_events
from customers.models import ConsentRecord, OutboundMessage, VehicleSale
from factories import InventoryVehicleFactory, add_contact, make_customer
from leads.feed import parse_feed
from leads.inventory import vehicle_set_price
from leads.inventory_feed import feed_apply, feed_today
from leads.models import InventoryVehicle, Lead, PriceChange
from leads.vin import with_check_digit
from marketing.models import Campaign, CampaignRecipient, MarketingRules, PriceDropDispatch, PriceDropSubscription
from marketing.price_drops import (
    price_drop_campaign, price_drop_dispatch, price_drop_subscribe, price_drop_unsubscribe, price_drops_sweep,
)

sys.path.append(str(Path(__file__).resolve().parent.parent / "alerts"))
from shopper_events import identify, send, vdp  # noqa: E402

pytestmark = pytest.mark.django_db

HEADER = "VIN,Stock,Type,Year,Make,Model,Trim,Miles,SellingPrice"
VIN = with_check_digit("2T3P1RFV0RC777001")


def feed(rooftop, price: int):
    """The store's vendor feed listing one RAV4 at `price` dollars (and a second car so nothing is unlisted)."""
    text = "\n".join([HEADER, f"{VIN},F1,New,2024,Toyota,RAV4,XLE,5,{price}",
                      f"{with_check_digit('2T3P1RFV0RC777002')},F2,New,2024,Toyota,Camry,SE,5,27000"]) + "\n"
    parsed = parse_feed(text, today=feed_today(rooftop, timezone.now()))
    outcome = feed_apply(rooftop=rooftop, parsed=parsed, gone_status="unlisted", now=timezone.now())
    assert outcome.errors == ()
    return InventoryVehicle.objects.for_rooftops([rooftop.id]).get(vin=VIN)


def person(rooftop, name: str, *, email: str = "", phone: str = ""):
    customer = make_customer(rooftop, first_name=name)
    add_contact(customer, email=email or f"{name.lower()}@example.com", phone=phone)
    return customer


def viewed(rooftop, customer, vehicle, *, days_ago: float = 1, anonymous_id: str = ""):
    """The customer's browser viewed the vehicle's page, stored and scored as the collector does."""
    anonymous_id = anonymous_id or f"anon-{customer.id}"
    visitor = identify(rooftop, anonymous_id, customer)
    send(rooftop, [vdp(vehicle, at=timezone.now() - timedelta(days=days_ago), anonymous_id=anonymous_id)])
    visitor_score_events(visitor_id=visitor.id)
    return visitor


def marketing_consent(customer, *, channel: str, granted: bool):
    ConsentRecord.objects.create(customer=customer, dealer_group=customer.dealer_group, channel=channel,
                                 purpose="marketing", granted=granted, source="test", recorded_at=timezone.now())


def sent_to(channel: str = "email") -> dict[str, OutboundMessage]:
    """Price-drop messages written to the outbox, by the customer's first name."""
    return {m.customer.first_name: m for m in OutboundMessage.objects.across_rooftops()
            .filter(kind="price_drop", channel=channel).select_related("customer")}


def held_back() -> dict[str, str]:
    return {r.customer.first_name: r.reason for r in CampaignRecipient.objects.filter(status="suppressed")
            .select_related("customer")}


# --- subscribing ---------------------------------------------------------------------------------------------


def test_the_websites_price_alert_form_subscribes_the_shopper_below_their_price_and_a_second_form_refreshes_it(
        client, world):
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop, price_cents=3_000_000)
    url = f"/demo-site/{world.rooftop.slug}/forms/price_alert/"
    response = client.post(url, {"email": "watcher@example.com", "vehicle_id": vehicle.id, "target_price": 28000})
    assert response.status_code == 302
    subscription = PriceDropSubscription.objects.across_rooftops().get(vehicle=vehicle)
    assert (subscription.customer.emails.get().email, subscription.below_cents, subscription.source,
            subscription.cancelled_at) == ("watcher@example.com", 2_800_000, "website price alert", None)
    price_drop_unsubscribe(subscription=subscription)

    client.post(url, {"email": "watcher@example.com", "vehicle_id": vehicle.id, "target_price": 27000})
    subscription.refresh_from_db()
    assert (subscription.below_cents, subscription.cancelled_at) == (2_700_000, None)
    assert PriceDropSubscription.objects.across_rooftops().count() == 1


@pytest.mark.parametrize("target", ["cheap", "-5", "99999999999999999999", ""])
def test_a_price_alert_with_a_bad_price_is_refused_with_a_reason_and_subscribes_nobody(client, world, target):
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop)
    response = client.post(f"/demo-site/{world.rooftop.slug}/forms/price_alert/",
                           {"email": "w@example.com", "vehicle_id": vehicle.id, "target_price": target})
    assert response.status_code == 400
    assert not PriceDropSubscription.objects.across_rooftops().exists()


def test_a_subscription_is_for_a_vehicle_of_the_same_store(world):
    other_car = InventoryVehicleFactory(rooftop=world.other_rooftop)
    with pytest.raises(ValueError, match="another store"):
        price_drop_subscribe(rooftop=world.rooftop, customer=person(world.rooftop, "Pat"), vehicle=other_car,
                             below_cents=None, source="staff")


# --- one message per drop per shopper -------------------------------------------------------------------------


def test_a_drop_from_the_feed_writes_one_message_to_each_subscriber_and_each_recent_viewer_who_may_hear_it(world):
    rooftop = world.rooftop
    vehicle = feed(rooftop, 30_000)
    subscriber = person(rooftop, "Sub", phone="+16175550101")
    marketing_consent(subscriber, channel="sms", granted=True)
    price_drop_subscribe(rooftop=rooftop, customer=subscriber, vehicle=vehicle, below_cents=None, source="test")
    busy_subscriber = person(rooftop, "Busysub")  # over the weekly cap, but asked for this
    price_drop_subscribe(rooftop=rooftop, customer=busy_subscriber, vehicle=vehicle, below_cents=None, source="t")
    viewer = person(rooftop, "Viewer", phone="+16175550102")  # no text consent: email only
    opted_out = person(rooftop, "Optedout")
    marketing_consent(opted_out, channel="email", granted=False)
    buyer = person(rooftop, "Buyer")
    VehicleSale.objects.create(rooftop=rooftop, customer=buyer, deal_number="D1", vin=VIN,
                               sold_on=timezone.localdate() - timedelta(days=400))
    capped = person(rooftop, "Capped")
    old_viewer = person(rooftop, "Longago")
    for shopper in (viewer, opted_out, buyer, capped):
        viewed(rooftop, shopper, vehicle)
    viewed(rooftop, old_viewer, vehicle, days_ago=20)  # outside the 14 days
    send(rooftop, [vdp(vehicle, anonymous_id="anon-nobody")])  # a browser nobody has identified
    for shopper in (capped, busy_subscriber):
        for n in range(2):
            OutboundMessage.unscoped.create(
                customer=shopper, rooftop=rooftop, channel="email", kind="marketing", purpose="marketing",
                to_address=f"{shopper.first_name.lower()}@example.com", body="Deals", status="sent",
                idempotency_key=f"earlier-{shopper.id}-{n}", created_at=timezone.now() - timedelta(days=2))

    feed(rooftop, 28_500)
    assert price_drops_sweep() == 1

    emails = sent_to("email")
    assert set(emails) == {"Sub", "Busysub", "Viewer"}
    assert set(sent_to("sms")) == {"Sub"}  # texts only with marketing text consent
    body = emails["Viewer"].body
    assert "2024 Toyota RAV4 XLE" in body and "from $30,000 to $28,500" in body
    assert f"/demo-site/{rooftop.slug}/vehicles/F1/" in body and body.count("http") == 1
    assert "you asked us" in emails["Sub"].body and "you looked at it" in body
    assert (emails["Viewer"].purpose, emails["Viewer"].subject) == (
        "marketing", "Price drop: 2024 Toyota RAV4 XLE is now $28,500")
    assert held_back() == {"Optedout": "opted_out", "Buyer": "already_bought", "Capped": "frequency_cap"}

    change = PriceChange.objects.get(vehicle=vehicle)
    recipient = CampaignRecipient.objects.get(message=emails["Viewer"])
    assert recipient.send_key == f"{change.id}:{recipient.customer_id}:email" and recipient.price_change == change
    assert recipient.context["vin"] == VIN and recipient.context["new_price"] == 2_850_000
    assert emails["Viewer"].idempotency_key == f"price-drop:{change.id}:{recipient.customer_id}:email"
    campaign = recipient.campaign
    assert (campaign.kind, campaign.name, campaign.status, campaign.rooftop) == (
        "price_drop", "Price-drop alerts", "sending", rooftop)
    assert (campaign.queued, campaign.suppressed) == (4, 3)
    dispatch = PriceDropDispatch.objects.get(price_change=change)
    assert (dispatch.subscribers, dispatch.viewers, dispatch.queued, dispatch.suppressed) == (2, 4, 4, 3)

    # Again: the sweep passes it by, and a direct second pass writes nothing either.
    assert price_drops_sweep() == 0
    assert price_drop_dispatch(price_change_id=change.id) is None
    assert OutboundMessage.objects.across_rooftops().filter(kind="price_drop").count() == 4
    assert CampaignRecipient.objects.count() == 7


def test_a_managers_price_change_writes_the_messages_too_and_a_second_drop_writes_again(world):
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop, price_cents=3_000_000)
    viewer = person(world.rooftop, "Viewer")
    viewed(world.rooftop, viewer, vehicle)

    vehicle_set_price(vehicle=vehicle, price_cents=3_100_000)  # up: not news
    assert price_drops_sweep() == 0 and not sent_to()
    vehicle_set_price(vehicle=vehicle, price_cents=2_900_000)
    assert price_drops_sweep() == 1
    vehicle_set_price(vehicle=vehicle, price_cents=2_800_000)
    assert price_drops_sweep() == 1

    bodies = [m.body for m in OutboundMessage.objects.across_rooftops().filter(customer=viewer).order_by("id")]
    assert len(bodies) == 2
    assert "from $31,000 to $29,000" in bodies[0] and "from $29,000 to $28,000" in bodies[1]
    assert Campaign.objects.across_rooftops().filter(kind="price_drop").count() == 1  # one standing campaign


def test_a_subscriber_hears_only_when_the_price_reaches_the_one_they_named(world):
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop, price_cents=3_000_000)
    patient = person(world.rooftop, "Patient")
    price_drop_subscribe(rooftop=world.rooftop, customer=patient, vehicle=vehicle, below_cents=2_800_000,
                         source="website price alert")
    cancelled = person(world.rooftop, "Cancelled")
    price_drop_unsubscribe(subscription=price_drop_subscribe(
        rooftop=world.rooftop, customer=cancelled, vehicle=vehicle, below_cents=None, source="staff"))

    vehicle_set_price(vehicle=vehicle, price_cents=2_900_000)
    price_drops_sweep()
    assert not sent_to()
    vehicle_set_price(vehicle=vehicle, price_cents=2_750_000)
    price_drops_sweep()
    assert set(sent_to()) == {"Patient"}


def test_a_subscriber_who_also_viewed_the_car_gets_one_message_as_the_subscriber(world):
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop, price_cents=3_000_000)
    both = person(world.rooftop, "Both")
    viewed(world.rooftop, both, vehicle)
    price_drop_subscribe(rooftop=world.rooftop, customer=both, vehicle=vehicle, below_cents=None, source="t")
    # A salesperson works their lead: that holds back offers, not an alert they asked for.
    Lead.unscoped.create(rooftop=world.rooftop, customer=both, source="web_form", assigned_to=world.salesperson,
                         status="working")

    vehicle_set_price(vehicle=vehicle, price_cents=2_900_000)
    price_drops_sweep()
    [message] = OutboundMessage.objects.across_rooftops().filter(customer=both)
    assert "you asked us" in message.body and message.status != "suppressed"


def test_a_viewer_whose_lead_a_salesperson_works_is_left_to_the_salesperson(world):
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop, price_cents=3_000_000)
    worked = person(world.rooftop, "Worked")
    viewed(world.rooftop, worked, vehicle)
    Lead.unscoped.create(rooftop=world.rooftop, customer=worked, source="web_form", assigned_to=world.salesperson,
                         status="working")
    vehicle_set_price(vehicle=vehicle, price_cents=2_900_000)
    price_drops_sweep()
    assert not sent_to() and held_back() == {"Worked": "lead_being_worked"}


def test_the_viewing_window_is_the_groups_setting(world):
    MarketingRules.objects.create(dealer_group=world.rooftop.dealer_group, price_drop_viewed_days=3)
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop, price_cents=3_000_000)
    viewed(world.rooftop, person(world.rooftop, "Recent"), vehicle, days_ago=2)
    viewed(world.rooftop, person(world.rooftop, "Fiveago"), vehicle, days_ago=5)
    vehicle_set_price(vehicle=vehicle, price_cents=2_900_000)
    price_drops_sweep()
    assert set(sent_to()) == {"Recent"}


def test_a_drop_on_a_sold_car_or_one_repriced_since_tells_nobody(world):
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop, price_cents=3_000_000)
    viewed(world.rooftop, person(world.rooftop, "Viewer"), vehicle)
    stale = vehicle_set_price(vehicle=vehicle, price_cents=2_900_000)
    vehicle_set_price(vehicle=vehicle, price_cents=2_950_000)  # back up before the sweep ran
    assert price_drop_dispatch(price_change_id=stale.id).skipped == "the price has changed again since"
    vehicle.status = "sold"
    vehicle.save(update_fields=["status"])
    sold = vehicle_set_price(vehicle=vehicle, price_cents=2_500_000)
    assert price_drop_dispatch(price_change_id=sold.id).skipped == "the vehicle is no longer for sale"
    assert not sent_to()


def test_a_drop_older_than_the_window_is_not_news_any_more(world):
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop, price_cents=3_000_000)
    viewed(world.rooftop, person(world.rooftop, "Viewer"), vehicle)
    change = vehicle_set_price(vehicle=vehicle, price_cents=2_900_000)
    PriceChange.objects.filter(id=change.id).update(changed_at=timezone.now() - timedelta(minutes=45))
    assert price_drops_sweep() == 0 and not sent_to()


def test_the_standing_campaign_is_made_once_per_store(world):
    first = price_drop_campaign(rooftop=world.rooftop)
    assert price_drop_campaign(rooftop=world.rooftop) == first
    assert price_drop_campaign(rooftop=world.other_rooftop) != first
