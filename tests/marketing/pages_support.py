"""Builders for the campaign pages' tests: campaigns, recipients and outbox rows written directly."""

from __future__ import annotations

import itertools

from django.utils import timezone

from customers.models import OutboundMessage
from factories import make_customer
from marketing.models import Campaign, CampaignRecipient

_n = itertools.count(1)

GOOD = dict(name="Lease ending, spring", audience={"triggers": ["lease_maturing"]}, channels="email",
            email_subject="{{ first_name }}, your lease", email_body="Hi {{ first_name }},\n\nYour {{ vehicle }}.",
            sms_body="")


def campaign(rooftop, *, group=False, status=Campaign.Status.DRAFT, **fields):
    values = {**GOOD, **fields}
    return Campaign.unscoped.create(dealer_group=rooftop.dealer_group, rooftop=None if group else rooftop,
                                    status=status, **values)


def recipient(campaign, rooftop, *, customer=None, channel="email", status=CampaignRecipient.Status.QUEUED,
              reason="", message_status=None, sent_at=None, **fields):
    customer = customer or make_customer(rooftop, first_name=f"Cust{next(_n)}")
    message = None
    if message_status is not None:
        message = OutboundMessage.unscoped.create(
            customer=customer, rooftop=rooftop, channel=channel, kind=OutboundMessage.Kind.MARKETING,
            purpose="marketing", to_address=f"c{customer.id}@example.test", body="Hi", status=message_status,
            idempotency_key=f"test-campaign-{campaign.id}-{next(_n)}",
            sent_at=sent_at or (timezone.now() if message_status == OutboundMessage.Status.SENT else None))
        if sent_at is not None:
            message.created_at = sent_at
            message.save(update_fields=["created_at"])
    return CampaignRecipient.objects.create(campaign=campaign, customer=customer, rooftop=rooftop, channel=channel,
                                            send_key=f"{customer.id}:{channel}:{next(_n)}", status=status,
                                            reason=reason, message=message, **fields)
