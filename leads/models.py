from django.conf import settings
from django.db import models
from django.utils import timezone

from customers.models import Customer
from rooftops.models import Rooftop
from rooftops.tenancy import RooftopScopedManager


class InventoryVehicle(models.Model):
    class Condition(models.TextChoices):
        NEW = "new", "New"
        USED = "used", "Used"
        CPO = "cpo", "Certified pre-owned"

    class Status(models.TextChoices):
        IN_STOCK = "in_stock", "In stock"
        IN_TRANSIT = "in_transit", "In transit"
        SOLD = "sold", "Sold"

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="inventory")
    vin = models.CharField(max_length=17)  # check digit validated in leads.vin
    stock_number = models.CharField(max_length=20)
    year = models.PositiveSmallIntegerField()
    make = models.CharField(max_length=50)
    model = models.CharField(max_length=80)
    trim = models.CharField(max_length=80, blank=True)
    body_style = models.CharField(max_length=40, blank=True)
    exterior_color = models.CharField(max_length=40, blank=True)
    condition = models.CharField(max_length=4, choices=Condition.choices)
    mileage = models.PositiveIntegerField(default=0)
    price_cents = models.BigIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_STOCK)
    photo_url = models.URLField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    unscoped = models.Manager()
    objects = RooftopScopedManager()

    class Meta:
        base_manager_name = "unscoped"
        default_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["rooftop", "vin"], name="vin_once_per_rooftop"),
            models.UniqueConstraint(fields=["rooftop", "stock_number"], name="stock_number_once_per_rooftop"),
        ]
        indexes = [models.Index(fields=["rooftop", "status", "make", "model"])]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        return " ".join(str(p) for p in (self.year, self.make, self.model, self.trim) if p)


class PriceChange(models.Model):
    vehicle = models.ForeignKey(InventoryVehicle, on_delete=models.CASCADE, related_name="price_history")
    old_price_cents = models.BigIntegerField()
    new_price_cents = models.BigIntegerField()
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at"]


class Lead(models.Model):
    """A customer's buying opportunity at one rooftop."""

    class Source(models.TextChoices):
        WEB_FORM = "web_form", "Website form"
        ADF = "adf", "Lead provider (ADF)"
        PHONE = "phone", "Phone"
        WALK_IN = "walk_in", "Walk-in"
        CHAT = "chat", "Chat"
        SERVICE = "service", "Service drive"

    class Status(models.TextChoices):
        NEW = "new", "New"
        WORKING = "working", "Working"
        APPOINTMENT_SET = "appointment_set", "Appointment set"
        SHOWN = "shown", "Shown"
        SOLD = "sold", "Sold"
        LOST = "lost", "Lost"

    OPEN_STATUSES = (Status.NEW, Status.WORKING, Status.APPOINTMENT_SET, Status.SHOWN)

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="leads")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="leads")
    source = models.CharField(max_length=12, choices=Source.choices)
    provider = models.CharField(max_length=100, blank=True)  # "Cars.com", "Toyota.com", ...
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    lost_reason = models.CharField(max_length=200, blank=True)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads")
    vehicle = models.ForeignKey(InventoryVehicle, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads")
    vehicle_description = models.CharField(max_length=200, blank=True)  # when not matched to inventory
    trade_in = models.JSONField(default=dict, blank=True)  # {"year", "make", "model", "mileage", "vin"}
    comments = models.TextField(blank=True)
    # Speed to lead: each step is stamped once, when it first happens.
    created_at = models.DateTimeField(default=timezone.now)
    assigned_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)  # automated
    first_attempt_at = models.DateTimeField(null=True, blank=True)  # first human call/text/email
    first_contact_at = models.DateTimeField(null=True, blank=True)  # the customer answered
    status_changed_at = models.DateTimeField(null=True, blank=True)
    sold_at = models.DateTimeField(null=True, blank=True)
    # Same lead delivered twice (mail and HTTP, or resent) must make one lead.
    dedupe_key = models.CharField(max_length=128, blank=True)
    raw_adf = models.TextField(blank=True)

    unscoped = models.Manager()
    objects = RooftopScopedManager()

    class Meta:
        base_manager_name = "unscoped"
        default_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(
                fields=["rooftop", "dedupe_key"], condition=~models.Q(dedupe_key=""), name="lead_dedupe_per_rooftop"
            )
        ]
        indexes = [
            models.Index(fields=["rooftop", "-created_at"]),
            models.Index(fields=["assigned_to", "status"]),
            models.Index(fields=["customer", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"Lead {self.pk} ({self.get_source_display()})"


class LeadStatusChange(models.Model):
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    reason = models.CharField(max_length=200, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)


# --- ADF intake (customers engineer): the needs-review queue --------------------------------------------------
class AdfReview(models.Model):
    """An ADF delivery that could not be read into a lead, kept whole with the reason until staff fix it.

    Nothing a provider delivered is lost: malformed XML (answered 400), documents with no usable customer
    (answered 201 needs_review) and refused unsafe documents all land here.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Needs review"
        ACCEPTED = "accepted", "Accepted as a lead"
        DISCARDED = "discarded", "Discarded"

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="+")
    raw = models.TextField()
    reason = models.CharField(max_length=500)
    refused = models.BooleanField(default=False)  # refused for safety (DTD, entities): likely an attack
    received_via = models.CharField(max_length=20)  # http, email, demo
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)

    unscoped = models.Manager()
    objects = RooftopScopedManager()

    class Meta:
        base_manager_name = "unscoped"
        default_manager_name = "unscoped"
        indexes = [models.Index(fields=["rooftop", "status", "-received_at"])]
