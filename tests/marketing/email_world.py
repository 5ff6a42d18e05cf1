"""Campaign rows for the email tests, written directly (the campaign sender is built elsewhere): a campaign, its
recipient, and the recipient's message in the outbox."""

from __future__ import annotations

import uuid
from datetime import datetime

from anymail.backends.test import EmailBackend as AnymailTestBackend

from customers.messaging import outbound_message_queue
from customers.models import ConsentRecord
from marketing.models import Campaign, CampaignRecipient


def campaign_message(rooftop, customer, *, to: str, now: datetime, channel: str = "email",
                     purpose: str = "marketing", body: str = "Hi Pat,\n\nYour lease ends soon: https://lakeside.test/lease",
                     subject: str = "Your lease", key: str = "", campaign: Campaign | None = None):
    """Queue one marketing message through the outbox and link it to a campaign recipient; returns both."""
    campaign = campaign or Campaign.unscoped.create(dealer_group=rooftop.dealer_group, rooftop=rooftop,
                                                    name="Lease maturing", channels=channel, status="sending")
    send_key = key or f"{customer.pk}:{channel}"
    message = outbound_message_queue(
        customer=customer, rooftop=rooftop, channel=channel, kind="marketing", purpose=purpose, to_address=to,
        subject="" if channel == "sms" else subject, body=body, now=now,
        idempotency_key=f"campaign:{campaign.pk}:{send_key}",
    )
    recipient = CampaignRecipient.objects.create(campaign=campaign, customer=customer, rooftop=rooftop,
                                                 channel=channel, send_key=send_key, status="queued", message=message)
    return recipient, message


def sms_marketing_consent(customer, at: datetime) -> None:
    ConsentRecord.objects.create(customer=customer, dealer_group=customer.dealer_group, channel="sms",
                                 purpose="marketing", granted=True, source="web form", recorded_at=at,
                                 text_shown="Yes, text me offers")


class ServiceLikeBackend(AnymailTestBackend):
    """django-anymail's test backend giving each message an id like an email service's (Postmark's are UUIDs),
    so a delivery webhook can name it."""

    def get_esp_message_id(self, message):
        return str(uuid.uuid5(uuid.NAMESPACE_URL, message.extra_headers.get("X-CRM-Idempotency-Key", "")))
