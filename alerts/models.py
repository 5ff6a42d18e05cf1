from django.conf import settings
from django.db import models
from django.utils import timezone

from customers.models import Customer
from leads.models import InventoryVehicle, Lead
from rooftops.models import Rooftop
from rooftops.tenancy import RooftopScopedManager


class Alert(models.Model):
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

    unscoped = models.Manager()
    objects = RooftopScopedManager()

    class Meta:
        base_manager_name = "unscoped"
        default_manager_name = "unscoped"
        indexes = [
            models.Index(fields=["rooftop", "-id"]),
            models.Index(fields=["for_user", "-id"]),
            models.Index(fields=["customer", "kind", "-created_at"]),
        ]
