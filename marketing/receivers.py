"""What an email service's delivery events (django-anymail's `tracking` signal) and a refusal at send time mean for
our messages: results on the campaign recipient, and bounced or complaining addresses on the do-not-contact list.

Connected in MarketingConfig.ready. An event is matched to its message by the provider's message id, which the
outbox stored as `provider_id` when the service took the message (customers.messaging `_deliver`). Events for
messages we do not know (another system on the same account, a test send) are ignored; the log names neither
the id nor the address.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from anymail.signals import EventType, RejectReason, tracking
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from customers.messaging import recipient_refused
from customers.models import OutboundMessage, SuppressionEntry
from marketing import consent, engagement
from marketing.models import CampaignRecipient

logger = logging.getLogger(__name__)

# How services mark a bounce that is temporary (the service tries again and reports the outcome later), in the
# raw event anymail keeps: Postmark "Type", SendGrid "type", Brevo and Mandrill "event", MailerSend "type",
# Amazon SES "bounce.bounceType". Only a hard bounce puts the address on the do-not-contact list.
_SOFT_BOUNCE_MARKS = {"softbounce", "soft_bounce", "soft_bounced", "transient", "dnserror", "blocked"}


def is_soft_bounce(esp_event) -> bool:
    """Pure."""
    if not isinstance(esp_event, dict):
        return False
    marks = [esp_event.get(key) for key in ("Type", "type", "event")]
    if isinstance(esp_event.get("bounce"), dict):
        marks.append(esp_event["bounce"].get("bounceType"))
    return any(isinstance(mark, str) and mark.lower() in _SOFT_BOUNCE_MARKS for mark in marks)


@dataclass(frozen=True)
class Outcome:
    stamp: str = ""  # a CampaignRecipient result field
    listed: str = ""  # a SuppressionEntry reason for the address
    unsubscribe: bool = False  # refuse marketing for the address, as the unsubscribe link does


NOTHING = Outcome()


def outcome(*, event_type: str, reject_reason: str | None, soft_bounce: bool = False) -> Outcome:
    """What one normalised event means. Pure."""
    if event_type == EventType.DELIVERED:
        return Outcome(stamp="delivered_at")
    if event_type == EventType.OPENED:
        return Outcome(stamp="opened_at")
    if event_type == EventType.CLICKED:
        return Outcome(stamp="clicked_at")
    if event_type == EventType.COMPLAINED:
        return Outcome(stamp="complained_at", listed=SuppressionEntry.Reason.COMPLAINED)
    if event_type == EventType.UNSUBSCRIBED:
        return Outcome(stamp="unsubscribed_at", unsubscribe=True)
    if event_type == EventType.BOUNCED:
        if soft_bounce:
            return NOTHING
        return Outcome(stamp="bounced_at", listed=SuppressionEntry.Reason.BOUNCED)
    if event_type == EventType.REJECTED:
        # The service refused to send: because of the address's own history, it is ours to honour too;
        # a policy block says nothing about the address.
        if reject_reason in (RejectReason.INVALID, RejectReason.BOUNCED, RejectReason.TIMED_OUT):
            return Outcome(stamp="bounced_at", listed=SuppressionEntry.Reason.BOUNCED)
        if reject_reason == RejectReason.SPAM:
            return Outcome(stamp="complained_at", listed=SuppressionEntry.Reason.COMPLAINED)
        if reject_reason == RejectReason.UNSUBSCRIBED:
            return Outcome(stamp="unsubscribed_at", unsubscribe=True)
    return NOTHING


@receiver(tracking, dispatch_uid="marketing.provider_event")
def provider_event(sender, event, esp_name: str = "", **kwargs) -> None:
    result = outcome(event_type=event.event_type, reject_reason=event.reject_reason,
                     soft_bounce=is_soft_bounce(event.esp_event))
    if result == NOTHING:
        return
    message = None
    if isinstance(event.message_id, str) and event.message_id:
        message = (OutboundMessage.unscoped.select_related("customer").filter(provider_id=event.message_id)
                   .order_by("-id").first())
    if message is None:
        logger.info("%s %s event for a message we did not send; ignored", esp_name, event.event_type)
        return
    at = event.timestamp or timezone.now()
    with transaction.atomic():
        group_id = message.customer.dealer_group_id
        if result.listed:
            consent.address_listed(dealer_group_id=group_id, channel=message.channel, address=message.to_address,
                                   reason=result.listed)
        if result.unsubscribe:
            consent.address_unsubscribe(dealer_group_id=group_id, channel=message.channel,
                                        address=message.to_address, now=at,
                                        source=f"unsubscribed at the email service ({esp_name})"[:100], text_shown="")
        recipient_id = CampaignRecipient.objects.filter(message_id=message.pk).values_list("id", flat=True).first()
        if recipient_id is not None and result.stamp:
            engagement.recipient_stamp(recipient_id=recipient_id, field=result.stamp, at=at)


@receiver(recipient_refused, dispatch_uid="marketing.recipient_refused")
def refused_at_send(sender, message: OutboundMessage, at, **kwargs) -> None:
    """The mail server refused the address while we sent: the campaign's results count it as bounced."""
    recipient_id = CampaignRecipient.objects.filter(message_id=message.pk).values_list("id", flat=True).first()
    if recipient_id is not None:
        engagement.recipient_stamp(recipient_id=recipient_id, field="bounced_at", at=at)
