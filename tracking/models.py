from django.db import models
from django.utils import timezone

from crm.times import SenderDateTimeField
from customers.models import Customer
from rooftops.models import Rooftop
from rooftops.tenancy import TenantModel


class Visitor(TenantModel):
    """A browser on the dealer's website (first-party anonymous id); joined to a customer once known."""

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="+")
    anonymous_id = models.CharField(max_length=100)
    user_id = models.CharField(max_length=100, blank=True)  # Segment userId, when the site knows one
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="visitors")
    # Seen times come from the events' (sender's) clocks.
    identified_at = SenderDateTimeField(null=True, blank=True)
    first_seen_at = SenderDateTimeField(default=timezone.now)
    last_seen_at = SenderDateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["rooftop", "anonymous_id"], name="visitor_once_per_rooftop")
        ]
        indexes = [models.Index(fields=["customer"])]


class TrackedEvent(TenantModel):
    """One message from the collector. The table is partitioned by month of received_at (see migration 0001).

    Not managed by Django: PostgreSQL declarative partitioning needs the partition key in the primary key,
    and rows are inserted in bulk by `tracking.services`.
    """

    id = models.BigIntegerField(primary_key=True)
    received_at = models.DateTimeField()
    rooftop = models.ForeignKey(Rooftop, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    visitor = models.ForeignKey(Visitor, on_delete=models.DO_NOTHING, db_constraint=False, related_name="events")
    customer = models.ForeignKey(
        Customer, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="web_events"
    )
    message_id = models.CharField(max_length=100)
    type = models.CharField(max_length=10)  # track, page, identify, alias, screen, group
    event = models.CharField(max_length=200, blank=True)  # track: event name; page: page name
    occurred_at = SenderDateTimeField()  # skew-corrected: receivedAt - sentAt + timestamp
    sent_at = SenderDateTimeField(null=True)
    vin = models.CharField(max_length=17, blank=True)
    properties = models.JSONField(default=dict)
    traits = models.JSONField(default=dict)
    context = models.JSONField(default=dict)
    scored_at = models.DateTimeField(null=True)

    class Meta(TenantModel.Meta):
        managed = False
        db_table = "tracking_event"


class ReceivedMessage(models.Model):
    """messageId seen per rooftop: a retried batch stores each event once. Swept after the retention period."""

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=100)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rooftop", "message_id"], name="message_once_per_rooftop")]
        indexes = [models.Index(fields=["received_at"])]
