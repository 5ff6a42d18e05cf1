"""Reads for the manager's campaign pages: which campaigns a manager may open, and what came of one.

The campaign's own counters (`judged`, `queued`, `suppressed`) are its progress while it sends; what the customers
did is counted here from its recipients, and what followed (appointments, sales within 30 days of a customer's
first message of the campaign) from the customers' own records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, DateField, Exists, OuterRef, Q, Subquery
from django.db.models.functions import Cast
from django.http import Http404

from customers.models import Appointment, OutboundMessage, VehicleSale
from leads.models import Lead
from marketing.eligibility import REASONS
from marketing.models import Campaign, CampaignRecipient
from marketing.services import manages
from rooftops.models import Role, Rooftop
from rooftops.selectors import staff_access

ATTRIBUTION_DAYS = 30


def access_campaign(*, user, campaign_id) -> Campaign:
    """A campaign the user manages; anything else (missing, another group's, not a manager) is the same 404."""
    try:
        campaign = (Campaign.objects.for_access(staff_access(user)).select_related("rooftop", "dealer_group",
                                                                                     "created_by")
                    .get(pk=int(campaign_id)))
    except (Campaign.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404 from None
    if not manages(user, dealer_group_id=campaign.dealer_group_id, rooftop_id=campaign.rooftop_id):
        raise Http404
    return campaign


def campaigns_for_store(*, user, rooftop: Rooftop):
    """The store's campaigns and its group's, newest first (the standing price-drop one included)."""
    access = staff_access(user)
    access.require_role(rooftop.id, Role.MANAGER)
    return (Campaign.objects.for_rooftops([rooftop.id])
            .filter(Q(rooftop=rooftop) | Q(rooftop__isnull=True, dealer_group_id=rooftop.dealer_group_id))
            .select_related("rooftop").order_by("-created_at", "-id"))


def _sent(campaign: Campaign):
    return CampaignRecipient.objects.filter(campaign=campaign, message__status=OutboundMessage.Status.SENT)


def _stores(campaign: Campaign) -> Q:
    """Where what followed counts: the campaign's store, or any store of the group for a group campaign."""
    if campaign.rooftop_id is not None:
        return Q(rooftop_id=campaign.rooftop_id)
    return Q(rooftop__dealer_group_id=campaign.dealer_group_id)


@dataclass(frozen=True)
class HeldBack:
    reason: str
    words: str
    count: int


@dataclass(frozen=True)
class Results:
    recipients: int
    queued: int  # in the outbox, not sent yet
    sent: int
    failed: int
    delivered: int
    opened: int  # approximate: only clients that load images
    clicked: int
    replied: int
    unsubscribed: int
    bounced: int
    complained: int
    held_back: int
    held_back_by_reason: list[HeldBack]
    customers_sent: int  # distinct customers with a message sent
    appointments: int  # customers who booked an appointment within 30 days of their first message
    sales: int  # customers who bought within 30 days of their first message

    def share(self, count: int) -> int:
        return round(100 * count / self.sent) if self.sent else 0


def campaign_results(campaign: Campaign) -> Results:
    recipients = CampaignRecipient.objects.filter(campaign=campaign)
    counted = recipients.aggregate(
        recipients=Count("id"),
        queued=Count("id", filter=Q(status=CampaignRecipient.Status.QUEUED, message__status__in=(
            OutboundMessage.Status.QUEUED, OutboundMessage.Status.WAITING_QUIET_HOURS, OutboundMessage.Status.SENDING))),
        sent=Count("id", filter=Q(message__status=OutboundMessage.Status.SENT)),
        failed=Count("id", filter=Q(message__status=OutboundMessage.Status.FAILED)),
        delivered=Count("id", filter=Q(delivered_at__isnull=False)),
        opened=Count("id", filter=Q(opened_at__isnull=False)),
        clicked=Count("id", filter=Q(clicked_at__isnull=False)),
        replied=Count("id", filter=Q(replied_at__isnull=False)),
        unsubscribed=Count("id", filter=Q(unsubscribed_at__isnull=False)),
        bounced=Count("id", filter=Q(bounced_at__isnull=False)),
        complained=Count("id", filter=Q(complained_at__isnull=False)),
        held_back=Count("id", filter=Q(status=CampaignRecipient.Status.SUPPRESSED)),
    )
    by_reason = (recipients.filter(status=CampaignRecipient.Status.SUPPRESSED).values("reason")
                 .annotate(n=Count("id")).order_by("-n", "reason"))
    held = [HeldBack(row["reason"], REASONS.get(row["reason"], row["reason"] or "No reason recorded"), row["n"])
            for row in by_reason]
    followed = _followed(campaign)
    return Results(**counted, held_back_by_reason=held, **followed)


def _followed(campaign: Campaign) -> dict[str, int]:
    """Customers who booked an appointment, and who bought, within 30 days after their first message was sent."""
    window = timedelta(days=ATTRIBUTION_DAYS)
    # One row per customer: the recipient whose message went first (an email and a text count once).
    firsts = CampaignRecipient.objects.filter(pk__in=Subquery(
        _sent(campaign).order_by("customer_id", "message__sent_at").distinct("customer_id").values("pk")))
    sent_at = OuterRef("message__sent_at")
    booked = Appointment.unscoped.filter(_stores(campaign), customer_id=OuterRef("customer_id"),
                                         created_at__gte=sent_at, created_at__lt=sent_at + window)
    sold_lead = Lead.unscoped.filter(_stores(campaign), customer_id=OuterRef("customer_id"), status=Lead.Status.SOLD,
                                     sold_at__gte=sent_at, sold_at__lt=sent_at + window)
    # A DMS deal has a date, not a time: the days from the send's (UTC) date on.
    sold_deal = VehicleSale.unscoped.filter(_stores(campaign), customer_id=OuterRef("customer_id"),
                                            sold_on__gte=Cast(sent_at, DateField()),
                                            sold_on__lt=Cast(sent_at + window, DateField()))
    return {"customers_sent": firsts.count(), "appointments": firsts.filter(Exists(booked)).count(),
            "sales": firsts.filter(Exists(sold_lead) | Exists(sold_deal)).count()}


@dataclass(frozen=True)
class HeldBackRow:
    customer_id: int
    name: str
    channel: str
    reason: str
    words: str


def held_back_customers(campaign: Campaign, *, reason: str = ""):
    """The customers held back, with their reason: a queryset of recipients (paginate it), newest first."""
    rows = (CampaignRecipient.objects.filter(campaign=campaign, status=CampaignRecipient.Status.SUPPRESSED)
            .select_related("customer").order_by("reason", "id"))
    if reason:
        rows = rows.filter(reason=reason)
    return rows


def held_back_row(recipient: CampaignRecipient) -> HeldBackRow:
    customer = recipient.customer
    return HeldBackRow(customer_id=customer.id, name=customer.full_name or f"Customer {customer.id}",
                       channel=recipient.get_channel_display(), reason=recipient.reason,
                       # The verdict's own words where the run kept them ("Sam Sales is working the customer's open
                       # lead", "Bought a vehicle on Nov 21, 2026 (10 days ago) …"), else the reason's.
                       words=str((recipient.context or {}).get("held_because") or "")
                       or REASONS.get(recipient.reason, recipient.reason or "No reason recorded"))
