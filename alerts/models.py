from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone

from customers.models import Customer
from leads.models import InventoryVehicle, Lead
from rooftops.models import Rooftop
from rooftops.runs import BackgroundRun
from rooftops.tenancy import TenantModel


class Alert(TenantModel):
    """A reason to act on a shopper now. Written to PostgreSQL before anything is pushed."""

    class Priority(models.IntegerChoices):
        LOW = 1, "Low"
        MEDIUM = 2, "Medium"
        HIGH = 3, "High"
        URGENT = 4, "Urgent"

    class State(models.TextChoices):
        NEW = "new", "New"
        SEEN = "seen", "Seen"
        CLAIMED = "claimed", "Claimed"
        ACTED = "acted", "Acted on"
        DISMISSED = "dismissed", "Dismissed"
        EXPIRED = "expired", "Expired"

    class Team(models.TextChoices):
        BDC = "bdc", "BDC"
        SALES = "sales", "Sales"
        SERVICE = "service", "Service lane"
        MANAGERS = "managers", "Managers"

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="alerts")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts")
    visitor = models.ForeignKey("tracking.Visitor", null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    kind = models.CharField(max_length=40)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.MEDIUM)
    reasons = models.JSONField(default=list)  # plain-language sentences, newest first
    vehicle = models.ForeignKey(InventoryVehicle, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    suggested_next_step = models.CharField(max_length=300, blank=True)
    score = models.FloatField(default=0)
    for_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    for_team = models.CharField(max_length=10, choices=Team.choices, default=Team.BDC)
    state = models.CharField(max_length=10, choices=State.choices, default=State.NEW)
    # Follow-up signals inside the cooldown are grouped under the first alert of their kind.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="follow_ups")
    claimed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    claimed_at = models.DateTimeField(null=True, blank=True)
    acted_at = models.DateTimeField(null=True, blank=True)
    dismissed_reason = models.CharField(max_length=200, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # A root alert counts the follow-up signals grouped under it and remembers the latest one.
    follow_up_count = models.PositiveIntegerField(default=0)
    # The feed orders open alerts by their latest signal: a shopper who just did something comes first.
    last_signal_at = models.DateTimeField(default=timezone.now)
    # On a follow-up: this signal raised its alert's priority (the feed re-notified for it).
    priority_rose = models.BooleanField(default=False)
    # When the row was last handed to the channel layer: a hint only, the replay by id is the guarantee.
    last_pushed_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [
            models.Index(fields=["rooftop", "-id"]),
            models.Index(fields=["rooftop", "-last_signal_at", "-id"], name="alert_feed_order",
                         condition=models.Q(parent__isnull=True)),
            models.Index(fields=["for_user", "-id"]),
            models.Index(fields=["customer", "kind", "-created_at"]),
            models.Index(fields=["visitor", "kind", "-created_at"], name="alert_visitor_kind_time"),
            models.Index(fields=["expires_at"], name="alert_open_expiry",
                         condition=models.Q(state__in=["new", "seen"])),
            models.Index(fields=["snoozed_until"], name="alert_snoozed", condition=models.Q(snoozed_until__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"Alert {self.pk} {self.kind}"

    @property
    def is_follow_up(self) -> bool:
        return self.parent_id is not None

    @property
    def is_open(self) -> bool:
        return self.state in (self.State.NEW, self.State.SEEN, self.State.CLAIMED)


class AlertAction(models.Model):
    """Who did what to an alert and when: the audit trail behind claim, act, snooze and dismiss."""

    class Action(models.TextChoices):
        SEEN = "seen", "Seen"
        CLAIM = "claim", "Claimed"
        CALL = "call", "Called"
        TEXT = "text", "Texted"
        EMAIL = "email", "Emailed"
        SNOOZE = "snooze", "Snoozed"
        DISMISS = "dismiss", "Dismissed"
        EXPIRE = "expire", "Expired"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="actions")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=10, choices=Action.choices)
    note = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["alert", "at"])]


class ShopperIntent(TenantModel):
    """One website visitor's compact scoring state (alerts.scoring.ShopperState) and its latest score.

    Updated under SELECT FOR UPDATE by the scoring task, so events of one shopper are folded in one at a time.
    """

    class Trend(models.TextChoices):
        RISING = "rising", "Rising"
        STEADY = "steady", "Steady"
        COOLING = "cooling", "Cooling"

    class Level(models.TextChoices):
        COLD = "cold", "Cold"
        WARM = "warm", "Warm"
        HOT = "hot", "Hot"

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="+")
    visitor = models.OneToOneField("tracking.Visitor", on_delete=models.CASCADE, related_name="intent")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="intents")
    state = models.JSONField(default=dict)  # ShopperState.to_dict()
    score = models.FloatField(default=0)  # as of updated_at; decays with the half-life (current_score)
    trend = models.CharField(max_length=8, choices=Trend.choices, default=Trend.STEADY)
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.COLD)
    reasons = models.JSONField(default=list)  # describe_reasons() when last scored
    # VINs in the state, so a price drop finds the shoppers who viewed that vehicle through a GIN index.
    viewed_vins = ArrayField(models.CharField(max_length=17), default=list, blank=True)
    # The earliest moment the idle sweep has something to decide (a form becoming abandoned); null if nothing.
    idle_check_at = models.DateTimeField(null=True, blank=True)
    event_count = models.PositiveIntegerField(default=0)
    last_event_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        indexes = [
            # "Hottest shoppers" at a store.
            models.Index(fields=["rooftop", "-score"], name="intent_hottest"),
            models.Index(fields=["customer", "-updated_at"], name="intent_customer"),
            models.Index(fields=["idle_check_at"], name="intent_idle_due", condition=models.Q(idle_check_at__isnull=False)),
            GinIndex(fields=["viewed_vins"], name="intent_viewed_vins"),
        ]


class ScoringSettings(TenantModel):
    """A rooftop's tuning of the scoring rules (ScoringRules.to_dict); no row means the shipped defaults."""

    rooftop = models.OneToOneField(Rooftop, on_delete=models.CASCADE, related_name="scoring_settings")
    rules = models.JSONField(default=dict)
    # Kept so "reset to defaults" (or any save) can be undone once.
    previous_rules = models.JSONField(null=True, blank=True)
    # An anonymous shopper cannot be called; by default their signals are scored but raise no alert.
    alert_anonymous_shoppers = models.BooleanField(default=False)
    alert_expiry_hours = models.PositiveIntegerField(default=24)
    # Where the event weights came from, and the last fit to this store's outcomes (alerts.outcomes).
    weights_source = models.CharField(max_length=10, default="hand-set")
    fit_result = models.JSONField(null=True, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)



class ScoringFit(BackgroundRun):
    """One fit of a rooftop's event weights to its sales, run by a Celery worker (alerts.tasks.scoring_fit)."""

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="scoring_fits")
    # Shoppers read so far out of those with a first lead in the window; the fit itself follows the last chunk.
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    # What ScoringSettings.fit_result gets (alerts.outcomes.FitResult.to_dict, or {"ok": False, "reason": ...}).
    result = models.JSONField(null=True, blank=True)

    class Meta(BackgroundRun.Meta):
        constraints = [
            # A second click while a fit runs gets the running one, never a second worker on the same data.
            models.UniqueConstraint(fields=["rooftop"], condition=models.Q(status__in=["queued", "running"]),
                                    name="scoring_fit_one_active_per_rooftop"),
        ]
        indexes = [models.Index(fields=["rooftop", "-created_at"], name="scoring_fit_latest")]

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.done / self.total)) if self.total else 0
