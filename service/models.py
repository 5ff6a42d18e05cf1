from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone

from crm.encrypted_fields import EncryptedIntegerField
from customers.models import Customer, OwnedVehicle
from rooftops.models import Rooftop
from rooftops.tenancy import TenantModel


class RepairOrder(TenantModel):
    """A service visit's repair order (RO)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="repair_orders")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="repair_orders")
    vehicle = models.ForeignKey(OwnedVehicle, null=True, blank=True, on_delete=models.SET_NULL, related_name="repair_orders")
    ro_number = models.CharField(max_length=20)
    advisor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    mileage_in = models.PositiveIntegerField(null=True, blank=True)
    total_cents = models.BigIntegerField(default=0)
    # [{"op_code": "LOF", "description": "Oil and filter", "cents": 8999}]
    lines = models.JSONField(default=list, blank=True)
    # The import's hash of the RO as last read from the DMS: an identical RO in a later file is "unchanged".
    dms_fingerprint = models.CharField(max_length=32, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["rooftop", "ro_number"], name="ro_number_once_per_rooftop")]
        indexes = [models.Index(fields=["rooftop", "-opened_at"]), models.Index(fields=["customer", "-opened_at"])]

    def __str__(self) -> str:
        return f"RO {self.ro_number}"


class TradeThresholds(TenantModel):
    """A store's lines for "ready to trade" (service.triggers.Thresholds); a store without a row uses the defaults."""

    rooftop = models.OneToOneField(Rooftop, on_delete=models.CASCADE, related_name="trade_thresholds")
    equity_min_cents = models.PositiveIntegerField(default=200_000)
    lease_within_days = models.PositiveSmallIntegerField(default=90)
    over_pace_percent = models.PositiveSmallIntegerField(default=10)
    payments_left_at_most = models.PositiveSmallIntegerField(default=6)
    warranty_within_days = models.PositiveSmallIntegerField(default=90)
    warranty_within_miles = models.PositiveIntegerField(default=3_000)
    repair_bill_min_cents = models.PositiveIntegerField(default=150_000)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta(TenantModel.Meta):
        pass


class VehicleOpportunity(TenantModel):
    """One owned vehicle as last worked out (service.opportunities): what it is worth, what is still owed, today's
    odometer, and the reasons its owner may be ready to trade. Each figure keeps how it was found and when.

    The payoff and the equity are the customer's financial data and encrypted at rest (README "Privacy"); the
    equity band is a coarse plain bucket so the equity mining list can filter on it in SQL.
    """

    class EquityBand(models.TextChoices):
        UNKNOWN = "unknown", "Unknown"
        NEGATIVE = "negative", "Owes more than it is worth"
        UNDER_2K = "0-2k", "$0 – $2,000"
        FROM_2K = "2k-5k", "$2,000 – $5,000"
        FROM_5K = "5k-10k", "$5,000 – $10,000"
        OVER_10K = "10k+", "Over $10,000"

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="+")  # where it was sold or serviced
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="opportunities")
    vehicle = models.OneToOneField(OwnedVehicle, on_delete=models.CASCADE, related_name="opportunity")
    payoff_cents = EncryptedIntegerField(null=True, blank=True)
    payoff_method = models.TextField(blank=True)  # "known: …", "amortized: …", "lease: …", or why unknown
    payments_left = models.PositiveSmallIntegerField(null=True, blank=True)
    mileage = models.PositiveIntegerField(null=True, blank=True)  # today's estimate
    mileage_method = models.TextField(blank=True)
    value_cents = models.BigIntegerField(null=True, blank=True)
    value_source = models.CharField(max_length=100, blank=True)  # "built-in depreciation model", a book's name
    value_method = models.TextField(blank=True)
    valued_on = models.DateField(null=True, blank=True)
    valued_mileage = models.PositiveIntegerField(null=True, blank=True)  # the estimate the value was made at
    equity_cents = EncryptedIntegerField(null=True, blank=True)
    equity_band = models.CharField(max_length=10, choices=EquityBand.choices, default=EquityBand.UNKNOWN)
    trigger_kinds = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    reasons = models.JSONField(default=list, blank=True)  # [{"kind", "reason"}], strongest first
    score = models.PositiveSmallIntegerField(default=0)  # service.triggers.opportunity_score
    scanned_on = models.DateField()
    found_on = models.DateField(null=True, blank=True)  # the first scan that found a trigger (the KPIs count these)

    class Meta(TenantModel.Meta):
        indexes = [
            models.Index(fields=["rooftop", "-score"], name="opportunity_by_score", condition=models.Q(score__gt=0)),
            GinIndex(fields=["trigger_kinds"], name="opportunity_trigger_kinds"),
            models.Index(fields=["customer"]),
        ]


class ServiceVisit(TenantModel):
    """A customer in the service lane on one day at one store (service.services.service_visit_started).

    One row per customer, store and local day is the visit key: a second check-in, or the RO that opens for the
    same visit, finds it and raises no second alert to sales.
    """

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="service_visits")
    visit_on = models.DateField()  # the store's local day
    started_at = models.DateTimeField(default=timezone.now)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    promised_at = models.DateTimeField(null=True, blank=True)  # when the advisor said the car would be ready
    appointment = models.ForeignKey("customers.Appointment", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    repair_order = models.ForeignKey(RepairOrder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The one alert sales got for this visit; null when nothing was worth telling them (yet).
    alert = models.ForeignKey("alerts.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["rooftop", "customer", "visit_on"], name="one_service_visit_a_day")]
        indexes = [models.Index(fields=["rooftop", "visit_on"])]
