"""Price-drop alerts: subscriptions, one message per drop per shopper, and the click that brings the BDC back in.

A vehicle's price falls (the inventory feed or a manager: either way a `leads.PriceChange`). Within a minute its
subscribers and the identified shoppers who viewed it in the last `MarketingRules.price_drop_viewed_days` each get
one message, judged by the same suppression rules as every campaign (marketing.eligibility). They are recipients of
the store's standing "Price-drop alerts" campaign, so their results read like any campaign's, and the send key
"<price change>:<customer>:<channel>" makes a second pass over the same drop write nothing.

When the shopper clicks the message's tracked link, the click is stored as their `price_drop_alert_clicked` event
through the collector's own path (tracking.services.events_record), so scoring and the live BDC alert follow
exactly as for anything the shopper does on the website.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.dispatch import receiver
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from alerts.models import ShopperIntent
from alerts.scoring import PRICE_ALERT_CLICKED
from customers.messaging import outbound_message_queue
from customers.models import ConsentRecord, Customer, OutboundMessage
from leads.models import InventoryVehicle, PriceChange
from marketing import links
from marketing.eligibility import EMAIL, SMS, Offer, Verdict, judge
from marketing.models import Campaign, CampaignRecipient, MarketingRules, PriceDropDispatch, PriceDropSubscription
from marketing.price_drop_rules import (
    SUBSCRIBER, Drop, audience, email_body, email_subject, is_drop, sms_body, subscriber_hears, viewed_since,
)
from marketing.selectors import marketing_rules, recipient_facts
from marketing.signals import link_clicked
from rooftops.models import Rooftop
from tracking.messages import Message
from tracking.models import Visitor
from tracking.services import RecordResult, events_record, visitor_for_browser, visitors_link_customer

logger = logging.getLogger(__name__)

SWEEP_WINDOW = timedelta(minutes=30)  # a drop older than this is not news any more
SWEEP_BATCH = 200  # drops per sweep; the next minute's sweep takes the rest
MAX_VIEWERS = 5000  # per drop: a bound on one transaction, far above a store's real audience for one car
CAMPAIGN_NAME = "Price-drop alerts"


# --- subscriptions ----------------------------------------------------------------------------------------------


def price_drop_subscribe(*, rooftop: Rooftop, customer: Customer, vehicle: InventoryVehicle,
                         below_cents: int | None, source: str, at: datetime | None = None) -> PriceDropSubscription:
    """Subscribe a customer to a vehicle's price drops, or refresh their subscription (new price, not cancelled)."""
    if vehicle.rooftop_id != rooftop.id:
        raise ValueError("The vehicle is at another store.")
    if below_cents is not None and below_cents <= 0:
        raise ValueError("A price to watch for must be more than zero.")
    at = at or timezone.now()
    subscription, _ = PriceDropSubscription.unscoped.update_or_create(
        vehicle=vehicle, customer=customer,
        defaults={"rooftop": rooftop, "below_cents": below_cents, "source": source[:100], "cancelled_at": None},
        create_defaults={"rooftop": rooftop, "below_cents": below_cents, "source": source[:100], "created_at": at},
    )
    return subscription


def price_drop_unsubscribe(*, subscription: PriceDropSubscription, at: datetime | None = None) -> PriceDropSubscription:
    if subscription.cancelled_at is None:
        subscription.cancelled_at = at or timezone.now()
        subscription.save(update_fields=["cancelled_at"])
    return subscription


# --- the standing campaign ----------------------------------------------------------------------------------------


def price_drop_campaign(*, rooftop: Rooftop) -> Campaign:
    """The store's standing price-drop campaign, made on first use (two first uses at once agree on one)."""
    campaign = Campaign.objects.across_rooftops().filter(rooftop=rooftop, kind=Campaign.Kind.PRICE_DROP).first()
    if campaign is not None:
        return campaign
    now = timezone.now()
    try:
        with transaction.atomic():
            return Campaign.unscoped.create(
                dealer_group_id=rooftop.dealer_group_id, rooftop=rooftop, kind=Campaign.Kind.PRICE_DROP,
                name=CAMPAIGN_NAME, channels=Campaign.Channels.BOTH, status=Campaign.Status.SENDING,
                audience={"price_drop_subscribers": True}, created_at=now, started_at=now,
            )
    except IntegrityError:
        return Campaign.objects.across_rooftops().get(rooftop=rooftop, kind=Campaign.Kind.PRICE_DROP)


# --- one drop -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DispatchReport:
    price_change_id: int
    subscribers: int
    viewers: int
    queued: int
    suppressed: int
    skipped: str = ""


def vehicle_page_url(vehicle: InventoryVehicle, rooftop: Rooftop) -> str:
    """The vehicle's page on the dealer website; the store's inventory page if its stock number cannot be a path."""
    try:
        path = reverse("demo-site-vdp", args=[rooftop.slug, vehicle.stock_number])
    except NoReverseMatch:
        path = reverse("demo-site-srp", args=[rooftop.slug])
    return links.absolute(path)


def price_drop_dispatch(*, price_change_id: int, now: datetime | None = None) -> DispatchReport | None:
    """Judge and write the messages of one price drop, once. None when it was done already or is being done."""
    now = now or timezone.now()
    with transaction.atomic():
        # The row lock is the "being done" mark: a second worker on the same drop skips it rather than waits.
        change = (PriceChange.objects.select_for_update(skip_locked=True, of=("self",))
                  .select_related("vehicle__rooftop").filter(id=price_change_id).first())
        if change is None or PriceDropDispatch.objects.filter(price_change_id=change.id).exists():
            return None
        vehicle, rooftop = change.vehicle, change.vehicle.rooftop
        skipped = _why_not_news(change, vehicle)
        if skipped:
            return _dispatched(change, rooftop, DispatchReport(change.id, 0, 0, 0, 0, skipped), now=now)

        subscribers = _subscribers(vehicle, new_cents=change.new_price_cents)
        viewers = _recent_viewers(vehicle, rooftop, now=now)
        who = audience(subscribers=subscribers, viewers=viewers)
        group = rooftop.dealer_group_id
        facts = {channel: recipient_facts(customer_ids=list(who), channel=channel, dealer_group_id=group,
                                          today=now.date(), now=now) for channel in (EMAIL, SMS)}
        customers = Customer.objects.across_rooftops().in_bulk(list(who))
        rules = marketing_rules(group)
        campaign = price_drop_campaign(rooftop=rooftop)
        drop = Drop(
            price_change_id=change.id, vin=vehicle.vin.upper(), vehicle=vehicle.title,
            stock_number=vehicle.stock_number, old_cents=change.old_price_cents, new_cents=change.new_price_cents,
            url=vehicle_page_url(vehicle, rooftop), store=rooftop.name,
        )
        judged: list[tuple[Customer, str, str, Verdict, str]] = []  # customer, channel, address, verdict, why
        for customer_id, why in sorted(who.items()):
            customer = customers.get(customer_id)
            email, text = facts[EMAIL].get(customer_id), facts[SMS].get(customer_id)
            if customer is None or email is None or text is None:
                continue  # deleted since it was found
            offer = Offer(vins=frozenset({drop.vin}), purchase_offer=True, requested=why == SUBSCRIBER)
            # Texts only to those who agreed to marketing texts; no consent is not worth a "held back" row each.
            for recipient in [email] + ([text] if text.consent is True else []):
                judged.append((customer, recipient.channel, recipient.address,
                               judge(recipient, offer, rules, today=now.date()), why))
        queued, suppressed = _recipients_write(campaign=campaign, rooftop=rooftop, drop=drop, judged=judged, now=now)
        report = DispatchReport(change.id, sum(1 for w in who.values() if w == SUBSCRIBER),
                                sum(1 for w in who.values() if w != SUBSCRIBER), queued, suppressed)
        Campaign.unscoped.filter(id=campaign.id).update(
            audience_size=F("audience_size") + queued + suppressed, judged=F("judged") + queued + suppressed,
            queued=F("queued") + queued, suppressed=F("suppressed") + suppressed, heartbeat_at=now,
        )
        return _dispatched(change, rooftop, report, now=now)


def _why_not_news(change: PriceChange, vehicle: InventoryVehicle) -> str:
    if not is_drop(change.old_price_cents, change.new_price_cents):
        return "the price did not go down"
    if vehicle.status not in InventoryVehicle.LISTED_STATUSES:
        return "the vehicle is no longer for sale"
    if vehicle.price_cents != change.new_price_cents:
        # Changed again since: telling them "now $X" would be stale; a newer drop is its own message.
        return "the price has changed again since"
    return ""


def _subscribers(vehicle: InventoryVehicle, *, new_cents: int) -> list[int]:
    rows = (PriceDropSubscription.objects.across_rooftops().filter(vehicle=vehicle, cancelled_at__isnull=True)
            .values_list("customer_id", "below_cents"))
    return [customer_id for customer_id, below in rows if subscriber_hears(below_cents=below, new_cents=new_cents)]


def _recent_viewers(vehicle: InventoryVehicle, rooftop: Rooftop, *, now: datetime) -> list[int]:
    """Identified shoppers whose scoring state saw this VIN within the window.

    Read from ShopperIntent (its GIN index on viewed_vins finds them at once) rather than scanning the event
    table by VIN; a view stored in the last few seconds and not scored yet is the only thing this can miss.
    """
    days = (MarketingRules.objects.filter(dealer_group_id=rooftop.dealer_group_id)
            .values_list("price_drop_viewed_days", flat=True).first())
    since = now - timedelta(days=days if days is not None else 14)
    vin = vehicle.vin.upper()
    rows = (ShopperIntent.objects.for_rooftops([rooftop.id])
            .filter(viewed_vins__contains=[vin], visitor__customer__isnull=False, last_event_at__gte=since)
            .values_list("visitor__customer_id", "state")[:MAX_VIEWERS])
    return sorted({customer_id for customer_id, state in rows if viewed_since(state, vin, since)})


def _recipients_write(*, campaign: Campaign, rooftop: Rooftop, drop: Drop,
                      judged: list[tuple[Customer, str, str, Verdict, str]], now: datetime) -> tuple[int, int]:
    """The recipient rows in one insert and, for those allowed, their messages; returns (queued, held back)."""
    keys = {f"{drop.price_change_id}:{customer.id}:{channel}" for customer, channel, *_ in judged}
    # Written before only if this very drop was dispatched by someone else: the row lock makes that rare.
    written = set(CampaignRecipient.objects.filter(campaign=campaign, send_key__in=keys)
                  .values_list("send_key", flat=True))
    context = {"vin": drop.vin, "vehicle": drop.vehicle, "stock_number": drop.stock_number,
               "old_price": drop.old_cents, "new_price": drop.new_cents, "url": drop.url}  # prices in cents
    fresh = [(customer, channel, address, verdict, why) for customer, channel, address, verdict, why in judged
             if f"{drop.price_change_id}:{customer.id}:{channel}" not in written]
    rows = CampaignRecipient.objects.bulk_create([
        CampaignRecipient(
            campaign=campaign, customer=customer, rooftop=rooftop, channel=channel,
            send_key=f"{drop.price_change_id}:{customer.id}:{channel}", price_change_id=drop.price_change_id,
            context={**context, "why": why}, created_at=now,
            status=CampaignRecipient.Status.QUEUED if verdict.send else CampaignRecipient.Status.SUPPRESSED,
            reason="" if verdict.send else verdict.reason,
        )
        for customer, channel, address, verdict, why in fresh
    ])
    sent = []
    for row, (customer, channel, address, verdict, why) in zip(rows, fresh):
        if not verdict.send:
            continue
        email = channel == EMAIL
        row.message = outbound_message_queue(
            customer=customer, rooftop=rooftop, channel=channel, kind=OutboundMessage.Kind.PRICE_DROP,
            to_address=address, subject=email_subject(drop) if email else "",
            body=email_body(drop, first_name=customer.first_name, why=why) if email else sms_body(drop),
            idempotency_key=f"price-drop:{drop.price_change_id}:{customer.id}:{channel}", now=now,
            purpose=ConsentRecord.Purpose.MARKETING,
        )
        sent.append(row)
    CampaignRecipient.objects.bulk_update(sent, ["message"], batch_size=1000)
    return len(sent), len(rows) - len(sent)


def _dispatched(change: PriceChange, rooftop: Rooftop, report: DispatchReport, *, now: datetime) -> DispatchReport:
    PriceDropDispatch.objects.create(
        price_change=change, rooftop=rooftop, dispatched_at=now, subscribers=report.subscribers,
        viewers=report.viewers, queued=report.queued, suppressed=report.suppressed, skipped=report.skipped,
    )
    return report


def price_drops_sweep(*, now: datetime | None = None, window: timedelta = SWEEP_WINDOW) -> int:
    """The beat job: every drop of the last `window` not dispatched yet (the hint after commit may have been lost)."""
    now = now or timezone.now()
    pending = list(
        PriceChange.objects.filter(changed_at__gte=now - window, changed_at__lte=now,
                                   new_price_cents__lt=F("old_price_cents"))
        .exclude(id__in=PriceDropDispatch.objects.values("price_change_id"))
        .order_by("changed_at", "id").values_list("id", flat=True)[:SWEEP_BATCH]
    )
    done = 0
    for price_change_id in pending:
        if price_drop_dispatch(price_change_id=price_change_id, now=now) is not None:
            done += 1
    return done


# --- the click: back to the shopper's events ---------------------------------------------------------------------


@receiver(link_clicked, dispatch_uid="marketing.price_drops.clicked")
def _price_drop_link_clicked(sender, *, recipient: CampaignRecipient, url: str = "", at: datetime | None = None,
                             anonymous_id: str = "", **kwargs) -> None:
    if recipient.price_change_id is None:
        return  # an ordinary campaign's link
    try:
        # Its own savepoint: the shopper's redirect must not fail because their event could not be stored.
        with transaction.atomic():
            price_drop_click_record(recipient=recipient, at=at or timezone.now(), anonymous_id=anonymous_id or "")
    except Exception:  # noqa: BLE001 - logged; the click itself is already counted by the caller
        logger.exception("price-drop click of recipient %s was not stored as an event", recipient.id)


def price_drop_click_record(*, recipient: CampaignRecipient, at: datetime, anonymous_id: str = "") -> RecordResult:
    """Store the click as the shopper's `price_drop_alert_clicked` event; scoring is queued after commit."""
    rooftop = Rooftop.objects.get(id=recipient.rooftop_id)
    visitor = _click_visitor(rooftop=rooftop, customer_id=recipient.customer_id, recipient_id=recipient.id,
                             anonymous_id=anonymous_id, at=at)
    context = recipient.context if isinstance(recipient.context, dict) else {}
    vehicle = (InventoryVehicle.objects.across_rooftops()
               .filter(price_history__id=recipient.price_change_id).first())
    vin = vehicle.vin if vehicle else (context["vin"][:17] if isinstance(context.get("vin"), str) else "")
    price_cents = vehicle.price_cents if vehicle else context.get("new_price")
    price = price_cents / 100 if isinstance(price_cents, int) else None
    properties = {"vin": vin, "price": price, "campaign_recipient_id": recipient.id, "channel": recipient.channel}
    if vehicle is not None:
        # The ASC item_* names the scorer reads (alerts.facts), so the BDC's alert names the vehicle.
        properties.update(item_id=vehicle.vin, item_number=vehicle.stock_number, item_year=vehicle.year,
                          item_make=vehicle.make, item_model=vehicle.model, item_variant=vehicle.trim,
                          item_price=price)
    message = Message(
        type="track", event=PRICE_ALERT_CLICKED, anonymous_id=visitor.anonymous_id, user_id="", previous_id="",
        message_id=f"price-drop-click:{recipient.id}:{int(at.timestamp() * 1000)}", occurred_at=at, sent_at=None,
        vin=vin, properties=properties, traits={}, context={"source": "price-drop alert", "url": "" if not isinstance(
            context.get("url"), str) else context["url"][:500]},
    )
    return events_record(rooftop=rooftop, messages=[message], received_at=timezone.now())


def _click_visitor(*, rooftop: Rooftop, customer_id: int, recipient_id: int, anonymous_id: str,
                   at: datetime) -> Visitor:
    """The browser the click belongs to: the one that clicked when we know it, else the customer's own."""
    browser = visitor_for_browser(rooftop=rooftop, anonymous_id=anonymous_id, at=at) if anonymous_id else None
    if browser is not None and browser.customer_id in (None, customer_id):
        if browser.customer_id is None:
            # The signed link names the recipient: this browser is theirs from now on (earlier views join them).
            visitors_link_customer(rooftop=rooftop, visitor_ids=[browser.id], customer_id=customer_id, at=at,
                                   reason="clicked a price-drop alert")
        return browser
    # No browser, or one known as someone else (a forwarded email): the event is the recipient's, on their own.
    latest = (Visitor.objects.for_rooftops([rooftop.id]).filter(customer_id=customer_id)
              .order_by("-last_seen_at", "-id").first())
    if latest is not None:
        return latest
    visitor, _ = Visitor.unscoped.get_or_create(
        rooftop=rooftop, anonymous_id=f"email-click-{recipient_id}",
        defaults={"customer_id": customer_id, "identified_at": at, "first_seen_at": at, "last_seen_at": at},
    )
    return visitor
