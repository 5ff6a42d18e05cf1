from django.conf import settings
from django.db import models
from django.utils import timezone

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
