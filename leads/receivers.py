"""What the sales side makes of messages (customers.messaging tells through its signals; it imports no app)."""

from __future__ import annotations

from datetime import datetime

from django.dispatch import receiver

from customers.messaging import customer_replied, first_response_sent
from customers.models import Customer, OutboundMessage, TimelineEntry
from leads.models import Lead
from leads.services.actions import lead_customer_replied


@receiver(first_response_sent, dispatch_uid="leads.first_response_stamps_speed_to_lead")
def first_response_stamps_speed_to_lead(*, message: OutboundMessage, sent_at: datetime, **_) -> None:
    # Automated: stamps the speed-to-lead step but never stops the response clock.
    Lead.unscoped.filter(pk=message.lead_id, first_response_at__isnull=True).update(first_response_at=sent_at)


@receiver(customer_replied, dispatch_uid="leads.reply_filed_on_open_lead")
def reply_filed_on_open_lead(*, customer: Customer, channel: str, entry: TimelineEntry, now: datetime, **_) -> None:
    """The reply belongs to the customer's newest open lead, at that lead's store; its salesperson is told."""
    lead = customer.leads.filter(status__in=Lead.OPEN_STATUSES).order_by("-created_at").first()
    if lead is None:
        return
    TimelineEntry.unscoped.filter(pk=entry.pk).update(lead=lead, rooftop_id=lead.rooftop_id)
    lead_customer_replied(lead=lead, channel=channel, now=now)
