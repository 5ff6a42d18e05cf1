"""Campaigns to a store's (or the dealer group's) customers, each recipient's verdict and what came of it.

A campaign's audience is built from lifecycle and behaviour (marketing.audience); every recipient is judged by
the pure suppression rules (marketing.eligibility) and, when allowed, written to the one outbox
(customers.OutboundMessage, purpose "marketing"), which checks consent and quiet hours again when it sends.
Price-drop messages belong to one standing campaign per store, so their results read like any other's.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from customers.models import Customer, OutboundMessage
from rooftops.models import DealerGroup, Rooftop
from rooftops.tenancy import RooftopQuerySet, RooftopScopedManager, TenantModel


class CampaignQuerySet(RooftopQuerySet):
    def scope_filter(self, rooftop_ids):
        # A store's campaign is seen at that store; a group campaign (no rooftop) by staff of any of its stores.
        ids = list(rooftop_ids)
        return models.Q(rooftop_id__in=ids) | models.Q(
            rooftop__isnull=True, dealer_group_id__in=Rooftop.objects.filter(id__in=ids).values("dealer_group_id"))


class Campaign(TenantModel):
    class Kind(models.TextChoices):
        CAMPAIGN = "campaign", "Campaign"
        PRICE_DROP = "price_drop", "Price-drop alerts"  # the standing one per store (marketing.price_drops)

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        PAUSED = "paused", "Paused"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    class Channels(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "Text"
        BOTH = "both", "Email and text"

    dealer_group = models.ForeignKey(DealerGroup, on_delete=models.CASCADE, related_name="+")
    rooftop = models.ForeignKey(Rooftop, null=True, blank=True, on_delete=models.CASCADE, related_name="+")  # null: group
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CAMPAIGN)
    name = models.CharField(max_length=200)
    # marketing.audience.AudienceSpec as JSON: {"triggers": [...], "viewed_models": [...], "price_drop_subscribers": bool,
    # "rooftop_ids": [...]}; the pure module reads and validates it.
    audience = models.JSONField(default=dict, blank=True)
    channels = models.CharField(max_length=5, choices=Channels.choices, default=Channels.EMAIL)
    email_subject = models.CharField(max_length=200, blank=True)
    email_body = models.TextField(blank=True)  # merge fields: {{ first_name }}, {{ vehicle }}, {{ equity }} ...
    sms_body = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    send_at = models.DateTimeField(null=True, blank=True)  # scheduled: when the beat starts it
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # touched per chunk while sending
    # Progress, written with each chunk: the audience found, and how many were judged, queued and held back.
    audience_size = models.PositiveIntegerField(default=0)
    judged = models.PositiveIntegerField(default=0)
    queued = models.PositiveIntegerField(default=0)
    suppressed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    objects = RooftopScopedManager.from_queryset(CampaignQuerySet)()

    class Meta(TenantModel.Meta):
        indexes = [
            models.Index(fields=["dealer_group", "-created_at"]),
            models.Index(fields=["send_at"], condition=models.Q(status="scheduled"), name="campaign_scheduled"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["rooftop"], condition=models.Q(kind="price_drop"),
                                    name="one_price_drop_campaign_per_rooftop"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def percent(self) -> int:
        return int(100 * self.judged / self.audience_size) if self.audience_size else 0


class CampaignRecipient(models.Model):
    """One customer on one channel of a campaign (per price drop, for the standing price-drop campaign): the
    verdict, the outbox message when it went, and what the customer did with it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be judged"
        QUEUED = "queued", "Queued"
        SUPPRESSED = "suppressed", "Held back"
        CANCELLED = "cancelled", "Cancelled with the campaign"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="+")  # the store it is sent from
    channel = models.CharField(max_length=5, choices=OutboundMessage.Channel.choices)
    # Unique per campaign: "<customer>:<channel>", or "<price change>:<customer>:<channel>" for price drops.
    send_key = models.CharField(max_length=80)
    # What the message is about, for the merge fields and the "already bought" rule: {"vin", "vehicle", ...}.
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=40, blank=True)  # marketing.eligibility reason code when held back
    message = models.OneToOneField(OutboundMessage, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="campaign_recipient")
    price_change = models.ForeignKey("leads.PriceChange", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # Results: from the provider's webhooks (delivered, bounced, complained), the tracked links and pixel (clicked,
    # opened: approximate), the unsubscribe link, and an inbound reply.
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    clicks = models.PositiveIntegerField(default=0)
    replied_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    complained_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "send_key"], name="campaign_sends_once_per_key")]
        indexes = [
            models.Index(fields=["campaign", "status"]),
            models.Index(fields=["customer", "-created_at"]),
        ]


class PriceDropSubscription(TenantModel):
    """A shopper asked to hear when a vehicle's price drops (the website's price-alert form, or staff)."""

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="price_drop_subscriptions")
    vehicle = models.ForeignKey("leads.InventoryVehicle", on_delete=models.CASCADE, related_name="price_subscriptions")
    below_cents = models.BigIntegerField(null=True, blank=True)  # "tell me when it drops below"; null: any drop
    source = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["vehicle", "customer"], name="price_drop_subscribed_once")]


class MarketingRules(models.Model):
    """The dealer group's limits on marketing, the same for every campaign and the price-drop alerts."""

    dealer_group = models.OneToOneField(DealerGroup, on_delete=models.CASCADE, related_name="marketing_rules")
    # At most this many marketing messages to one customer in any 7 days, across every campaign and store.
    weekly_cap = models.PositiveSmallIntegerField(default=2)
    # No purchase offers to someone who bought a vehicle in the last this many days.
    purchase_quiet_days = models.PositiveSmallIntegerField(default=90)
    # A price drop goes to shoppers who viewed the vehicle in the last this many days (and to its subscribers).
    price_drop_viewed_days = models.PositiveSmallIntegerField(default=14)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")


class PriceDropDispatch(models.Model):
    """A price drop whose messages were judged and written (marketing.price_drops): the sweep passes it by after
    this. The recipients' send keys already make a second pass harmless; this makes it cheap, and a subscriber who
    signs up after the drop is not sent news of it minutes later."""

    price_change = models.OneToOneField("leads.PriceChange", on_delete=models.CASCADE, related_name="+")
    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="+")
    dispatched_at = models.DateTimeField(default=timezone.now)
    subscribers = models.PositiveIntegerField(default=0)  # subscribers whose price the drop reached
    viewers = models.PositiveIntegerField(default=0)  # recent viewers who are not subscribers
    queued = models.PositiveIntegerField(default=0)  # messages written to the outbox
    suppressed = models.PositiveIntegerField(default=0)  # recipients held back (CampaignRecipient.reason says why)
    skipped = models.CharField(max_length=100, blank=True)  # why nobody was told (sold, price changed since)
