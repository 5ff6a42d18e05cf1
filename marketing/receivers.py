"""What marketing makes of customers.messaging's signals (messaging imports no app; it tells through signals)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.dispatch import receiver

from customers.messaging import customer_replied
from customers.models import Customer
from marketing.models import CampaignRecipient

# A reply this long after a campaign message is no longer taken as an answer to it.
REPLY_WINDOW = timedelta(days=14)


@receiver(customer_replied, dispatch_uid="marketing.reply_counts_for_recent_campaigns")
def reply_counts_for_recent_campaigns(*, customer: Customer, channel: str, now: datetime, **_) -> None:
    """Stamp the reply on the customer's campaign messages sent in the last 14 days (the first reply only)."""
    CampaignRecipient.objects.filter(
        customer=customer, replied_at__isnull=True, message__sent_at__gte=now - REPLY_WINDOW,
        message__sent_at__lte=now,
    ).update(replied_at=now)
